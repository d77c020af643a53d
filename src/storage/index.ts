export {
  writeFileAtomic,
  openAtomicWriter,
  commitFile,
  openTempFile,
  sha256File,
  removeStaleTemps,
  fsyncDir,
  TEMP_PREFIX,
  type AtomicWriter,
  type WrittenFile,
} from './atomic.js';
export { withLock, type LockOptions } from './lock.js';
export { LocalResultStore, type ResultStore, type StoredArtifact } from './result-store.js';
export { readManifest, updateManifest, verifyManifestArtifacts, MANIFEST_FILE } from './manifest-store.js';
