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
  LocalResultStore,
  type ArtifactWriter,
  type ResultStore,
  type StoredArtifact,
} from './result-store.js';
export {
  MANIFEST_FILE,
  readManifest,
  updateManifest,
  verifyManifestArtifacts,
  type ManifestPatch,
} from './manifest-store.js';
