import type { z } from 'zod';
import type { RunIdentity } from './identity.js';
import type { ComponentKind } from './manifest.js';
import type { EmptyReason, ModelUsed } from './meta.js';
import type { NdArray } from './npz/types.js';
import type { NpzSchema } from './npz/schema.js';
import type { ModelAccess } from '../models/index.js';

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

/**
 * The Segmenter's every-frame signal (`frames_dir/frame_signal.npz`): a yuv420p thumbnail of every
 * source frame, row i = source frame i (R-SEG-7).
 */
export interface FrameSignal {
  /** Source frames (rows). */
  frames: number;
  width: number;
  height: number;
  /** Luma `[frames, height, width]`. */
  y: Uint8Array;
  /** Chroma `[frames, height/2, width/2]` each. */
  u: Uint8Array;
  v: Uint8Array;
  /** Presentation time of every source frame. */
  timestampsSec: Float64Array;
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
  /** The every-frame signal, or null when the Segmenter made none (see `frame_signal` in metadata). */
  frameSignal?(): Promise<FrameSignal | null>;
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
  models?: ModelAccess;
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
  /** Symbol sizes the writer must check (e.g. `N` = number of this component's frames). */
  knownSymbols?(ctx: ComponentContext<Config>): Record<string, number>;
  run(ctx: ComponentContext<Config>): Promise<ComponentResult>;
}
