import { DataProcessorError, StorageError, validateId } from '../../contracts/index.js';
import type { ResultStore } from '../result-store.js';

/**
 * A deleted video's tombstone (`_admin/tombstones/<platform_id>/<video_id>.json`). Semantics: a run
 * of the video that started before `deleted_at` can never commit — it fails with VIDEO_DELETED and
 * removes what it wrote — and a cache lookup never reuses a run created before it. A run started
 * after the deletion is an ordinary new run (the video may be processed again on request).
 */
export interface Tombstone {
  platform_id: string;
  video_id: string;
  deleted_at: string;
  deletion_id: string;
}

function tombstonePath(platformId: string, videoId: string): string {
  validateId('platform_id', platformId);
  validateId('video_id', videoId);
  return `tombstones/${platformId}/${videoId}.json`;
}

export async function readTombstone(
  store: ResultStore,
  platformId: string,
  videoId: string,
): Promise<Tombstone | null> {
  const bytes = await store.readAdminFile(tombstonePath(platformId, videoId));
  if (bytes === null) return null;
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as Tombstone;
  } catch (error) {
    throw new StorageError(`the tombstone of ${platformId}/${videoId} is corrupt`, { cause: error });
  }
}

export async function writeTombstone(store: ResultStore, tombstone: Tombstone): Promise<void> {
  await store.writeAdminFile(
    tombstonePath(tombstone.platform_id, tombstone.video_id),
    Buffer.from(`${JSON.stringify(tombstone, null, 2)}\n`),
  );
}

/** True when the video was deleted at or after `startedAt` (ISO time): the run must not commit. */
export function isDeletedSince(tombstone: Tombstone | null, startedAt: string): boolean {
  return tombstone !== null && Date.parse(tombstone.deleted_at) >= Date.parse(startedAt);
}

export function videoDeletedError(
  platformId: string,
  videoId: string,
  tombstone: Tombstone,
): DataProcessorError {
  return new DataProcessorError(
    'VIDEO_DELETED',
    `${platformId}/${videoId} was deleted at ${tombstone.deleted_at} while this run was in progress; what the run wrote was removed.`,
    { details: { deletion_id: tombstone.deletion_id } },
  );
}
