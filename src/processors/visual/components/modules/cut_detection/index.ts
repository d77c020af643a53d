import { z } from 'zod';
import {
  ContractViolationError,
  DataProcessorError,
  DependencyError,
  nd,
  type Component,
  type ComponentResult,
  type NdArray,
} from '../../../../../contracts/index.js';
import { DEFAULT_FRAME_BUDGETS } from '../../../../../segmenter/index.js';
import {
  DEFAULT_DETECT_PARAMS,
  detectTransitions,
  frameFeatures,
  type DetectParams,
  type FrameFeatures,
} from './detect.js';

const NAME = 'cut_detection';
const D = DEFAULT_DETECT_PARAMS;

/** `cut_detection` config: the detector's thresholds (see `DetectParams` in detect.ts) and the read batch. */
const configSchema = z
  .object({
    histogram_weight: z.number().min(0).max(1).default(D.histogramWeight),
    cut_threshold: z.number().min(0).max(1).default(D.cutThreshold),
    local_ratio: z.number().min(1).default(D.localRatio),
    local_window: z.number().int().min(1).max(100).default(D.localWindow),
    /** In source frames (the i-th presented frame), whatever the sampling step. */
    min_shot_frames: z.number().int().min(1).default(D.minShotFrames),
    gradual_threshold: z.number().min(0).max(1).default(D.gradualThreshold),
    gradual_ratio: z.number().min(1).default(D.gradualRatio),
    gradual_window: z.number().int().min(1).max(500).default(D.gradualWindow),
    gradual_min_frames: z.number().int().min(2).default(D.gradualMinFrames),
    gradual_min_change: z.number().min(0).max(1).default(D.gradualMinChange),
    gradual_max_residual: z.number().min(0).default(D.gradualMaxResidual),
    /** Frames read per batch from frames_dir (memory: batch × W × H × 3 bytes). */
    batch_size: z.number().int().min(1).max(1024).default(64),
  })
  .strict();
type CutDetectionConfig = z.infer<typeof configSchema>;

/** Compiles the component config into the detector's parameters. */
function detectParams(c: CutDetectionConfig): DetectParams {
  return {
    histogramWeight: c.histogram_weight,
    cutThreshold: c.cut_threshold,
    localRatio: c.local_ratio,
    localWindow: c.local_window,
    minShotFrames: c.min_shot_frames,
    gradualThreshold: c.gradual_threshold,
    gradualRatio: c.gradual_ratio,
    gradualWindow: c.gradual_window,
    gradualMinFrames: c.gradual_min_frames,
    gradualMinChange: c.gradual_min_change,
    gradualMaxResidual: c.gradual_max_residual,
  };
}

const metaSchema = z
  .object({
    /** The detector parameters this artifact was made with (config names). */
    thresholds: z.record(z.string(), z.number()),
    num_cuts: z.number().int().nonnegative(),
    num_gradual: z.number().int().nonnegative(),
    num_shots: z.number().int().nonnegative(),
    /**
     * Largest source-frame gap between consecutive analysed frames: the worst-case localisation
     * error of a cut (0 when fewer than 2 frames).
     */
    max_sampling_gap_frames: z.number().int().nonnegative(),
  })
  .loose();

/**
 * `cut_detection` (SPEC §4): per-transition scores, hard cuts, gradual transitions and the shot
 * list over the component's own sampled frames (R-SEG-3), content-based (colour histogram + luma
 * thumbnail, see detect.ts). Output indices are SOURCE-domain (the i-th presented frame), except
 * `frame_indices` (union domain). Localisation precision is the sampling step: a cut between
 * sampled frames a < b is reported at b, the first sampled frame of the new shot; with every
 * frame sampled it is exact.
 */
export const cutDetection: Component<CutDetectionConfig> = {
  name: NAME,
  kind: 'module',
  processor: 'visual',
  version: '0.1.0',
  dependsOn: [],
  budget: DEFAULT_FRAME_BUDGETS.cut_detection,
  // One unit is one frame: ~0.55 MB of RGB at 568×320 while its batch is held, plus ~1.5 KB of
  // features kept for the whole run. Pure CPU.
  resources: { memoryMbPerUnit: 1, devices: ['cpu'], minBatch: 1, maxBatch: 1024 },
  configSchema,
  schema: {
    file: 'cut_detection.npz',
    schemaVersion: '1.0',
    arrays: {
      frame_indices: {
        dtype: 'int32',
        shape: ['N'],
        description: 'union-domain indices of the frames analysed',
      },
      source_frame_indices: {
        dtype: 'int32',
        shape: ['N'],
        description: 'source-domain index of each analysed frame',
      },
      times_sec: {
        dtype: 'float32',
        shape: ['N'],
        unit: 'sec',
        description: 'presentation time of each analysed frame',
      },
      transition_scores: {
        dtype: 'float32',
        shape: ['N'],
        description: 'change score between frame k−1 and k in [0, 1]; NaN for k = 0',
      },
      cut_frame_indices: {
        dtype: 'int32',
        shape: ['C'],
        description: 'source index of the first frame of each new shot (hard cuts)',
      },
      cut_times_sec: {
        dtype: 'float32',
        shape: ['C'],
        unit: 'sec',
        description: 'presentation time of that frame',
      },
      gradual_start_frame_indices: {
        dtype: 'int32',
        shape: ['G'],
        description: 'source index where each gradual transition starts',
      },
      gradual_end_frame_indices: {
        dtype: 'int32',
        shape: ['G'],
        description: 'source index where each gradual transition ends',
      },
      shot_start_frame_indices: {
        dtype: 'int32',
        shape: ['S'],
        description: 'source index of each shot’s first analysed frame',
      },
      shot_end_frame_indices: {
        dtype: 'int32',
        shape: ['S'],
        description: 'source index of each shot’s last analysed frame (inclusive)',
      },
      shot_start_times_sec: {
        dtype: 'float32',
        shape: ['S'],
        unit: 'sec',
        description: 'start time of each shot',
      },
      shot_end_times_sec: {
        dtype: 'float32',
        shape: ['S'],
        unit: 'sec',
        description: 'time of each shot’s last analysed frame',
      },
    },
    meta: metaSchema,
  },
  knownSymbols: (ctx) => (ctx.frames ? { N: ctx.frames.frameIndices.length } : {}),

  async run(ctx): Promise<ComponentResult> {
    const frames = ctx.frames;
    if (!frames) {
      throw new DependencyError(
        'DEPENDENCY_MISSING',
        `${NAME} needs its frame_indices in frames_dir (planned by the Segmenter); it never samples frames itself.`,
      );
    }
    const config = ctx.config;
    const params = detectParams(config);
    const n = frames.frameIndices.length;
    const source = frames.sourceFrameIndices;
    const times = frames.timestampsSec;
    const perFrame = {
      frame_indices: nd.int32(Int32Array.from(frames.frameIndices)),
      source_frame_indices: nd.int32(Int32Array.from(source)),
      times_sec: nd.float32(Float32Array.from(times)),
    };
    // Everything but the read batch size shapes the result: recorded in meta.
    const { batch_size: _batchSize, ...thresholds } = config;

    if (n < 2) {
      return {
        status: 'empty',
        emptyReason: 'too_few_frames',
        arrays: {
          ...perFrame,
          transition_scores: nd.float32(new Float32Array(n).fill(Number.NaN)),
          ...boundaryArrays([], [], [], []),
        },
        meta: { thresholds, num_cuts: 0, num_gradual: 0, num_shots: 0, max_sampling_gap_frames: 0 },
        notes: `${n} frame(s): a transition needs two`,
      };
    }

    // Features are ~1.5 KB a frame, so all of them are kept and the pixels of a batch are dropped
    // as soon as it is read. Reading the next batch awaits file I/O, which hands the event loop a
    // turn between batches (one batch of 64 frames is ~30 ms of pixel work at 320 p).
    const features: FrameFeatures[] = [];
    ctx.progress(0, n);
    for await (const batch of frames.batches(config.batch_size)) {
      if (ctx.signal.aborted) throw new DataProcessorError('INTERNAL', `${NAME} aborted`);
      if (batch.width !== frames.width || batch.height !== frames.height) {
        throw new ContractViolationError(
          `${NAME}: a frame batch is ${batch.width}x${batch.height}, frames_dir says ${frames.width}x${frames.height}`,
        );
      }
      const frameBytes = batch.width * batch.height * 3;
      for (let i = 0; i < batch.unionIndices.length; i += 1)
        features.push(frameFeatures(batch.pixels, i * frameBytes, batch.width, batch.height));
      ctx.progress(features.length, n);
    }
    if (features.length !== n) {
      throw new ContractViolationError(
        `${NAME}: frames_dir yielded ${features.length} frames, the component's frame_indices list ${n}`,
      );
    }

    const detection = detectTransitions(features, source, params);
    const starts = detection.shotStarts;
    const ends = starts.map((_, i) => (i + 1 < starts.length ? starts[i + 1]! - 1 : n - 1));
    let maxGap = 0;
    for (let k = 1; k < n; k += 1) maxGap = Math.max(maxGap, source[k]! - source[k - 1]!);
    const numCuts = detection.cutPositions.length;
    const numGradual = detection.gradual.length;
    return {
      status: 'ok',
      emptyReason: null,
      arrays: {
        ...perFrame,
        transition_scores: nd.float32(detection.scores),
        ...boundaryArrays(
          detection.cutPositions,
          detection.gradual,
          starts,
          ends,
          (k) => source[k]!,
          (k) => times[k]!,
        ),
      },
      meta: {
        thresholds,
        num_cuts: numCuts,
        num_gradual: numGradual,
        num_shots: starts.length,
        max_sampling_gap_frames: maxGap,
      },
      batchSize: config.batch_size,
      deviceUsed: 'cpu',
      notes: `${numCuts} cuts, ${numGradual} gradual, ${starts.length} shots over ${n} frames (localisation ≤ ${maxGap} source frames)`,
    };
  },
};

/** The C-, G- and S-sized arrays, from positions in the sampled sequence. */
function boundaryArrays(
  cuts: readonly number[],
  gradual: readonly (readonly [number, number])[],
  shotStarts: readonly number[],
  shotEnds: readonly number[],
  sourceAt: (k: number) => number = () => -1,
  timeAt: (k: number) => number = () => Number.NaN,
): Record<string, NdArray> {
  const indices = (positions: readonly number[]): NdArray => nd.int32(Int32Array.from(positions, sourceAt));
  const seconds = (positions: readonly number[]): NdArray => nd.float32(Float32Array.from(positions, timeAt));
  return {
    cut_frame_indices: indices(cuts),
    cut_times_sec: seconds(cuts),
    gradual_start_frame_indices: indices(gradual.map(([first]) => first)),
    gradual_end_frame_indices: indices(gradual.map(([, last]) => last)),
    shot_start_frame_indices: indices(shotStarts),
    shot_end_frame_indices: indices(shotEnds),
    shot_start_times_sec: seconds(shotStarts),
    shot_end_times_sec: seconds(shotEnds),
  };
}
