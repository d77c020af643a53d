import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { validateId } from '../../contracts/index.js';
import { isProcessAlive } from '../lock.js';
import type { ResultStore } from '../result-store.js';

/*
 * A run's lease (`<platform_id>/<video_id>/_leases/<run_id>.json`): written when a run starts and
 * renewed while it runs, removed when it ends. Retention GC never touches a run whose lease is
 * live; on the same host a lease is live while its process is, elsewhere while it was renewed
 * within `LEASE_STALE_MS` (real time: a run in progress is judged by the wall clock, never by the
 * clock GC is given for ages).
 */

export const LEASE_DIR = '_leases';
const RENEW_MS = 10_000;
export const LEASE_STALE_MS = 60_000;
const HOST = hostname();

export interface RunLease {
  run_id: string;
  pid: number;
  hostname: string;
  token: string;
  started_at: string;
  renewed_at: string;
}

export interface HeldLease {
  release(): Promise<void>;
}

function leasePath(runId: string): string {
  validateId('run_id', runId);
  return `${LEASE_DIR}/${runId}.json`;
}

/** Takes the lease of a run; renewed in the background until `release`. */
export async function acquireRunLease(
  store: ResultStore,
  scope: { platform_id: string; video_id: string; run_id: string },
): Promise<HeldLease> {
  const started = new Date().toISOString();
  const lease: RunLease = {
    run_id: scope.run_id,
    pid: process.pid,
    hostname: HOST,
    token: randomBytes(8).toString('hex'),
    started_at: started,
    renewed_at: started,
  };
  const write = (): Promise<void> =>
    store.writeVideoFile(
      scope.platform_id,
      scope.video_id,
      leasePath(scope.run_id),
      Buffer.from(JSON.stringify({ ...lease, renewed_at: new Date().toISOString() })),
    );
  await write();
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renewing.then(write).catch(() => undefined);
  }, RENEW_MS);
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      await renewing;
      await store.removeVideoFile(scope.platform_id, scope.video_id, leasePath(scope.run_id));
    },
  };
}

/** The leases of a video's runs, by run id (unreadable ones are skipped: they are being written). */
export async function readLeases(
  store: ResultStore,
  platformId: string,
  videoId: string,
): Promise<Map<string, RunLease>> {
  const leases = new Map<string, RunLease>();
  const files = await store.listVideoFiles(platformId, videoId);
  for (const file of files.filter((f) => f.path.startsWith(`${LEASE_DIR}/`) && f.path.endsWith('.json'))) {
    const bytes = await store.readVideoFile(platformId, videoId, file.path);
    if (bytes === null) continue;
    const runId = file.path.slice(LEASE_DIR.length + 1, -'.json'.length);
    try {
      leases.set(runId, JSON.parse(Buffer.from(bytes).toString('utf8')) as RunLease);
    } catch {
      // Unreadable: judged live (GC keeps the run) rather than guessed dead.
      const now = new Date().toISOString();
      leases.set(runId, {
        run_id: runId,
        pid: 0,
        hostname: '?',
        token: '?',
        started_at: now,
        renewed_at: now,
      });
    }
  }
  return leases;
}

export function isLeaseLive(lease: RunLease, wallClockMs: number = Date.now()): boolean {
  if (lease.hostname === HOST) return isProcessAlive(lease.pid);
  return wallClockMs - Date.parse(lease.renewed_at) < LEASE_STALE_MS;
}
