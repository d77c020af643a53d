import { decodeNpz, type Manifest } from '../../contracts/index.js';
import { TEMP_PREFIX } from '../atomic.js';
import { SCRATCH_PREFIX, type ResultStore } from '../result-store.js';
import { isLeaseLive, readLeases, LEASE_DIR } from './lease.js';
import { DELETION_LOG_DIR } from './delete.js';

/** R-PRV-3 retention, in days unless named otherwise; every value configurable. */
export interface RetentionPolicy {
  /** Frame batches (`frames_dir/*.npy`, the every-frame signal) after the Segmenter wrote them. @defaultValue 7 */
  framesTtlDays: number;
  /** Every stored artifact: the whole run is removed after this long. @defaultValue 60 */
  artifactHardCapDays: number;
  /**
   * Cache entries: claim records under `_claims/` and (S3) the local mirror's copies. The cache
   * lookup already ignores runs older than this (R-ORC-3). @defaultValue 3
   */
  cacheTtlDays: number;
  /**
   * Raw payloads under `_tmp_*` without their own `expires_at` (R-PRV-1 writes one with
   * `hard_cap_days`; that one wins). @defaultValue 7
   */
  rawPayloadHardCapDays: number;
  /** Interrupted writes (`.tmp-*`) older than this are debris. @defaultValue 1 */
  tempMinAgeHours: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = {
  framesTtlDays: 7,
  artifactHardCapDays: 60,
  cacheTtlDays: 3,
  rawPayloadHardCapDays: 7,
  tempMinAgeHours: 1,
};

/** One thing GC removed (or, with dry-run, would remove). */
export interface GcAction {
  platform_id: string;
  video_id: string;
  run_id: string | null;
  kind: 'run' | 'frames' | 'raw_payload' | 'scratch' | 'temp' | 'claim' | 'tombstone';
  reason: string;
  files: number;
  bytes: number;
}

export interface GcReport {
  dry_run: boolean;
  now: string;
  policy: RetentionPolicy;
  actions: GcAction[];
  /** Runs left alone because they are running (live lease). */
  running: string[];
  files_removed: number;
  bytes_freed: number;
}

const DAY_MS = 86_400_000;
const FRAME_FILE = /^frames_dir\/(?!metadata\.json$).+/;

/** When the run got its frames: the Segmenter's finish, else the run's creation. */
function framesWrittenAt(manifest: Manifest): number {
  const segmenter = manifest.components.find((c) => c.name === 'segmenter');
  return Date.parse(segmenter?.finished_at ?? manifest.run.created_at);
}

async function rawPayloadExpiry(
  store: ResultStore,
  runDir: string,
  path: string,
  modifiedMs: number,
  policy: RetentionPolicy,
): Promise<number> {
  if (path.endsWith('.npz')) {
    const bytes = await store.readFile(runDir, path);
    if (bytes !== null) {
      const expires = decodeNpz(bytes).arrays.expires_at?.data as unknown;
      const value = Array.isArray(expires) ? (expires[0] as unknown) : undefined;
      if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return Date.parse(value);
    }
  }
  return modifiedMs + policy.rawPayloadHardCapDays * DAY_MS;
}

/**
 * Retention GC over any store (R-PRV-3). Never touches a run whose lease is live (a run in
 * progress, judged by the wall clock); every decision is re-checked against the lease just before
 * the removal, so a run that starts or resumes meanwhile is left alone. Frames are collected by
 * first recording `frames_expired_at` in the manifest and then removing the files (a crash in
 * between leaves a manifest that says expired next to frames the next pass removes — never a
 * manifest naming missing frames without saying so). `now` is injectable for tests.
 */
export async function collectGarbage(
  store: ResultStore,
  options: { policy?: Partial<RetentionPolicy>; now?: () => number; dryRun?: boolean } = {},
): Promise<GcReport> {
  const policy: RetentionPolicy = { ...DEFAULT_RETENTION, ...options.policy };
  const now = (options.now ?? Date.now)();
  const dryRun = options.dryRun === true;
  const actions: GcAction[] = [];
  const running: string[] = [];
  const act = async (action: GcAction, remove: () => Promise<void>): Promise<void> => {
    if (!dryRun) await remove();
    actions.push(action);
  };

  for (const { platformId, videoId } of await store.listVideos()) {
    const where = { platform_id: platformId, video_id: videoId };
    const liveNow = async (runId: string): Promise<boolean> => {
      const lease = (await readLeases(store, platformId, videoId)).get(runId);
      return lease !== undefined && isLeaseLive(lease);
    };
    const leases = await readLeases(store, platformId, videoId);
    for (const runId of await store.listRuns(platformId, videoId)) {
      const lease = leases.get(runId);
      if (lease && isLeaseLive(lease)) {
        running.push(`${platformId}/${videoId}/${runId}`);
        continue;
      }
      const runDir = store.runDir(platformId, videoId, runId);
      const files = await store.listRunFiles(runDir);
      const manifest = await store.readManifest(runDir).catch(() => null);
      const createdAt = manifest
        ? Date.parse(manifest.run.created_at)
        : Math.min(...files.map((f) => f.modifiedMs));
      const sum = (list: typeof files): { files: number; bytes: number } => ({
        files: list.length,
        bytes: list.reduce((a, f) => a + f.bytes, 0),
      });
      const id = { ...where, run_id: runId };

      if (now - createdAt > policy.artifactHardCapDays * DAY_MS) {
        await act(
          {
            ...id,
            kind: 'run',
            reason: `older than the ${policy.artifactHardCapDays}-day hard cap`,
            ...sum(files),
          },
          async () => {
            if (!(await liveNow(runId))) await store.removeRun(runDir);
          },
        );
        continue;
      }

      const frames = files.filter((f) => FRAME_FILE.test(f.path));
      if (manifest && frames.length > 0 && now - framesWrittenAt(manifest) > policy.framesTtlDays * DAY_MS) {
        await act(
          {
            ...id,
            kind: 'frames',
            reason: `frames older than the ${policy.framesTtlDays}-day TTL`,
            ...sum(frames),
          },
          async () => {
            if (await liveNow(runId)) return;
            if (!manifest.run.frames_expired_at)
              await store.updateManifest(runDir, { run: { frames_expired_at: new Date(now).toISOString() } });
            await store.removeFiles(
              runDir,
              frames.map((f) => f.path),
            );
          },
        );
      }

      const raw: typeof files = [];
      for (const f of files.filter((f) => f.path.startsWith(SCRATCH_PREFIX)))
        if (now > (await rawPayloadExpiry(store, runDir, f.path, f.modifiedMs, policy))) raw.push(f);
      if (raw.length > 0)
        await act(
          { ...id, kind: 'raw_payload', reason: 'raw payload past its hard cap', ...sum(raw) },
          async () => {
            if (!(await liveNow(runId)))
              await store.removeFiles(
                runDir,
                raw.map((f) => f.path),
              );
          },
        );

      const temps = files.filter(
        (f) =>
          (f.path.startsWith(TEMP_PREFIX) || f.path.includes(`/${TEMP_PREFIX}`)) &&
          now - f.modifiedMs > policy.tempMinAgeHours * 3_600_000,
      );
      if (temps.length > 0)
        await act({ ...id, kind: 'temp', reason: 'interrupted writes', ...sum(temps) }, async () => {
          if (!(await liveNow(runId)))
            await store.removeFiles(
              runDir,
              temps.map((f) => f.path),
            );
        });
    }

    // Video-level records: stale claims (cache entries) and leases of runs that are gone.
    const videoFiles = await store.listVideoFiles(platformId, videoId);
    // Claims are left alone while any run of the video is in progress (one may hold them).
    const anyLive = [...(await readLeases(store, platformId, videoId)).values()].some((l) => isLeaseLive(l));
    const claims = videoFiles.filter(
      (f) => !anyLive && f.path.startsWith('_claims/') && now - f.modifiedMs > policy.cacheTtlDays * DAY_MS,
    );
    for (const claim of claims)
      await act(
        {
          ...where,
          run_id: null,
          kind: 'claim',
          reason: `claim record older than ${policy.cacheTtlDays} days`,
          files: 1,
          bytes: claim.bytes,
        },
        () => store.removeVideoFile(platformId, videoId, claim.path),
      );
    for (const [runId, lease] of leases)
      if (!isLeaseLive(lease) && now - Date.parse(lease.renewed_at) > policy.cacheTtlDays * DAY_MS)
        await act(
          { ...where, run_id: runId, kind: 'claim', reason: 'lease of a run that ended', files: 1, bytes: 0 },
          () => store.removeVideoFile(platformId, videoId, `${LEASE_DIR}/${runId}.json`),
        );
  }

  // Tombstones outlive every run that could have started before them (the hard cap), then go.
  for (const file of await store.listAdminFiles('tombstones')) {
    if (now - file.modifiedMs <= policy.artifactHardCapDays * DAY_MS) continue;
    const [platformId = '', videoId = ''] = file.path.replace(/\.json$/, '').split('/');
    await act(
      {
        platform_id: platformId,
        video_id: videoId,
        run_id: null,
        kind: 'tombstone',
        reason: 'older than the hard cap',
        files: 1,
        bytes: file.bytes,
      },
      () => store.removeAdminFile(`tombstones/${file.path}`),
    );
  }
  void DELETION_LOG_DIR; // The deletion log is never collected: it is the record of what was deleted.

  if (!dryRun && 'pruneMirror' in store && typeof store.pruneMirror === 'function')
    await (store.pruneMirror as (olderThanMs: number) => Promise<void>)(now - policy.cacheTtlDays * DAY_MS);

  return {
    dry_run: dryRun,
    now: new Date(now).toISOString(),
    policy,
    actions,
    running,
    files_removed: actions.reduce((a, x) => a + x.files, 0),
    bytes_freed: actions.reduce((a, x) => a + x.bytes, 0),
  };
}
