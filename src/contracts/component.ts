import type { z } from 'zod';
import { DependencyError } from './errors.js';
import type { RunIdentity } from './identity.js';
import type { ComponentKind } from './manifest.js';
import type { EmptyReason, ModelUsed } from './meta.js';
import type { NdArray } from './npz/types.js';
import type { NpzSchema } from './npz/schema.js';
import type { VideoDocument } from './document.js';

export type ProcessorName = 'segmenter' | 'audio' | 'text' | 'visual';

/**
 * R-SEG-3 frame budget. sp_v1: frames = round(targetPerMinute × duration_min), clamped to
 * [min, max] and to the frames that exist.
 */
export interface FrameBudget {
  min: number;
  targetPerMinute: number;
  max: number;
}

/** R-BAT-2 resource profile, read by the model system's batch planner (`planBatchSize`). */
export interface ResourceProfile {
  memoryMbPerUnit: number;
  devices: readonly ('cpu' | 'cuda')[];
  minBatch: number;
  maxBatch: number;
}

/** A batch of union frames, RGB uint8 `[n, height, width, 3]` in C order. */
export interface FrameBatch {
  /** Union-domain indices of the frames in this batch. */
  unionIndices: Int32Array;
  /** Source-domain indices (i-th presented frame of the video). */
  sourceIndices: Int32Array;
  timestampsSec: Float64Array;
  pixels: Uint8Array;
  width: number;
  height: number;
}

/** What a frame-reading component sees: exactly its own frames (R-SEG-3), never a sampling of its own. */
export interface FrameAccess {
  /** Union-domain indices of this component's frames, ascending. */
  frameIndices: Int32Array;
  sourceFrameIndices: Int32Array;
  timestampsSec: Float64Array;
  width: number;
  height: number;
  sourceFps: number;
  /** Reads this component's frames in order, `batchSize` at a time. */
  batches(batchSize: number): AsyncIterable<FrameBatch>;
}

/** The run's audio track as extracted by the Segmenter (R-SEG-6). */
export interface AudioAccess {
  hasAudio: boolean;
  /** Path of the WAV (48 kHz, float32 or s16, ≤ 2 channels); null when the video has no audio. */
  wavPath: string | null;
  sampleRate: number;
  channels: number;
  durationSec: number;
}

/**
 * The model system as the contracts see it (R-MOD-2, R-BAT-3): declared here so that contracts
 * never import the model system; `modelsOf(ctx)` in src/models gives a component the full
 * `ModelAccess` (load, batch planner and runner) behind it.
 */
export interface ModelAccessPort {
  /** `models_used[]` of every model loaded through this access, in canonical order. */
  used(): ModelUsed[];
  /** `model_signature` of `used()`. */
  signature(): string;
  /** What the batch runner did (R-BAT-3): the batch size it ended with and the OOM retries spent. */
  batching(): BatchingRecord;
}

/** R-BAT-3 record of a component's batching: recorded in its NPZ meta and manifest entry. */
export interface BatchingRecord {
  /** The batch size the last batched call finished with; null when nothing was batched. */
  batchSize: number | null;
  /** OOM retries spent over all batched calls. */
  oomRetries: number;
}

/**
 * A dependency's output as a component reads it (R-DEP-1/2): the dependency's NPZ, checked against
 * the schema it declares, with its per-frame axis mapped to the union frame domain.
 */
export interface DependencyView {
  name: string;
  status: 'ok' | 'empty';
  emptyReason: EmptyReason | null;
  /** The dependency NPZ's meta. */
  meta: Record<string, unknown>;
  arrays: Record<string, NdArray>;
  /** Union-domain indices of the dependency's per-frame axis (its `frame_indices`), or null when it has none. */
  frameIndices: Int32Array | null;
  /** For each union index asked for, the row of the dependency's per-frame axis holding it, or -1. */
  rowsFor(unionIndices: Int32Array): Int32Array;
}

/** What a component may read of the components it depends on. */
export interface DependencyInputs {
  /** Dependencies (hard and optional) that finished in this run (`ok` or `empty`), sorted. */
  available(): string[];
  /**
   * The dependency's output. DEPENDENCY_MISSING when `name` is not a dependency of this
   * component, did not finish in this run, or its artifact is missing or does not match its schema.
   */
  read(name: string): Promise<DependencyView>;
}

/**
 * Scratch and handoffs (R-ST-1, R-PRV-2): files under the run's `_tmp_<area>/`, written and read
 * through the result store; never results, removed when the run ends unless the raw policy keeps them.
 */
export interface ScratchSpace {
  /** Writes `_tmp_<area>/<file>` (the run's identity is added to `meta`); returns its run-relative path. */
  writeNpz(
    area: string,
    file: string,
    arrays: Record<string, NdArray>,
    meta?: Record<string, unknown>,
  ): Promise<string>;
  /** The arrays of a scratch NPZ; null when there is none. */
  readNpz(area: string, file: string): Promise<Record<string, NdArray> | null>;
}

export interface ComponentContext<Config> {
  identity: RunIdentity;
  runDir: string;
  config: Config;
  /** Present when the component declares a frame budget. */
  frames: FrameAccess | null;
  audio: AudioAccess;
  /** Reports progress in the component's own units. */
  progress: (done: number, total: number) => void;
  signal: AbortSignal;
  /**
   * The model system (R-MOD, R-BAT) for components that call models: `load(name, {device,
   * precision})`, `used()` for `modelsUsed`, and the batch planner/runner. Absent for components
   * that call none.
   */
  models?: ModelAccessPort;
  /** Outputs of the components this one depends on (R-DEP). */
  inputs: DependencyInputs;
  /** Scratch and handoffs through the store (`_tmp_<area>/`). */
  scratch: ScratchSpace;
  /** The run's `VideoDocument` (title, description, tags, transcript, comments), or null when none was given. */
  document: VideoDocument | null;
}

export interface ComponentResult {
  status: 'ok' | 'empty';
  emptyReason: EmptyReason | null;
  arrays: Record<string, NdArray>;
  /** Component-specific meta keys (validated by `schema.meta`). */
  meta?: Record<string, unknown>;
  notes?: string;
  warnings?: string[];
  modelsUsed?: ModelUsed[];
  deviceUsed?: string;
  batchSize?: number;
}

/** One model a component will load (R-MOD-2, R-MOD-4): registry name, and how to run it. */
export interface ComponentModel {
  model: string;
  version?: string;
  /** `cpu`, `cuda:N` or `auto` (R-MOD-3). */
  device?: 'cpu' | 'auto' | `cuda:${number}`;
  precision?: 'fp32' | 'fp16' | 'int8';
  /** R-MOD-5: where it runs; a profile's mapping may name `triton`. @defaultValue 'inprocess' */
  runtime?: 'inprocess' | 'triton';
}

/** The one component interface (STYLE: every extractor is a value of this type). */
export interface Component<Config = unknown> {
  name: string;
  kind: ComponentKind;
  processor: ProcessorName;
  /** producer_version */
  version: string;
  schema: NpzSchema;
  /** Components whose artifacts this one reads. */
  dependsOn: readonly string[];
  /**
   * Components this one reads when they are part of the run (R-DEP-2: their fields are
   * `dependency_empty` otherwise). They are never added to a run on this component's behalf.
   */
  optionalDependsOn?: readonly string[];
  budget?: FrameBudget;
  /** Minimum analysis height this component needs (R-SEG-5); default is the Segmenter's 320. */
  minHeight?: number;
  resources: ResourceProfile;
  configSchema: z.ZodType<Config>;
  /**
   * The models this component loads for a config (R-MOD-2). The orchestrator computes their
   * `model_signature` before the component runs (it is part of the idempotency key, so a change of
   * model, weights, precision or device misses the cache) and fails the component at once with
   * MODEL_NOT_FOUND / DEVICE_UNAVAILABLE when one cannot be had. Absent for components without models.
   */
  models?(config: Config): readonly ComponentModel[];
  /**
   * Scratch areas (`_tmp_<area>/`, R-PRV-2 handoffs) it writes for components that read them. When
   * a component in the same run reads them, this one is computed rather than served from the cache
   * (a cached run's scratch is gone), unless that reader is itself served from the cache.
   */
  handoffs?: readonly string[];
  /** Symbol sizes the writer must check (e.g. `N` = number of this component's frames). */
  knownSymbols?(ctx: ComponentContext<Config>): Record<string, number>;
  run(ctx: ComponentContext<Config>): Promise<ComponentResult>;
}

/** The inputs of a component that reads no other component: every read is DEPENDENCY_MISSING. */
export function noDependencyInputs(component: string): DependencyInputs {
  return {
    available: () => [],
    read: (name) =>
      Promise.reject(
        new DependencyError(
          'DEPENDENCY_MISSING',
          `${component} has no finished dependency ${name} in this run; it never computes one itself.`,
        ),
      ),
  };
}

/** A scratch space held in memory: for running a component outside a run (unit tests, benches). */
export function memoryScratchSpace(): ScratchSpace {
  const files = new Map<string, Record<string, NdArray>>();
  return {
    writeNpz: (area, file, arrays) => {
      files.set(`${area}/${file}`, arrays);
      return Promise.resolve(`_tmp_${area}/${file}`);
    },
    readNpz: (area, file) => Promise.resolve(files.get(`${area}/${file}`) ?? null),
  };
}
