// What a component reads besides its frames and audio: its dependencies' artifacts (R-DEP-1/2) and
// the run's scratch (R-PRV-2 handoffs), both through the result store port.
import {
  DependencyError,
  checkArrays,
  decodeNpz,
  encodeNpz,
  validateId,
  type Component,
  type DependencyInputs,
  type DependencyView,
  type ManifestComponent,
  type NdArray,
  type RunIdentity,
  type ScratchSpace,
} from '../contracts/index.js';
import { SCRATCH_PREFIX, type ResultStore } from '../storage/index.js';

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

/**
 * A component's view of its dependencies: those of `allowed` whose entry in this run finished
 * (`ok`/`empty`), read from their NPZ and checked against the schema their component declares.
 */
export function storeDependencyInputs(options: {
  store: ResultStore;
  runDir: string;
  reader: string;
  /** Hard and optional dependencies of the reader that are part of the run. */
  allowed: readonly string[];
  entryOf: (name: string) => ManifestComponent | undefined;
  componentOf: (name: string) => Component | undefined;
}): DependencyInputs {
  const { store, runDir, reader, allowed } = options;
  const finished = (name: string): ManifestComponent | undefined => {
    const entry = options.entryOf(name);
    return entry && (entry.status === 'ok' || entry.status === 'empty') ? entry : undefined;
  };
  const missing = (name: string, why: string): DependencyError =>
    new DependencyError(
      'DEPENDENCY_MISSING',
      `${reader} reads ${name}, but ${why}; it never computes it itself.`,
    );
  return {
    available: () => allowed.filter((name) => finished(name) !== undefined).sort(),
    async read(name): Promise<DependencyView> {
      if (!allowed.includes(name))
        throw missing(name, `${name} is not a dependency of ${reader} in this run`);
      const entry = finished(name);
      if (!entry) throw missing(name, `${name} did not finish in this run`);
      const component = options.componentOf(name);
      const artifact = entry.artifacts.find((a) => a.type === 'npz');
      if (!component || !artifact) throw missing(name, `${name} has no NPZ artifact`);
      const bytes = await store.readFile(runDir, artifact.path);
      if (bytes === null) throw missing(name, `its artifact ${artifact.path} is missing`);
      let arrays: Record<string, NdArray>;
      let meta: Record<string, unknown>;
      try {
        ({ arrays, meta } = decodeNpz(bytes));
      } catch (error) {
        throw new DependencyError(
          'DEPENDENCY_MISSING',
          `${name}'s artifact ${artifact.path} cannot be read`,
          {
            cause: error,
          },
        );
      }
      const problems = checkArrays(component.schema, arrays, {});
      if (problems.length > 0)
        throw missing(name, `its artifact does not match its schema (${problems.slice(0, 3).join('; ')})`);
      const indices = arrays.frame_indices;
      const frameIndices = indices && indices.dtype === 'int32' ? indices.data : null;
      const rowOf = new Map<number, number>();
      frameIndices?.forEach((u, row) => rowOf.set(u, row));
      return {
        name,
        status: entry.status as 'ok' | 'empty',
        emptyReason: (meta.empty_reason as DependencyView['emptyReason']) ?? null,
        meta,
        arrays,
        frameIndices,
        rowsFor: (unionIndices) => Int32Array.from(unionIndices, (u) => rowOf.get(u) ?? -1),
      };
    },
  };
}
