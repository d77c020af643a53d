import { z } from 'zod';
import { DependencyError, nd, type Component, type ComponentResult } from '../../../../../contracts/index.js';
import { runInWorker } from '../../../../../workers/index.js';
import type { Detection } from './detect.js';

const configSchema = z
  .object({
    cut_threshold: z.number().min(0).max(1).default(0.3),
    local_ratio: z.number().min(1).default(2.5),
    local_window: z.number().int().min(1).max(50).default(8),
    min_shot_sec: z.number().min(0).default(0.4),
    gradual_threshold: z.number().min(0).max(1).default(0.05),
    gradual_min_frames: z.number().int().min(2).default(4),
    batch_size: z.number().int().min(1).max(1024).default(64),
  })
  .strict();
type CutConfig = z.infer<typeof configSchema>;

const NAME = 'cut_detection';

/**
 * `cut_detection`: per-transition scores, hard cuts, gradual transitions and the shot list over
 * the component's own frames. Indices in the outputs are SOURCE-domain (i-th presented frame);
 * precision is the sampling step: a cut between sampled frames a < b is reported at b.
 */
export const cutDetection: Component<CutConfig> = {
  name: NAME,
  kind: 'module',
  processor: 'visual',
  version: '0.1.0',
  dependsOn: [],
  budget: { min: 400, targetPerMinute: 900, max: 1500 },
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
    meta: z
      .object({
        num_cuts: z.number().int().nonnegative(),
        num_gradual: z.number().int().nonnegative(),
        num_shots: z.number().int().nonnegative(),
        params: z.record(z.string(), z.unknown()),
      })
      .loose(),
  },
  knownSymbols: (ctx) => ({ N: ctx.frames?.frameIndices.length ?? 0 }),
  async run(ctx): Promise<ComponentResult> {
    const frames = ctx.frames;
    if (!frames)
      throw new DependencyError(
        'DEPENDENCY_MISSING',
        `${NAME} needs its frame_indices in frames_dir; it never samples frames itself.`,
      );
    const c = ctx.config;
    const params = {
      cutThreshold: c.cut_threshold,
      localRatio: c.local_ratio,
      localWindow: c.local_window,
      minShotSec: c.min_shot_sec,
      gradualThreshold: c.gradual_threshold,
      gradualMinFrames: c.gradual_min_frames,
    };
    const n = frames.frameIndices.length;
    const source = frames.sourceFrameIndices;
    const times = frames.timestampsSec;
    const base = {
      frame_indices: nd.int32(frames.frameIndices),
      source_frame_indices: nd.int32(source),
      times_sec: nd.float32(Float32Array.from(times)),
    };
    const meta = { params: c };
    if (n < 2) {
      return {
        status: 'empty',
        emptyReason: 'too_few_frames',
        arrays: {
          ...base,
          transition_scores: nd.float32(new Float32Array(n).fill(Number.NaN)),
          cut_frame_indices: nd.int32([]),
          cut_times_sec: nd.float32([]),
          gradual_start_frame_indices: nd.int32([]),
          gradual_end_frame_indices: nd.int32([]),
          shot_start_frame_indices: nd.int32([]),
          shot_end_frame_indices: nd.int32([]),
          shot_start_times_sec: nd.float32([]),
          shot_end_times_sec: nd.float32([]),
        },
        meta: { ...meta, num_cuts: 0, num_gradual: 0, num_shots: 0 },
      };
    }
    const detection = await runInWorker<Detection>(
      new URL('./cut_detection.task.js', import.meta.url),
      { runDir: ctx.runDir, component: NAME, params, batchSize: c.batch_size },
      { onProgress: ctx.progress, signal: ctx.signal },
    );
    // Shots start at 0, after each hard cut, and after each gradual transition ends.
    const starts = [
      ...new Set([0, ...detection.cutPositions, ...detection.gradual.map(([, end]) => end)]),
    ].sort((a, b) => a - b);
    const ends = starts.map((s, i) => (i + 1 < starts.length ? (starts[i + 1] as number) - 1 : n - 1));
    const at = (positions: number[]): Int32Array => Int32Array.from(positions, (p) => source[p] as number);
    const timeAt = (positions: number[]): Float32Array =>
      Float32Array.from(positions, (p) => times[p] as number);
    return {
      status: 'ok',
      emptyReason: null,
      arrays: {
        ...base,
        transition_scores: nd.float32(detection.scores),
        cut_frame_indices: nd.int32(at(detection.cutPositions)),
        cut_times_sec: nd.float32(timeAt(detection.cutPositions)),
        gradual_start_frame_indices: nd.int32(at(detection.gradual.map(([s]) => s))),
        gradual_end_frame_indices: nd.int32(at(detection.gradual.map(([, e]) => e))),
        shot_start_frame_indices: nd.int32(at(starts)),
        shot_end_frame_indices: nd.int32(at(ends)),
        shot_start_times_sec: nd.float32(timeAt(starts)),
        shot_end_times_sec: nd.float32(timeAt(ends)),
      },
      meta: {
        ...meta,
        num_cuts: detection.cutPositions.length,
        num_gradual: detection.gradual.length,
        num_shots: starts.length,
      },
      batchSize: c.batch_size,
      notes: `${detection.cutPositions.length} cuts, ${detection.gradual.length} gradual, ${starts.length} shots over ${n} frames`,
    };
  },
};
