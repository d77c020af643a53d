import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import {
  ID_PATTERN,
  InputError,
  StorageError,
  manifestSchema,
  validateId,
  type ArtifactRef,
  type Manifest,
} from '../../contracts/index.js';
import { TEMP_PREFIX } from '../atomic.js';
import { MANIFEST_FILE, type ManifestPatch } from '../manifest-store.js';
import { assertRunDir, checkRelativePath } from '../paths.js';
import {
  ADMIN_DIR,
  LocalResultStore,
  SCRATCH_PREFIX,
  type AppendLog,
  type ArtifactWriter,
  type ClaimPort,
  type ResultStore,
  type StagedFile,
  type StoredArtifact,
  type StoredFile,
} from '../result-store.js';
import { ObjectExistsError, S3Adapter } from './client.js';
import type { S3StoreOptions } from './uri.js';

/*
 * R-ST-4: the result store on S3-compatible object storage, same layout as the local store under
 * `s3://bucket/prefix/`.
 *
 * Consistency argument (R-ST-3 on a store without rename):
 * - An object is never half-written: a PUT (or a completed multipart upload) is atomic on S3.
 * - Every artifact is uploaded when its writer commits, before the orchestrator records it in the
 *   manifest, and the manifest is uploaded after that record; so the bucket's manifest only ever
 *   names objects that are already there (with `frames=end`, the manifest is held back locally
 *   until the pending frame batches are uploaded). A kill -9 at any point leaves the last
 *   uploaded manifest, which names uploaded objects only; `--resume` continues from it.
 * - Objects carry their sha256 (metadata, plus the SHA256 checksum header that a server which
 *   supports it verifies); readers that download an object hash it and compare.
 * - Artifacts are written create-only (If-None-Match: *) where the server supports it: an object
 *   that exists and that the bucket's manifest names is never replaced; one that the manifest does
 *   not name (left by a killed run) is replaced.
 *
 * Everything a tool needs as a path (ffmpeg output, frame batches read by offset, scratch
 * `_tmp_*`, locks) lives in a local mirror of the run; `runDir` strings are mirror paths, and
 * `describeRun` gives the s3:// location recorded in the manifest. The mirror is a cache, never the
 * source of truth: a run this process did not create or resume is read from the bucket.
 */

function toKeyPath(path: string): string {
  return path.split(sep).join('/');
}

export class S3ResultStore implements ResultStore {
  readonly root: string;
  readonly location: string;
  private readonly mirror: LocalResultStore;
  private readonly s3: S3Adapter;
  /** Runs this process writes: their mirror manifest is the current one. */
  private readonly ownedRuns = new Set<string>();
  /** Frame batches committed locally and not uploaded yet (`frames=end`), per run. */
  private readonly pending = new Map<string, Map<string, StoredArtifact>>();

  /**
   * @param uri the store URI as given (`location`): a plan carries it to the process that
   * executes the run, which opens the same store from it (no credentials are ever in it).
   */
  constructor(
    readonly options: S3StoreOptions,
    uri?: string,
  ) {
    this.mirror = new LocalResultStore(options.mirror);
    this.root = this.mirror.root;
    this.s3 = new S3Adapter(options);
    this.location = uri ?? `s3://${options.bucket}/${options.prefix}`;
  }

  /** Checks that the bucket is reachable (STORAGE_IO otherwise); a command calls it before any work. */
  async connect(): Promise<void> {
    await this.s3.ensureBucket();
  }

  // --- keys ---------------------------------------------------------------------------------

  private runPrefix(runDir: string): string {
    const full = assertRunDir(this.root, runDir);
    return `${this.options.prefix}${toKeyPath(relative(this.root, full))}/`;
  }

  private keyOf(runDir: string, relativePath: string): string {
    return `${this.runPrefix(runDir)}${checkRelativePath(relativePath).join('/')}`;
  }

  private videoPrefix(platformId: string, videoId: string): string {
    validateId('platform_id', platformId);
    validateId('video_id', videoId);
    return `${this.options.prefix}${platformId}/${videoId}/`;
  }

  private videoKey(platformId: string, videoId: string, path: string): string {
    const segments = checkRelativePath(path);
    if (!segments[0]?.startsWith('_'))
      throw new InputError('INPUT_INVALID', `video-level record ${path} must be under a _-prefixed folder`);
    return `${this.videoPrefix(platformId, videoId)}${segments.join('/')}`;
  }

  private adminKey(path: string): string {
    return `${this.options.prefix}${ADMIN_DIR}/${checkRelativePath(path).join('/')}`;
  }

  private isDeferred(path: string): boolean {
    return this.options.framesUpload === 'end' && /^frames_dir\/.*\.npy$/.test(path);
  }

  // --- run paths -----------------------------------------------------------------------------

  runDir(platformId: string, videoId: string, runId: string): string {
    return this.mirror.runDir(platformId, videoId, runId);
  }

  describeRun(runDir: string): string {
    return `s3://${this.options.bucket}/${this.runPrefix(runDir)}`;
  }

  resolveInside(runDir: string, relativePath: string): Promise<string> {
    return this.mirror.resolveInside(runDir, relativePath);
  }

  // --- writes: local commit, then upload, then the caller records it ------------------------

  /** Uploads a committed mirror file; create-only where supported (see the header). */
  private async upload(runDir: string, artifact: StoredArtifact): Promise<StoredArtifact> {
    if (this.isDeferred(artifact.path)) {
      let runPending = this.pending.get(runDir);
      if (!runPending) this.pending.set(runDir, (runPending = new Map<string, StoredArtifact>()));
      runPending.set(artifact.path, artifact);
      return artifact;
    }
    const key = this.keyOf(runDir, artifact.path);
    const local = await this.mirror.resolveInside(runDir, artifact.path);
    const immutable = !artifact.path.startsWith(SCRATCH_PREFIX) && !isMutableStateFile(artifact.path);
    try {
      await this.s3.putFile(key, local, artifact, immutable);
    } catch (error) {
      if (!(error instanceof ObjectExistsError)) throw error;
      const existing = await this.s3.head(key);
      if (existing?.sha256 === artifact.sha256 && existing.bytes === artifact.bytes) return artifact;
      const manifest = await this.readRemoteManifest(runDir);
      if (manifest?.components.some((c) => c.artifacts.some((a) => a.path === artifact.path)))
        throw new StorageError(
          `${this.s3.describe(key)} exists with other content and the run's manifest names it; it is never replaced`,
        );
      // Left by an interrupted attempt that never recorded it: replace it.
      await this.s3.putFile(key, local, artifact, false);
    }
    return artifact;
  }

  async writeArtifact(runDir: string, relativePath: string, bytes: Uint8Array): Promise<StoredArtifact> {
    return this.upload(runDir, await this.mirror.writeArtifact(runDir, relativePath, bytes));
  }

  async openArtifactWriter(runDir: string, relativePath: string): Promise<ArtifactWriter> {
    const writer = await this.mirror.openArtifactWriter(runDir, relativePath);
    return {
      write: (chunk) => writer.write(chunk),
      writev: (chunks) => writer.writev(chunks),
      commit: async () => this.upload(runDir, await writer.commit()),
      abort: () => writer.abort(),
    };
  }

  async openStagedFile(runDir: string, relativePath: string): Promise<StagedFile> {
    const staged = await this.mirror.openStagedFile(runDir, relativePath);
    return {
      path: staged.path,
      handle: staged.handle,
      commit: async (known) => this.upload(runDir, await staged.commit(known)),
      abort: () => staged.abort(),
    };
  }

  async adoptArtifact(
    runDir: string,
    relativePath: string,
    sourceRunDir: string,
    expected: { sha256: string; bytes: number },
  ): Promise<StoredArtifact> {
    const sourceKey = this.keyOf(sourceRunDir, relativePath);
    const targetKey = this.keyOf(runDir, relativePath);
    const info = await this.s3.head(sourceKey);
    if (!info)
      throw new StorageError(
        `cached artifact ${this.s3.describe(sourceKey)} cannot be reused: it is missing`,
      );
    // The bytes are not re-read here (that is what a server-side copy saves): the sha256 recorded at
    // upload — verified by the server where it keeps checksums — stands for them; a reader that
    // downloads the object hashes it again (localFile).
    const recorded = info.checksumSha256 ?? info.sha256;
    if (info.bytes !== expected.bytes || recorded !== expected.sha256)
      throw new StorageError(
        `cached artifact ${this.s3.describe(sourceKey)} no longer matches its recorded sha256`,
      );
    await this.s3.copy(sourceKey, targetKey);
    return { path: checkRelativePath(relativePath).join('/'), sha256: expected.sha256, bytes: info.bytes };
  }

  // --- runs ----------------------------------------------------------------------------------

  async listRuns(platformId: string, videoId: string): Promise<string[]> {
    const { prefixes } = await this.s3.list(this.videoPrefix(platformId, videoId), '/');
    return prefixes.filter((p) => ID_PATTERN.test(p)).sort();
  }

  async removeRun(runDir: string): Promise<void> {
    await this.s3.deletePrefix(this.runPrefix(runDir));
    this.pending.delete(runDir);
    this.ownedRuns.delete(runDir);
    await this.mirror.removeRun(runDir);
  }

  async hasRun(runDir: string): Promise<boolean> {
    if (this.ownedRuns.has(runDir)) return true;
    const { objects } = await this.s3.list(this.runPrefix(runDir));
    return objects.length > 0;
  }

  async createRun(runDir: string): Promise<void> {
    // A mirror left by an earlier run of the same id (removed from the bucket since) is stale.
    await this.mirror.removeRun(runDir);
    await this.mirror.createRun(runDir);
    this.ownedRuns.add(runDir);
  }

  // --- reads ---------------------------------------------------------------------------------

  async readFile(runDir: string, relativePath: string): Promise<Uint8Array | null> {
    if (this.ownedRuns.has(runDir)) {
      const local = await this.mirror.readFile(runDir, relativePath);
      if (local !== null) return local;
    }
    return this.s3.get(this.keyOf(runDir, relativePath));
  }

  async localFile(runDir: string, relativePath: string): Promise<string> {
    const full = await this.mirror.resolveInside(runDir, relativePath);
    const key = this.keyOf(runDir, relativePath);
    const local = await lstat(full).catch(() => null);
    if (local?.isFile() && (this.pending.get(runDir)?.has(relativePath) || this.ownedRuns.has(runDir))) {
      return full;
    }
    const info = await this.s3.head(key);
    if (!info) throw new StorageError(`${relativePath} is not in the run ${this.describeRun(runDir)}`);
    if (local?.isFile() && local.size === info.bytes) return full;
    // Download to a temp name, verify against the recorded sha256, then rename into place.
    await mkdir(dirname(full), { recursive: true });
    const temp = join(dirname(full), `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-download`);
    try {
      const got = await this.s3.download(key, temp);
      const recorded = info.checksumSha256 ?? info.sha256;
      if (got.bytes !== info.bytes || (recorded !== null && got.sha256 !== recorded))
        throw new StorageError(`${this.s3.describe(key)} does not match its recorded sha256`);
      await rename(temp, full);
    } finally {
      await rm(temp, { force: true });
    }
    return full;
  }

  async listFiles(runDir: string): Promise<{ path: string; bytes: number }[]> {
    return (await this.listRunFiles(runDir)).map(({ path, bytes }) => ({ path, bytes }));
  }

  async listRunFiles(runDir: string): Promise<StoredFile[]> {
    const { objects } = await this.s3.list(this.runPrefix(runDir));
    return objects
      .map((o) => ({ path: o.key, bytes: o.bytes, modifiedMs: o.modifiedMs }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  // --- logs, scratch --------------------------------------------------------------------------

  async openAppendLog(runDir: string, relativePath: string): Promise<AppendLog> {
    const full = await this.mirror.resolveInside(runDir, relativePath);
    // A resumed run continues the log that is in the bucket (the mirror may be gone or behind).
    const remote = await this.s3.get(this.keyOf(runDir, relativePath));
    const local = await stat(full).catch(() => null);
    if (remote !== null && (local === null || local.size < remote.byteLength)) {
      await this.mirror.writeArtifact(runDir, relativePath, remote);
    }
    const log = await this.mirror.openAppendLog(runDir, relativePath);
    // Uploaded whole (objects cannot be appended to) at most every 2 s and at close: after a kill
    // the bucket's log may miss the last events; the manifest, not the log, decides what is done.
    let lastUpload = 0;
    let uploading: Promise<void> = Promise.resolve();
    const uploadNow = async (): Promise<void> => {
      lastUpload = Date.now();
      const bytes = await readFile(full);
      await this.s3.putBytes(this.keyOf(runDir, relativePath), bytes, sha256Hex(bytes));
    };
    return {
      append: async (line) => {
        await log.append(line);
        if (Date.now() - lastUpload >= 2000) await (uploading = uploading.then(uploadNow));
      },
      close: async () => {
        await log.close();
        await uploading;
        await uploadNow();
      },
    };
  }

  scratchDir(runDir: string, area: string): Promise<string> {
    return this.mirror.scratchDir(runDir, area);
  }

  async removeScratch(runDir: string, area?: string): Promise<void> {
    if (area !== undefined) validateId('scratch area', area);
    await this.mirror.removeScratch(runDir, area);
    const prefix = this.runPrefix(runDir);
    const { objects } = await this.s3.list(prefix);
    const scratch = objects.filter((o) =>
      area === undefined ? o.key.startsWith(SCRATCH_PREFIX) : o.key.startsWith(`${SCRATCH_PREFIX}${area}/`),
    );
    await this.s3.deleteKeys(scratch.map((o) => `${prefix}${o.key}`));
  }

  async removeStaleTemps(runDir: string): Promise<void> {
    // Objects are never half-written; only the mirror can hold interrupted writes.
    await this.mirror.removeStaleTemps(runDir);
  }

  // --- manifest ------------------------------------------------------------------------------

  private async readRemoteManifest(runDir: string): Promise<Manifest | null> {
    const bytes = await this.s3.get(this.keyOf(runDir, MANIFEST_FILE));
    if (bytes === null) return null;
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (error) {
      throw new StorageError(
        `manifest.json in ${this.describeRun(runDir)} is not JSON: ${(error as Error).message}`,
      );
    }
    const parsed = manifestSchema.safeParse(json);
    if (!parsed.success)
      throw new StorageError(
        `manifest.json in ${this.describeRun(runDir)} is invalid: ${parsed.error.message}`,
      );
    return parsed.data;
  }

  async readManifest(runDir: string): Promise<Manifest | null> {
    if (this.ownedRuns.has(runDir)) return this.mirror.readManifest(runDir);
    return this.readRemoteManifest(runDir);
  }

  /**
   * R-MAN-3 on the mirror (locked read-merge-validate-write), then the result is uploaded. The
   * first update of a run this process did not create starts from the bucket's manifest (a resume,
   * possibly on another machine). The final update (status no longer `running`) first uploads the
   * frame batches held back by `frames=end`.
   */
  async updateManifest(runDir: string, patch: ManifestPatch, base?: Manifest): Promise<Manifest> {
    if (!this.ownedRuns.has(runDir)) {
      const remote = await this.readRemoteManifest(runDir);
      await this.mirror.createRun(runDir);
      if (remote)
        await this.mirror.writeArtifact(
          runDir,
          MANIFEST_FILE,
          Buffer.from(`${JSON.stringify(remote, null, 2)}\n`),
        );
      else await rm(join(assertRunDir(this.root, runDir), MANIFEST_FILE), { force: true });
      this.ownedRuns.add(runDir);
    }
    const manifest = await this.mirror.updateManifest(runDir, patch, base);
    const runPending = this.pending.get(runDir);
    if (runPending && runPending.size > 0) {
      if (manifest.run.status === 'running') return manifest;
      for (const artifact of [...runPending.values()]) {
        const key = this.keyOf(runDir, artifact.path);
        await this.s3.putFile(key, await this.mirror.resolveInside(runDir, artifact.path), artifact);
        runPending.delete(artifact.path);
      }
    }
    const bytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
    await this.s3.putBytes(this.keyOf(runDir, MANIFEST_FILE), bytes, sha256Hex(bytes));
    return manifest;
  }

  async verifyArtifacts(
    runDir: string,
    artifacts: readonly ArtifactRef[],
    sizeOnly: (artifact: ArtifactRef) => boolean = () => false,
  ): Promise<string[]> {
    const problems: string[] = [];
    for (const artifact of artifacts) {
      if (this.pending.get(runDir)?.has(artifact.path)) {
        problems.push(...(await this.mirror.verifyArtifacts(runDir, [artifact], sizeOnly)));
        continue;
      }
      const info = await this.s3.head(this.keyOf(runDir, artifact.path));
      if (!info) problems.push(`${artifact.path} is missing`);
      else if (info.bytes !== artifact.bytes)
        problems.push(`${artifact.path}: ${info.bytes} bytes, the manifest says ${artifact.bytes}`);
      else if (!sizeOnly(artifact) && (info.checksumSha256 ?? info.sha256) !== artifact.sha256)
        problems.push(`${artifact.path}: sha256 differs from the manifest`);
    }
    return problems;
  }

  /**
   * Claims are local locks in the mirror: they keep runs on this machine from computing a key
   * twice. Runs on several machines share claims through the service's Redis claims.
   */
  get claims(): ClaimPort {
    return this.mirror.claims;
  }

  // --- maintenance (GC, delete) ----------------------------------------------------------------

  async listVideos(): Promise<{ platformId: string; videoId: string }[]> {
    const out: { platformId: string; videoId: string }[] = [];
    const { prefixes: platforms } = await this.s3.list(this.options.prefix, '/');
    for (const platformId of platforms.filter((p) => ID_PATTERN.test(p)).sort()) {
      const { prefixes: videos } = await this.s3.list(`${this.options.prefix}${platformId}/`, '/');
      for (const videoId of videos.filter((v) => ID_PATTERN.test(v)).sort())
        out.push({ platformId, videoId });
    }
    return out;
  }

  async listVideoFiles(platformId: string, videoId: string): Promise<StoredFile[]> {
    const { objects } = await this.s3.list(this.videoPrefix(platformId, videoId));
    return objects.map((o) => ({ path: o.key, bytes: o.bytes, modifiedMs: o.modifiedMs }));
  }

  async removeFiles(runDir: string, paths: readonly string[]): Promise<void> {
    const prefix = this.runPrefix(runDir);
    const { objects } = await this.s3.list(prefix);
    const keys: string[] = [];
    for (const path of paths) {
      const p = checkRelativePath(path).join('/');
      // A path names a file or a whole folder of the run.
      for (const o of objects) if (o.key === p || o.key.startsWith(`${p}/`)) keys.push(`${prefix}${o.key}`);
    }
    await this.s3.deleteKeys(keys);
    await this.mirror.removeFiles(runDir, paths);
  }

  async removeVideo(platformId: string, videoId: string): Promise<{ files: number; bytes: number }> {
    const removed = await this.s3.deletePrefix(this.videoPrefix(platformId, videoId));
    for (const runDir of [...this.ownedRuns])
      if (runDir.startsWith(join(this.root, platformId, videoId) + sep)) this.ownedRuns.delete(runDir);
    await this.mirror.removeVideo(platformId, videoId);
    return removed;
  }

  readVideoFile(platformId: string, videoId: string, path: string): Promise<Uint8Array | null> {
    return this.s3.get(this.videoKey(platformId, videoId, path));
  }

  async writeVideoFile(platformId: string, videoId: string, path: string, bytes: Uint8Array): Promise<void> {
    await this.s3.putBytes(this.videoKey(platformId, videoId, path), bytes, sha256Hex(bytes));
  }

  async removeVideoFile(platformId: string, videoId: string, path: string): Promise<void> {
    await this.s3.deleteKeys([this.videoKey(platformId, videoId, path)]);
  }

  readAdminFile(path: string): Promise<Uint8Array | null> {
    return this.s3.get(this.adminKey(path));
  }

  async writeAdminFile(
    path: string,
    bytes: Uint8Array,
    options: { createOnly?: boolean } = {},
  ): Promise<void> {
    const key = this.adminKey(path);
    if (options.createOnly && (await this.s3.head(key)) !== null)
      throw new StorageError(`${this.s3.describe(key)} exists; append-only records are never replaced`);
    await this.s3.putBytes(key, bytes, sha256Hex(bytes), options.createOnly === true);
  }

  async removeAdminFile(path: string): Promise<void> {
    await this.s3.deleteKeys([this.adminKey(path)]);
  }

  /**
   * Cache retention for the local mirror: removes mirrored runs untouched since `olderThanMs` that
   * this process is not writing (their bucket copy is the result; the mirror is only a cache).
   */
  async pruneMirror(olderThanMs: number): Promise<void> {
    for (const { platformId, videoId } of await this.mirror.listVideos())
      for (const runId of await this.mirror.listRuns(platformId, videoId)) {
        const runDir = this.mirror.runDir(platformId, videoId, runId);
        if (this.ownedRuns.has(runDir)) continue;
        const files = await this.mirror.listRunFiles(runDir);
        if (files.every((f) => f.modifiedMs < olderThanMs)) await this.mirror.removeRun(runDir);
      }
  }

  async listAdminFiles(dir: string): Promise<StoredFile[]> {
    const prefix = `${this.adminKey(dir)}/`;
    const { objects } = await this.s3.list(prefix);
    return objects.map((o) => ({ path: o.key, bytes: o.bytes, modifiedMs: o.modifiedMs }));
  }
}

/** State files are rewritten as the run progresses (checkpoints); artifacts are written once. */
function isMutableStateFile(path: string): boolean {
  return path === 'run_state.json' || path === 'state_events.jsonl' || path.startsWith('_state/');
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
