import { existsSync } from 'node:fs';
import {
  link,
  lstat,
  mkdir,
  open,
  readFile,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  type FileHandle,
} from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import {
  ID_PATTERN,
  InputError,
  StorageError,
  validateId,
  type ArtifactRef,
  type Manifest,
} from '../contracts/index.js';
import {
  TEMP_PREFIX,
  fsyncDir,
  openAtomicWriter,
  openTempFile,
  removeStaleTemps,
  sha256File,
  writeFileAtomic,
} from './atomic.js';
import { withLock } from './lock.js';
import { readManifest, updateManifest, verifyArtifacts, type ManifestPatch } from './manifest-store.js';
import { assertNoSymlinks, assertRunDir, buildRunDir, checkRelativePath, resolveInside } from './paths.js';

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

/** A file a tool writes itself (ffmpeg through a descriptor or by path) that becomes an artifact on `commit`. */
export interface StagedFile {
  /** Local path of the file while it is being written (a temp name; never read as a result). */
  readonly path: string;
  /** Open handle (write access) on `path`, e.g. to pass its descriptor to a child process. */
  readonly handle: FileHandle;
  /**
   * Makes the file the artifact at its relative path, atomically (R-ST-3). `known` passes a
   * sha256/size the caller already computed while the file was written, so it is not hashed twice.
   */
  commit(known?: { sha256: string; bytes: number }): Promise<StoredArtifact>;
  /** Closes and removes the file. */
  abort(): Promise<void>;
}

/** A durable append-only log (the run's `state_events.jsonl`). */
export interface AppendLog {
  /** Appends one line (a trailing newline is added) and makes it durable before resolving. */
  append(line: string): Promise<void>;
  close(): Promise<void>;
}

/** Where a stage key is claimed while one run computes it (R-ORC-5): one computation per key at a time. */
export interface ClaimPort {
  /**
   * Runs `fn` while holding the claim of `key` for one video. Waits up to `timeoutMs` for another
   * holder; then STORAGE_IO (retryable). A dead holder's claim is broken at once.
   */
  withClaim<T>(
    scope: { platformId: string; videoId: string },
    key: string,
    fn: () => Promise<T>,
    options: { timeoutMs: number },
  ): Promise<T>;
}

/** A stored file with what retention needs to judge it. */
export interface StoredFile {
  /** Relative to the directory listed, '/'-separated. */
  path: string;
  bytes: number;
  /** Last modification (local mtime, S3 LastModified), ms since the epoch. */
  modifiedMs: number;
}

/**
 * What retention (GC) and deletion need beyond a run's own reads and writes (R-PRV-3): the same
 * operations on every store, so `gc` and `delete` are written once. Store-level records live under
 * `_admin/` and video-level ones (claims, run leases) under `<platform_id>/<video_id>/_*`: neither
 * can collide with a run, whose ids never start with `_`.
 */
export interface StoreMaintenance {
  /** Where the store lives, for messages: a directory or an `s3://bucket/prefix/` URI. */
  readonly location: string;
  /** The location of one run (the manifest's `root_path`). */
  describeRun(runDir: string): string;
  /** Every (platform_id, video_id) that has something stored, sorted. */
  listVideos(): Promise<{ platformId: string; videoId: string }[]>;
  /** Every file under `<platform_id>/<video_id>/` (runs, claims, leases), relative to it. */
  listVideoFiles(platformId: string, videoId: string): Promise<StoredFile[]>;
  /** Every file of a run with size and modification time (symlinks listed as themselves, 0 bytes). */
  listRunFiles(runDir: string): Promise<StoredFile[]>;
  /**
   * Removes run-relative files; a symlink on the way is removed as a link and never followed
   * (R-SEC-3). Files already gone are skipped.
   */
  removeFiles(runDir: string, paths: readonly string[]): Promise<void>;
  /** Removes everything under `<platform_id>/<video_id>/`; what was there (files, bytes). */
  removeVideo(platformId: string, videoId: string): Promise<{ files: number; bytes: number }>;
  /** A small video-level record `<platform_id>/<video_id>/<path>` (first segment starts with `_`). */
  readVideoFile(platformId: string, videoId: string, path: string): Promise<Uint8Array | null>;
  writeVideoFile(platformId: string, videoId: string, path: string, bytes: Uint8Array): Promise<void>;
  removeVideoFile(platformId: string, videoId: string, path: string): Promise<void>;
  /** A store-level record `_admin/<path>` (tombstones, the deletion log). */
  readAdminFile(path: string): Promise<Uint8Array | null>;
  /** Writes `_admin/<path>` atomically; `createOnly` refuses to replace one (STORAGE_IO). */
  writeAdminFile(path: string, bytes: Uint8Array, options?: { createOnly?: boolean }): Promise<void>;
  /** Files under `_admin/<dir>/`, relative to it. */
  listAdminFiles(dir: string): Promise<StoredFile[]>;
  removeAdminFile(path: string): Promise<void>;
}

/** Prefix of scratch directories in a run (R-ST-1): `_tmp_<area>/`, never read as results. */
export const SCRATCH_PREFIX = '_tmp_';
/** Where runs of one video claim the keys they are computing (R-ORC-5); not a run (ids cannot start with `_`). */
export const CLAIMS_DIR = '_claims';

/**
 * R-ST-4: the result store behind one port — the local filesystem now, S3-compatible object
 * storage later. Run directories are addressed by the string `runDir` returns; every method checks
 * ids and paths before touching storage (R-ID-4, R-SEC-3) and fails with INPUT_INVALID or
 * STORAGE_IO.
 */
export interface ResultStore extends StoreMaintenance {
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

  /** Whether the run exists (has been created). */
  hasRun(runDir: string): Promise<boolean>;
  /** Creates an empty run (its parents as needed). */
  createRun(runDir: string): Promise<void>;
  /** A file's bytes; null when it does not exist. */
  readFile(runDir: string, relativePath: string): Promise<Uint8Array | null>;
  /**
   * A local path holding the file's bytes, for readers that need one (ffmpeg, random-access frame
   * reads): the file itself on a local store, a verified local copy on a remote one. STORAGE_IO
   * when it does not exist.
   */
  localFile(runDir: string, relativePath: string): Promise<string>;
  /** Every file of a run (relative, '/'-separated, sorted) with its size; scratch and temps included. */
  listFiles(runDir: string): Promise<{ path: string; bytes: number }[]>;
  /** A file a tool writes itself that becomes the artifact `relativePath` on commit. */
  openStagedFile(runDir: string, relativePath: string): Promise<StagedFile>;
  /** The run's append-only event log at `relativePath`; a torn final line (a crash mid-append) is cut first. */
  openAppendLog(runDir: string, relativePath: string): Promise<AppendLog>;
  /** A local working directory `_tmp_<area>/` of the run for a tool's own files (never results). */
  scratchDir(runDir: string, area: string): Promise<string>;
  /** Removes the run's scratch directory `_tmp_<area>/`, or every `_tmp_*` one when no area is named. */
  removeScratch(runDir: string, area?: string): Promise<void>;
  /** Removes what interrupted writes left behind in a run (R-ST-3 GC); only when no writer is active. */
  removeStaleTemps(runDir: string): Promise<void>;
  /** The run's manifest, validated; null when there is none yet. */
  readManifest(runDir: string): Promise<Manifest | null>;
  /** R-MAN-3 locked read-merge-validate-write of the manifest; `base` starts it. */
  updateManifest(runDir: string, patch: ManifestPatch, base?: Manifest): Promise<Manifest>;
  /**
   * Checks listed artifacts exist with their size and sha256 (size only where `sizeOnly` says);
   * one line per problem, [] when all match.
   */
  verifyArtifacts(
    runDir: string,
    artifacts: readonly ArtifactRef[],
    sizeOnly?: (artifact: ArtifactRef) => boolean,
  ): Promise<string[]>;
  /** Claims of stage keys (R-ORC-5) for runs that share this store. */
  readonly claims: ClaimPort;
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

  async hasRun(runDir: string): Promise<boolean> {
    const full = assertRunDir(this.root, runDir);
    await assertNoSymlinks(this.root, full);
    return existsSync(full);
  }

  async createRun(runDir: string): Promise<void> {
    const full = assertRunDir(this.root, runDir);
    await assertNoSymlinks(this.root, full);
    await this.ensureDir(full);
  }

  async readFile(runDir: string, relativePath: string): Promise<Uint8Array | null> {
    const full = await this.resolveInside(runDir, relativePath);
    try {
      return await readFile(full);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new StorageError(`cannot read ${full}: ${(error as Error).message}`, { cause: error });
    }
  }

  async localFile(runDir: string, relativePath: string): Promise<string> {
    const full = await this.resolveInside(runDir, relativePath);
    try {
      if (!(await lstat(full)).isFile()) throw new Error('not a regular file');
    } catch (error) {
      throw new StorageError(`${relativePath} is not in the run ${runDir}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return full;
  }

  async listFiles(runDir: string): Promise<{ path: string; bytes: number }[]> {
    const base = assertRunDir(this.root, runDir);
    await assertNoSymlinks(this.root, base);
    return (await walkFiles(base)).map(({ path, bytes }) => ({ path, bytes }));
  }

  async openStagedFile(runDir: string, relativePath: string): Promise<StagedFile> {
    const full = await this.resolveInside(runDir, relativePath);
    await this.ensureDir(dirname(full));
    const { tempPath, handle } = await openTempFile(full);
    const path = relative(resolve(runDir), full).split(sep).join('/');
    let closed = false;
    const close = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      await handle.close().catch(() => undefined);
    };
    return {
      path: tempPath,
      handle,
      commit: async (known) => {
        try {
          // Another process may have written by path (a new inode): sync what is at the path now.
          const synced = await open(tempPath, 'r+');
          try {
            await synced.sync();
          } finally {
            await synced.close();
          }
          await close();
          const bytes = known?.bytes ?? (await stat(tempPath)).size;
          const sha256 = known?.sha256 ?? (await sha256File(tempPath));
          await rename(tempPath, full);
          await fsyncDir(dirname(full));
          return { path, sha256, bytes };
        } catch (error) {
          throw new StorageError(`cannot commit ${full}: ${(error as Error).message}`, { cause: error });
        }
      },
      abort: async () => {
        await close();
        await rm(tempPath, { force: true });
      },
    };
  }

  async openAppendLog(runDir: string, relativePath: string): Promise<AppendLog> {
    const full = await this.resolveInside(runDir, relativePath);
    await this.ensureDir(dirname(full));
    await truncateTornTail(full);
    let handle: FileHandle | null = null;
    return {
      append: async (line) => {
        try {
          handle ??= await open(full, 'a');
          await handle.write(`${line}\n`);
          await handle.datasync();
        } catch (error) {
          throw new StorageError(`cannot append to ${relativePath}: ${(error as Error).message}`, {
            cause: error,
          });
        }
      },
      close: async () => {
        await handle?.close();
        handle = null;
      },
    };
  }

  async scratchDir(runDir: string, area: string): Promise<string> {
    validateId('scratch area', area);
    const full = await this.resolveInside(runDir, `${SCRATCH_PREFIX}${area}`);
    await this.ensureDir(full);
    return full;
  }

  async removeScratch(runDir: string, area?: string): Promise<void> {
    const full = assertRunDir(this.root, runDir);
    await assertNoSymlinks(this.root, full);
    if (area !== undefined) {
      validateId('scratch area', area);
      await rm(join(full, `${SCRATCH_PREFIX}${area}`), { recursive: true, force: true });
      return;
    }
    let entries;
    try {
      entries = await readdir(full, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new StorageError(`cannot list ${full}: ${(error as Error).message}`, { cause: error });
    }
    for (const entry of entries) {
      if (entry.name.startsWith(SCRATCH_PREFIX))
        await rm(join(full, entry.name), { recursive: true, force: true });
    }
  }

  async removeStaleTemps(runDir: string): Promise<void> {
    const full = assertRunDir(this.root, runDir);
    await assertNoSymlinks(this.root, full);
    await removeStaleTemps(full);
  }

  readManifest(runDir: string): Promise<Manifest | null> {
    return readManifest(assertRunDir(this.root, runDir));
  }

  updateManifest(runDir: string, patch: ManifestPatch, base?: Manifest): Promise<Manifest> {
    return updateManifest(assertRunDir(this.root, runDir), patch, base);
  }

  verifyArtifacts(
    runDir: string,
    artifacts: readonly ArtifactRef[],
    sizeOnly: (artifact: ArtifactRef) => boolean = () => false,
  ): Promise<string[]> {
    return verifyArtifacts(assertRunDir(this.root, runDir), artifacts, sizeOnly);
  }

  readonly claims: ClaimPort = {
    withClaim: async (scope, key, fn, options) => {
      validateId('claim key', key);
      const dir = join(buildVideoDir(this.root, scope.platformId, scope.videoId), CLAIMS_DIR);
      await this.ensureDir(dir);
      return withLock(join(dir, key), fn, { timeoutMs: options.timeoutMs });
    },
  };

  get location(): string {
    return this.root;
  }

  describeRun(runDir: string): string {
    return assertRunDir(this.root, runDir);
  }

  async listVideos(): Promise<{ platformId: string; videoId: string }[]> {
    const out: { platformId: string; videoId: string }[] = [];
    for (const platformId of await listIdDirs(this.root))
      for (const videoId of await listIdDirs(join(this.root, platformId))) out.push({ platformId, videoId });
    return out;
  }

  async listVideoFiles(platformId: string, videoId: string): Promise<StoredFile[]> {
    const dir = buildVideoDir(this.root, platformId, videoId);
    await assertNoSymlinks(this.root, dir);
    return walkFiles(dir);
  }

  async listRunFiles(runDir: string): Promise<StoredFile[]> {
    const full = assertRunDir(this.root, runDir);
    await assertNoSymlinks(this.root, full);
    return walkFiles(full);
  }

  async removeFiles(runDir: string, paths: readonly string[]): Promise<void> {
    const base = assertRunDir(this.root, runDir);
    await assertNoSymlinks(this.root, base);
    for (const path of paths) await removeWithoutFollowing(base, checkRelativePath(path));
  }

  async removeVideo(platformId: string, videoId: string): Promise<{ files: number; bytes: number }> {
    const dir = buildVideoDir(this.root, platformId, videoId);
    await assertNoSymlinks(this.root, dir);
    const files = await walkFiles(dir);
    try {
      // rm never follows a symlink inside the tree: it removes the link itself (R-SEC-3).
      await rm(dir, { recursive: true, force: true });
      await fsyncDir(dirname(dir)).catch(() => undefined);
    } catch (error) {
      throw new StorageError(`cannot remove ${dir}: ${(error as Error).message}`, { cause: error });
    }
    return { files: files.length, bytes: files.reduce((a, f) => a + f.bytes, 0) };
  }

  async readVideoFile(platformId: string, videoId: string, path: string): Promise<Uint8Array | null> {
    return readOrNull(await this.videoFilePath(platformId, videoId, path));
  }

  async writeVideoFile(platformId: string, videoId: string, path: string, bytes: Uint8Array): Promise<void> {
    const full = await this.videoFilePath(platformId, videoId, path);
    await this.ensureDir(dirname(full));
    try {
      await writeFileAtomic(full, bytes);
    } catch (error) {
      // Another run removed the emptied folder between our mkdir and write (removeVideoFile): once more.
      if (existsSync(dirname(full))) throw error;
      await this.ensureDir(dirname(full));
      await writeFileAtomic(full, bytes);
    }
  }

  async removeVideoFile(platformId: string, videoId: string, path: string): Promise<void> {
    const full = await this.videoFilePath(platformId, videoId, path);
    await rm(full, { force: true });
    // The record's folder (`_leases/`) goes with its last record: a run that failed before it
    // created anything leaves nothing behind.
    if (path.includes('/'))
      await rmdir(dirname(full)).catch((error: unknown) => {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT')
          throw new StorageError(`cannot remove ${dirname(full)}: ${(error as Error).message}`, {
            cause: error,
          });
      });
  }

  async readAdminFile(path: string): Promise<Uint8Array | null> {
    return readOrNull(await this.adminPath(path));
  }

  async writeAdminFile(
    path: string,
    bytes: Uint8Array,
    options: { createOnly?: boolean } = {},
  ): Promise<void> {
    const full = await this.adminPath(path);
    await this.ensureDir(dirname(full));
    if (options.createOnly) {
      // O_EXCL: an append-only record is never replaced.
      const writer = await openTempFile(full);
      try {
        await writer.handle.write(bytes);
        await writer.handle.close();
        await link(writer.tempPath, full);
        await fsyncDir(dirname(full));
      } catch (error) {
        throw new StorageError(`cannot create ${full}: ${(error as Error).message}`, { cause: error });
      } finally {
        await rm(writer.tempPath, { force: true });
      }
      return;
    }
    await writeFileAtomic(full, bytes);
  }

  async listAdminFiles(dir: string): Promise<StoredFile[]> {
    const full = await this.adminPath(dir);
    return walkFiles(full);
  }

  async removeAdminFile(path: string): Promise<void> {
    await rm(await this.adminPath(path), { force: true });
  }

  private async videoFilePath(platformId: string, videoId: string, path: string): Promise<string> {
    const segments = checkRelativePath(path);
    if (!segments[0]?.startsWith('_'))
      throw new InputError('INPUT_INVALID', `video-level record ${path} must be under a _-prefixed folder`);
    const full = join(buildVideoDir(this.root, platformId, videoId), ...segments);
    await assertNoSymlinks(this.root, full);
    return full;
  }

  private async adminPath(path: string): Promise<string> {
    const full = join(this.root, ADMIN_DIR, ...checkRelativePath(path));
    await assertNoSymlinks(this.root, full);
    return full;
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

/** Store-level records (tombstones, the deletion log); not an id, so never a platform. */
export const ADMIN_DIR = '_admin';

async function listIdDirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory() && ID_PATTERN.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new StorageError(`cannot list ${dir}: ${(error as Error).message}`, { cause: error });
  }
}

async function readOrNull(full: string): Promise<Uint8Array | null> {
  try {
    return await readFile(full);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StorageError(`cannot read ${full}: ${(error as Error).message}`, { cause: error });
  }
}

/** Every file under `base` (lstat: symlinks are listed as themselves with 0 bytes, never entered). */
async function walkFiles(base: string): Promise<StoredFile[]> {
  const out: StoredFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new StorageError(`cannot list ${dir}: ${(error as Error).message}`, { cause: error });
    }
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(full);
        continue;
      }
      const info = await lstat(full).catch(() => null);
      if (!info) continue;
      out.push({
        path: relative(base, full).split(sep).join('/'),
        bytes: info.isFile() ? info.size : 0,
        modifiedMs: info.mtimeMs,
      });
    }
  };
  await walk(base);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Removes `segments` under `base` without following a symlink: the first segment that is a
 * symlink is removed as a link (what it points to is never touched); a directory is removed
 * recursively (rm removes links inside it as links).
 */
async function removeWithoutFollowing(base: string, segments: readonly string[]): Promise<void> {
  let current = base;
  for (const [i, segment] of segments.entries()) {
    current = join(current, segment);
    let info;
    try {
      info = await lstat(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new StorageError(`cannot inspect ${current}: ${(error as Error).message}`, { cause: error });
    }
    if (info.isSymbolicLink() || i === segments.length - 1) {
      try {
        await rm(current, { recursive: true, force: true });
      } catch (error) {
        throw new StorageError(`cannot remove ${current}: ${(error as Error).message}`, { cause: error });
      }
      return;
    }
  }
}

export function buildVideoDir(root: string, platformId: string, videoId: string): string {
  validateId('platform_id', platformId);
  validateId('video_id', videoId);
  return join(root, platformId, videoId);
}

/** Cuts a torn final line (the process died mid-append) so that new lines never follow half of one. */
async function truncateTornTail(path: string): Promise<void> {
  let text: Buffer;
  try {
    text = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new StorageError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (text.length === 0 || text[text.length - 1] === 0x0a) return;
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(text.lastIndexOf(0x0a) + 1);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
