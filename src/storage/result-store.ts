import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InputError, StorageError, validateId } from '../contracts/index.js';
import { writeFileAtomic } from './atomic.js';

export interface StoredArtifact {
  /** Path relative to the run directory. */
  path: string;
  sha256: string;
  bytes: number;
}

/** R-ST-4: the result store behind one interface (local filesystem now; S3-compatible later). */
export interface ResultStore {
  readonly root: string;
  runDir(platformId: string, videoId: string, runId: string): string;
  writeArtifact(runDir: string, relativePath: string, bytes: Uint8Array): Promise<StoredArtifact>;
  listRuns(platformId: string, videoId: string): Promise<string[]>;
  removeRun(runDir: string): Promise<void>;
}

/** `result_store/<platform_id>/<video_id>/<run_id>/…` on the local filesystem (R-ST-1). */
export class LocalResultStore implements ResultStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Ids are validated before the path is built (R-ID-4): INPUT_INVALID, nothing touched. */
  runDir(platformId: string, videoId: string, runId: string): string {
    validateId('platform_id', platformId);
    validateId('video_id', videoId);
    validateId('run_id', runId);
    return join(this.root, platformId, videoId, runId);
  }

  /**
   * Resolves `relativePath` inside `runDir`, refusing anything that escapes the store or passes
   * through a symlink (R-SEC-3). Returns the absolute path.
   */
  async resolveInside(runDir: string, relativePath: string): Promise<string> {
    if (isAbsolute(relativePath) || relativePath.split(/[\\/]/).includes('..') || relativePath === '') {
      throw new InputError(
        'INPUT_INVALID',
        `artifact path "${relativePath}" must be relative and stay inside the run directory`,
      );
    }
    const full = resolve(runDir, relativePath);
    this.assertInsideRoot(full);
    await this.assertNoSymlinks(full);
    return full;
  }

  private assertInsideRoot(path: string): void {
    const rel = relative(this.root, resolve(path));
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      throw new InputError('INPUT_INVALID', `${path} is outside the result store ${this.root}`);
    }
  }

  /** lstat every existing segment from the root down; a symlink anywhere is refused. */
  private async assertNoSymlinks(path: string): Promise<void> {
    const parts = relative(this.root, path).split(sep);
    let current = this.root;
    for (const part of parts) {
      current = join(current, part);
      try {
        if ((await lstat(current)).isSymbolicLink()) {
          throw new InputError(
            'INPUT_INVALID',
            `${current} is a symlink; the result store does not follow symlinks`,
          );
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
    }
  }

  async writeArtifact(runDir: string, relativePath: string, bytes: Uint8Array): Promise<StoredArtifact> {
    const full = await this.resolveInside(runDir, relativePath);
    try {
      await mkdir(dirname(full), { recursive: true });
    } catch (error) {
      throw new StorageError(`cannot create ${dirname(full)}: ${(error as Error).message}`, { cause: error });
    }
    const written = await writeFileAtomic(full, bytes);
    return { path: relative(runDir, full).split(sep).join('/'), ...written };
  }

  async listRuns(platformId: string, videoId: string): Promise<string[]> {
    validateId('platform_id', platformId);
    validateId('video_id', videoId);
    try {
      return (await readdir(join(this.root, platformId, videoId), { withFileTypes: true }))
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new StorageError(`cannot list runs: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Removes a run directory (e.g. one whose input proved unreadable), never outside the store. */
  async removeRun(runDir: string): Promise<void> {
    const full = resolve(runDir);
    this.assertInsideRoot(full);
    if (relative(this.root, full).split(sep).length !== 3) {
      throw new InputError(
        'INPUT_INVALID',
        `${runDir} is not a run directory (<platform_id>/<video_id>/<run_id>)`,
      );
    }
    await this.assertNoSymlinks(full);
    await rm(full, { recursive: true, force: true });
  }
}
