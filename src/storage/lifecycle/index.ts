// Storage lifecycle (R-PRV-3, R-SEC-3): retention GC, delete by video with tombstones and the
// deletion log, run leases. Written once over the store port, so local and S3 behave alike.
export {
  collectGarbage,
  DEFAULT_RETENTION,
  type GcAction,
  type GcReport,
  type RetentionPolicy,
} from './gc.js';
export { cliActor, deleteVideo, readDeletionLog, DELETION_LOG_DIR, type DeletionRecord } from './delete.js';
export {
  acquireRunLease,
  isLeaseLive,
  readLeases,
  LEASE_DIR,
  type HeldLease,
  type RunLease,
} from './lease.js';
export {
  isDeletedSince,
  readTombstone,
  videoDeletedError,
  writeTombstone,
  type Tombstone,
} from './tombstone.js';
