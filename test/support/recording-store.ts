// A result store double that records every write it is asked for (R-ST-4 acceptance: a run
// writes nothing outside the store port). It wraps the real LocalResultStore, so the run is real.
import { LocalResultStore, type ResultStore } from '../../src/storage/index.js';

export interface RecordingStore extends ResultStore {
  /** Run-relative paths written (artifacts, staged files, state, logs, manifest). */
  readonly written: Set<string>;
  /** Run-relative scratch directories handed out (`_tmp_<area>`), for tools' own files. */
  readonly scratchAreas: Set<string>;
}

export function recordingStore(root: string): RecordingStore {
  const base = new LocalResultStore(root);
  const written = new Set<string>();
  const scratchAreas = new Set<string>();
  const note = (path: string): void => void written.add(path);
  const store: RecordingStore = Object.assign(Object.create(base) as LocalResultStore, {
    written,
    scratchAreas,
    writeArtifact: async (runDir: string, path: string, bytes: Uint8Array) => {
      note(path);
      return base.writeArtifact(runDir, path, bytes);
    },
    openArtifactWriter: async (runDir: string, path: string) => {
      note(path);
      return base.openArtifactWriter(runDir, path);
    },
    openStagedFile: async (runDir: string, path: string) => {
      note(path);
      return base.openStagedFile(runDir, path);
    },
    openAppendLog: async (runDir: string, path: string) => {
      note(path);
      return base.openAppendLog(runDir, path);
    },
    adoptArtifact: async (...args: Parameters<ResultStore['adoptArtifact']>) => {
      note(args[1]);
      return base.adoptArtifact(...args);
    },
    updateManifest: async (...args: Parameters<ResultStore['updateManifest']>) => {
      note('manifest.json');
      return base.updateManifest(...args);
    },
    scratchDir: async (runDir: string, area: string) => {
      scratchAreas.add(`_tmp_${area}`);
      return base.scratchDir(runDir, area);
    },
  });
  return store;
}
