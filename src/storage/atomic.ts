import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StorageError } from '../contracts/index.js';

/** Prefix of every temp file and staging directory the store creates; GC removes leftovers (R-ST-3). */
export const TEMP_PREFIX = '.tmp-';

/** Keeps `.tmp-<name>-<random>` within the usual 255-byte file-name limit. */
const MAX_NAME_IN_TEMP = 200;

function tempPathFor(path: string): string {
  const name = basename(path).slice(0, MAX_NAME_IN_TEMP);
  return join(dirname(path), `${TEMP_PREFIX}${name}-${randomBytes(6).toString('hex')}`);
}

function ioError(what: string, error: unknown): StorageError {
  return new StorageError(`${what}: ${(error as Error).message}`, { cause: error });
}

/** fsync a directory so that a rename or a new entry in it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Digest and size of a file the store wrote. */
export interface WrittenFile {
  /** Lowercase hex sha256 of the content. */
  sha256: string;
  bytes: number;
}

/**
 * A file being written under a temp name. Nothing is visible at the target until `commit`, so a
 * reader sees the old file or the new one, never a partial one (R-ST-3), even after kill -9.
 */
export interface AtomicWriter {
  /** Appends a chunk (strings as UTF-8). Calls are applied in call order even if not awaited. */
  write(chunk: Uint8Array | string): Promise<void>;
  /** Appends several chunks with vectored writes (no copy). */
  writev(chunks: readonly Uint8Array[]): Promise<void>;
  /** fsync, rename over the target, fsync the directory; returns the digest of what was written. */
  commit(): Promise<WrittenFile>;
  /** Closes and removes the temp file; the target is untouched. Safe to call more than once. */
  abort(): Promise<void>;
}

/**
 * Opens a streaming atomic writer for `path`: a temp file `.tmp-<basename>-<random>` in the same
 * directory (a rename is atomic only within one filesystem), hashed as it is written so frame
 * batches of hundreds of MB never need to be held in memory or read back. Errors are STORAGE_IO.
 */
export async function openAtomicWriter(path: string): Promise<AtomicWriter> {
  const temp = tempPathFor(path);
  let handle: FileHandle | null;
  try {
    handle = await open(temp, 'wx', 0o644);
  } catch (error) {
    throw ioError(`cannot create a temp file beside ${path}`, error);
  }
  const hash = createHash('sha256');
  let bytes = 0;
  let state: 'open' | 'committed' | 'aborted' = 'open';
  // Writes without a position use the file offset, so they must not overlap: chain them.
  let queue: Promise<void> = Promise.resolve();

  const writeAll = async (chunks: readonly Uint8Array[]): Promise<void> => {
    if (state !== 'open' || !handle) throw new StorageError(`write to ${path} after commit or abort`);
    let pending = chunks.filter((c) => c.length > 0);
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
      throw ioError(`cannot write ${path}`, error);
    }
    for (const chunk of chunks) {
      hash.update(chunk);
      bytes += chunk.length;
    }
  };
  let failure: unknown = null;
  const enqueue = (chunks: readonly Uint8Array[]): Promise<void> => {
    const next = queue.then(() => writeAll(chunks));
    // The caller sees its own failure; commit sees the first one and refuses to publish.
    queue = next.catch((error: unknown) => {
      failure ??= error;
    });
    return next;
  };

  const abort = async (): Promise<void> => {
    if (state === 'committed') return;
    state = 'aborted';
    await queue;
    if (handle) {
      await handle.close().catch(() => undefined);
      handle = null;
    }
    await rm(temp, { force: true });
  };

  const commit = async (): Promise<WrittenFile> => {
    await queue;
    if (state !== 'open' || !handle) throw new StorageError(`commit of ${path} after commit or abort`);
    if (failure !== null) {
      await abort();
      throw new StorageError(`cannot commit ${path}: an earlier write failed`, { cause: failure });
    }
    try {
      await handle.sync();
      await handle.close();
      handle = null;
      await rename(temp, path);
      state = 'committed';
      await fsyncDir(dirname(path));
    } catch (error) {
      if (state !== 'committed') await abort();
      throw ioError(`cannot commit ${path}`, error);
    }
    return { sha256: hash.digest('hex'), bytes };
  };

  return {
    write: (chunk) => enqueue([typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk]),
    writev: (chunks) => enqueue(chunks),
    commit,
    abort,
  };
}

/**
 * Writes a whole file atomically (R-ST-3): temp file in the same directory → write → fsync →
 * rename over the target → fsync the directory. Returns the content's sha256 and size.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<WrittenFile> {
  const writer = await openAtomicWriter(path);
  try {
    await writer.write(data);
    return await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/**
 * Creates the temp file for `path` (same directory, GC-able name) for a writer that is not us,
 * e.g. ffmpeg writing into an inherited descriptor; {@link commitFile} moves it into place.
 */
export async function openTempFile(path: string): Promise<{ tempPath: string; handle: FileHandle }> {
  const tempPath = tempPathFor(path);
  try {
    return { tempPath, handle: await open(tempPath, 'wx', 0o644) };
  } catch (error) {
    throw ioError(`cannot create ${tempPath}`, error);
  }
}

/** Moves a finished temp file (written by another process, e.g. ffmpeg) into place durably. */
export async function commitFile(tempPath: string, path: string): Promise<void> {
  try {
    const handle = await open(tempPath, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tempPath, path);
    await fsyncDir(dirname(path));
  } catch (error) {
    throw ioError(`cannot commit ${path}`, error);
  }
}

/**
 * sha256 (lowercase hex) of a file, streamed so that memory stays at one chunk whatever the size
 * (frame batches are sealed several at a time while decoding continues).
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Options of {@link removeStaleTemps}. */
export interface RemoveStaleTempsOptions {
  /**
   * Only remove temps not modified for this long. 0 removes every temp, which is right only when
   * no writer is active under `dir` (a run that is starting, resuming or finished); a positive
   * age lets GC run beside live writers without pulling a temp from under one.
   * @defaultValue 0
   */
  minAgeMs?: number;
}

/**
 * GC of interrupted writes (R-ST-3): removes `.tmp-*` files and staging directories anywhere
 * under `dir` (symlinks are removed, never followed). Returns the removed paths.
 */
export async function removeStaleTemps(
  dir: string,
  options: RemoveStaleTempsOptions = {},
): Promise<string[]> {
  const minAgeMs = options.minAgeMs ?? 0;
  const removed: string[] = [];
  const walk = async (current: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // removed meanwhile
      throw ioError(`cannot list ${current}`, error);
    }
    for (const entry of entries) {
      const full = join(current, entry.name);
      if (entry.name.startsWith(TEMP_PREFIX)) {
        try {
          if (minAgeMs > 0 && Date.now() - (await lstat(full)).mtimeMs < minAgeMs) continue;
          await rm(full, { recursive: true, force: true });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw ioError(`cannot remove ${full}`, error);
        }
        removed.push(full);
      } else if (entry.isDirectory()) {
        await walk(full);
      }
    }
  };
  await walk(dir);
  return removed;
}
