import { link, lstat, mkdir, readdir, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { ID_PATTERN, StorageError, validateId } from '../contracts/index.js';
import { TEMP_PREFIX, fsyncDir, openAtomicWriter, sha256File } from './atomic.js';
import { assertNoSymlinks, assertRunDir, buildRunDir, resolveInside } from './paths.js';

/** An artifact as the store wrote it: what a manifest entry lists (R-MAN-2). */
export interface StoredArtifact {
  /** Path relative to the run directory, '/'-separated. */
  path: string;
  /** Lowercase hex sha256 of the content. */
  sha256: string;
  bytes: number;
}

/** A streamed artifact write; nothing is visible until `commit` (R-ST-3). */
export interface ArtifactWriter {
  write(chunk: Uint8Array): Promise<void>;
  writev(chunks: readonly Uint8Array[]): Promise<void>;
  commit(): Promise<StoredArtifact>;
  abort(): Promise<void>;
}

/**
 * R-ST-4: the result store behind one port — the local filesystem now, S3-compatible object
 * storage later. Run directories are addressed by the string `runDir` returns; every method checks
 * ids and paths before touching storage (R-ID-4, R-SEC-3) and fails with INPUT_INVALID or
 * STORAGE_IO.
 */
export interface ResultStore {
  readonly root: string;
  /** `<root>/<platform_id>/<video_id>/<run_id>`; INPUT_INVALID for a bad id, nothing touched. */
  runDir(platformId: string, videoId: string, runId: string): string;
  /** Absolute location of `relativePath` in `runDir`; refuses escapes and symlinks. */
  resolveInside(runDir: string, relativePath: string): Promise<string>;
  /** Writes a whole artifact atomically (parent folders created as needed). */
  writeArtifact(runDir: string, relativePath: string, bytes: Uint8Array): Promise<StoredArtifact>;
  /** Streams a large artifact (e.g. a frame batch) atomically, hashing as it goes. */
  openArtifactWriter(runDir: string, relativePath: string): Promise<ArtifactWriter>;
  /**
   * Reuses an artifact of another run of the store (a cache hit, R-ORC-3): checks that the source
   * still has the expected size and sha256 (size only with `checkSha256: false`, for a caller that
   * checks the sha256 before anything reads the file), then places it at `relativePath` in `runDir` without
   * copying its bytes (a hard link; artifacts are never modified after commit), atomically.
   * STORAGE_IO when the source is missing or no longer matches.
   */
  adoptArtifact(
    runDir: string,
    relativePath: string,
    sourceRunDir: string,
    expected: { sha256: string; bytes: number },
    options?: { checkSha256?: boolean },
  ): Promise<StoredArtifact>;
  /** Run ids stored for one video, sorted; [] when there are none. */
  listRuns(platformId: string, videoId: string): Promise<string[]>;
  /** Removes a whole run (a failed or invalid one), so nothing half-made is left. */
  removeRun(runDir: string): Promise<void>;
}

/** `result_store/<platform_id>/<video_id>/<run_id>/…` on the local filesystem (R-ST-1). */
export class LocalResultStore implements ResultStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  runDir(platformId: string, videoId: string, runId: string): string {
    return buildRunDir(this.root, platformId, videoId, runId);
  }

  resolveInside(runDir: string, relativePath: string): Promise<string> {
    return resolveInside(this.root, runDir, relativePath);
  }

  async writeArtifact(runDir: string, relativePath: string, bytes: Uint8Array): Promise<StoredArtifact> {
    const writer = await this.openArtifactWriter(runDir, relativePath);
    try {
      await writer.write(bytes);
      return await writer.commit();
    } catch (error) {
      await writer.abort();
      throw error;
    }
  }

  async openArtifactWriter(runDir: string, relativePath: string): Promise<ArtifactWriter> {
    const full = await this.resolveInside(runDir, relativePath);
    await this.ensureDir(dirname(full));
    const writer = await openAtomicWriter(full);
    const path = relative(resolve(runDir), full).split(sep).join('/');
    return {
      write: (chunk) => writer.write(chunk),
      writev: (chunks) => writer.writev(chunks),
      commit: async () => ({ path, ...(await writer.commit()) }),
      abort: () => writer.abort(),
    };
  }

  async adoptArtifact(
    runDir: string,
    relativePath: string,
    sourceRunDir: string,
    expected: { sha256: string; bytes: number },
    options: { checkSha256?: boolean } = {},
  ): Promise<StoredArtifact> {
    const source = await this.resolveInside(sourceRunDir, relativePath);
    const target = await this.resolveInside(runDir, relativePath);
    let size: number;
    try {
      const info = await lstat(source);
      if (!info.isFile()) throw new Error('not a regular file');
      size = info.size;
    } catch (error) {
      throw new StorageError(`cached artifact ${source} cannot be reused: ${(error as Error).message}`, {
        cause: error,
      });
    }
    // Size first: hashing a file that already differs would tell nothing more.
    if (
      size !== expected.bytes ||
      (options.checkSha256 !== false && (await sha256File(source)) !== expected.sha256)
    ) {
      throw new StorageError(`cached artifact ${source} no longer matches its recorded sha256`);
    }
    await this.ensureDir(dirname(target));
    const temp = join(dirname(target), `${TEMP_PREFIX}${relative(dirname(target), target)}-link`);
    try {
      await unlink(temp).catch(() => undefined);
      await link(source, temp);
      await rename(temp, target);
      await fsyncDir(dirname(target));
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw new StorageError(`cannot place the cached artifact at ${target}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return {
      path: relative(resolve(runDir), target).split(sep).join('/'),
      sha256: expected.sha256,
      bytes: size,
    };
  }

  async listRuns(platformId: string, videoId: string): Promise<string[]> {
    validateId('platform_id', platformId);
    validateId('video_id', videoId);
    const dir = join(this.root, platformId, videoId);
    await assertNoSymlinks(this.root, dir);
    try {
      return (await readdir(dir, { withFileTypes: true }))
        .filter((e) => e.isDirectory() && ID_PATTERN.test(e.name))
        .map((e) => e.name)
        .sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new StorageError(`cannot list the runs in ${dir}: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Removes a run directory and everything in it. Refuses (INPUT_INVALID) anything that is not
   * `<root>/<id>/<id>/<id>` or that passes through a symlink, so a bad argument can never delete
   * outside the store. Symlinks inside the run are removed as links, never followed.
   */
  async removeRun(runDir: string): Promise<void> {
    const full = assertRunDir(this.root, runDir);
    await assertNoSymlinks(this.root, full);
    try {
      await rm(full, { recursive: true, force: true });
      await fsyncDir(dirname(full)).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      });
    } catch (error) {
      throw new StorageError(`cannot remove the run ${full}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** mkdir -p, then fsync the parents of every directory it created so the new entries are durable. */
  private async ensureDir(dir: string): Promise<void> {
    try {
      const first = await mkdir(dir, { recursive: true });
      if (first === undefined) return;
      for (let created = dir; ; created = dirname(created)) {
        await fsyncDir(dirname(created));
        if (created === first || created === this.root) break;
      }
    } catch (error) {
      throw new StorageError(`cannot create ${dir}: ${(error as Error).message}`, { cause: error });
    }
  }
}
