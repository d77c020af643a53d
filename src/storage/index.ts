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
