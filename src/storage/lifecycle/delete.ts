import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { validateId } from '../../contracts/index.js';
import type { ResultStore } from '../result-store.js';
import { writeTombstone, type Tombstone } from './tombstone.js';

/** What the deletion log records of one deletion (R-PRV-3): who, when, what, how much — no content. */
export interface DeletionRecord {
  deletion_id: string;
  platform_id: string;
  video_id: string;
  /** Who asked: `cli:<user>@<host>` or `api:<tenant>/<key id>`. */
  requested_by: string;
  requested_at: string;
  completed_at: string;
  /** Where: the store's location (a directory or s3:// URI, no credentials). */
  store: string;
  /** The run ids removed. */
  runs: string[];
  files: number;
  bytes: number;
}

export const DELETION_LOG_DIR = 'deletion-log';

/** `cli:<user>@<host>` for deletions from the command line. */
export function cliActor(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? 'unknown';
  }
  return `cli:${user}@${hostname()}`;
}

/**
 * Deletes everything stored for one video (R-PRV-3): every run (artifacts, frames, audio, state
 * files, scratch, raw payloads), its claims and run leases, and with them its cache entries (the
 * cache index is the runs' manifests). Order: the tombstone first — from then on no run that
 * started earlier can commit or be reused from the cache — then the removal, then one record in
 * the append-only deletion log (`_admin/deletion-log/<time>-<id>.json`, one create-only object per
 * deletion). Idempotent: deleting a video with nothing stored still records the request.
 */
export async function deleteVideo(
  store: ResultStore,
  request: { platformId: string; videoId: string; requestedBy: string; now?: () => Date },
): Promise<DeletionRecord> {
  validateId('platform_id', request.platformId);
  validateId('video_id', request.videoId);
  const now = request.now ?? (() => new Date());
  const requestedAt = now();
  const deletionId = `${requestedAt.toISOString().replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}`;
  const tombstone: Tombstone = {
    platform_id: request.platformId,
    video_id: request.videoId,
    deleted_at: requestedAt.toISOString(),
    deletion_id: deletionId,
  };
  await writeTombstone(store, tombstone);
  const runs = await store.listRuns(request.platformId, request.videoId);
  const removed = await store.removeVideo(request.platformId, request.videoId);
  const record: DeletionRecord = {
    deletion_id: deletionId,
    platform_id: request.platformId,
    video_id: request.videoId,
    requested_by: request.requestedBy,
    requested_at: requestedAt.toISOString(),
    completed_at: now().toISOString(),
    store: store.location.split('?')[0] ?? store.location,
    runs,
    files: removed.files,
    bytes: removed.bytes,
  };
  await store.writeAdminFile(
    `${DELETION_LOG_DIR}/${deletionId}.json`,
    Buffer.from(`${JSON.stringify(record)}\n`),
    { createOnly: true },
  );
  return record;
}

/** The deletion log, oldest first. */
export async function readDeletionLog(store: ResultStore): Promise<DeletionRecord[]> {
  const files = await store.listAdminFiles(DELETION_LOG_DIR);
  const out: DeletionRecord[] = [];
  for (const file of files) {
    const bytes = await store.readAdminFile(`${DELETION_LOG_DIR}/${file.path}`);
    if (bytes !== null) out.push(JSON.parse(Buffer.from(bytes).toString('utf8')) as DeletionRecord);
  }
  return out.sort((a, b) => (a.deletion_id < b.deletion_id ? -1 : 1));
}
