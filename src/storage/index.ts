// Public surface of the result store (R-ST): atomic writes, locks, paths, the store port and the
// manifest writer. Other modules import only from here.
export {
  TEMP_PREFIX,
  commitFile,
  fsyncDir,
  openAtomicWriter,
  openTempFile,
  removeStaleTemps,
  sha256File,
  writeFileAtomic,
  type AtomicWriter,
  type RemoveStaleTempsOptions,
  type WrittenFile,
} from './atomic.js';
export { ensureDirectory, ensureDirectorySync } from './directories.js';
export { isProcessAlive, withLock, type LockOptions, type LockOwner } from './lock.js';
export { assertNoSymlinks, assertRunDir, buildRunDir, checkRelativePath, resolveInside } from './paths.js';
export {
  CLAIMS_DIR,
  LocalResultStore,
  SCRATCH_PREFIX,
  type AppendLog,
  type ArtifactWriter,
  type ClaimPort,
  type StagedFile,
  type ResultStore,
  type StoredArtifact,
} from './result-store.js';
export {
  MANIFEST_FILE,
  readManifest,
  updateManifest,
  verifyArtifacts,
  verifyManifestArtifacts,
  type ManifestPatch,
} from './manifest-store.js';
export { storeScratchSpace } from './scratch.js';
export { createResultStore, isS3Uri, openExistingResultStore, openResultStore } from './open.js';
export { S3ResultStore } from './s3/s3-result-store.js';
export { parseS3Uri, type S3StoreOptions } from './s3/uri.js';
export { ADMIN_DIR, buildVideoDir, type StoreMaintenance, type StoredFile } from './result-store.js';
export * from './lifecycle/index.js';
