import { decodeNpz, encodeNpz, validateId, type RunIdentity, type ScratchSpace } from '../contracts/index.js';
import { SCRATCH_PREFIX, type ResultStore } from './result-store.js';

/** Reads `_tmp_<area>/<file>` NPZs of one run through the store. */
export function storeScratchSpace(store: ResultStore, runDir: string, identity: RunIdentity): ScratchSpace {
  const pathOf = (area: string, file: string): string => {
    validateId('scratch area', area);
    validateId('scratch file', file);
    return `${SCRATCH_PREFIX}${area}/${file}`;
  };
  return {
    async writeNpz(area, file, arrays, meta = {}) {
      const path = pathOf(area, file);
      await store.writeArtifact(
        runDir,
        path,
        encodeNpz(arrays, {
          ...meta,
          platform_id: identity.platform_id,
          video_id: identity.video_id,
          run_id: identity.run_id,
        }),
      );
      return path;
    },
    async readNpz(area, file) {
      const bytes = await store.readFile(runDir, pathOf(area, file));
      return bytes === null ? null : decodeNpz(bytes).arrays;
    },
  };
}
