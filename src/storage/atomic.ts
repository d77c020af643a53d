import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StorageError } from '../contracts/index.js';

/** Prefix of every temp file; GC removes leftovers (R-ST-3). */
export const TEMP_PREFIX = '.tmp-';

function tempPathFor(path: string): string {
  return join(dirname(path), `${TEMP_PREFIX}${basename(path)}-${randomBytes(6).toString('hex')}`);
}

/** fsync a directory so a rename in it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function wrap(error: unknown, what: string): StorageError {
  return new StorageError(`${what}: ${(error as Error).message}`, { cause: error });
}

export interface WrittenFile {
  sha256: string;
  bytes: number;
}

/**
 * Writes a file atomically (R-ST-3): temp file in the same directory → fsync → rename → fsync the
 * directory. A reader sees the old file or the new one, never a partial one, even after kill -9.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<WrittenFile> {
  const writer = await openAtomicWriter(path);
  try {
    await writer.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    return await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

export interface AtomicWriter {
  write(chunk: Uint8Array): Promise<void>;
  /** Writes several chunks with one system call (no copy). */
  writev(chunks: Uint8Array[]): Promise<void>;
  /** fsync, rename into place, fsync the directory; returns the digest of what was written. */
  commit(): Promise<WrittenFile>;
  /** Removes the temp file; the target is untouched. */
  abort(): Promise<void>;
}

/** A streaming atomic writer that hashes while it writes (for frame batches of hundreds of MB). */
export async function openAtomicWriter(path: string): Promise<AtomicWriter> {
  const temp = tempPathFor(path);
  let handle: FileHandle | null;
  try {
    handle = await open(temp, 'wx', 0o644);
  } catch (error) {
    throw wrap(error, `cannot create ${temp}`);
  }
  const hash = createHash('sha256');
  let bytes = 0;
  return {
    async write(chunk: Uint8Array): Promise<void> {
      if (!handle) throw new StorageError(`write after close on ${path}`);
      try {
        let offset = 0;
        while (offset < chunk.length) {
          const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
          offset += bytesWritten;
        }
      } catch (error) {
        throw wrap(error, `cannot write ${path}`);
      }
      hash.update(chunk);
      bytes += chunk.length;
    },
    async writev(chunks: Uint8Array[]): Promise<void> {
      if (!handle) throw new StorageError(`write after close on ${path}`);
      let pending = chunks;
      try {
        while (pending.length > 0) {
          const { bytesWritten } = await handle.writev(pending);
          // A short write: drop what was written and retry the rest.
          let left = bytesWritten;
          const rest: Uint8Array[] = [];
          for (const chunk of pending) {
            if (left >= chunk.length) left -= chunk.length;
            else {
              rest.push(left > 0 ? chunk.subarray(left) : chunk);
              left = 0;
            }
          }
          pending = rest;
        }
      } catch (error) {
        throw wrap(error, `cannot write ${path}`);
      }
      for (const chunk of chunks) {
        hash.update(chunk);
        bytes += chunk.length;
      }
    },
    async commit(): Promise<WrittenFile> {
      if (!handle) throw new StorageError(`commit after close on ${path}`);
      try {
        await handle.sync();
        await handle.close();
        handle = null;
        await rename(temp, path);
        await fsyncDir(dirname(path));
      } catch (error) {
        await rm(temp, { force: true });
        throw wrap(error, `cannot commit ${path}`);
      }
      return { sha256: hash.digest('hex'), bytes };
    },
    async abort(): Promise<void> {
      if (handle) {
        await handle.close().catch(() => undefined);
        handle = null;
      }
      await rm(temp, { force: true });
    },
  };
}

/**
 * Creates the temp file for `path` (same directory, GC-able name) for a writer that is not us,
 * e.g. ffmpeg writing into an inherited descriptor; `commitFile` moves it into place.
 */
export async function openTempFile(path: string): Promise<{ tempPath: string; handle: FileHandle }> {
  const tempPath = tempPathFor(path);
  try {
    return { tempPath, handle: await open(tempPath, 'wx', 0o644) };
  } catch (error) {
    throw wrap(error, `cannot create ${tempPath}`);
  }
}

/** Moves a finished file (written by another process, e.g. ffmpeg) into place durably. */
export async function commitFile(tempPath: string, path: string): Promise<void> {
  const handle = await open(tempPath, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tempPath, path);
  await fsyncDir(dirname(path));
}

/** sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Removes leftover temp files under `dir` (GC of interrupted writes); returns their paths. */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.name.startsWith(TEMP_PREFIX)) {
        await unlink(full);
        removed.push(full);
      }
    }
  };
  await walk(dir);
  return removed;
}
