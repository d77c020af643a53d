import { z } from 'zod';
import {
  ContractViolationError,
  DataProcessorError,
  DependencyError,
  nd,
  type Component,
  type ComponentResult,
  type FrameAccess,
  type ModelUsed,
  type NdArray,
} from '../../../../../contracts/index.js';
import type { ModelAccess } from '../../../../../models/index.js';
import { DEFAULT_FRAME_BUDGETS } from '../../../../../segmenter/index.js';
import { runInWorker } from '../../../../../workers/index.js';
import { CLIP_MODEL, clipInput, l2NormaliseRows } from '../../core/core_clip/index.js';
import { deviceSchema, modelAccess } from '../../core/frames.js';
import {
  DEFAULT_DETECT_PARAMS,
  shotStartPositions,
  thumbsFromRgb,
  thumbsFromSignal,
  type DetectParams,
  type GradualTransition,
  type HardCut,
  type Thumbs,
} from './detect.js';
import type { DetectTaskInput, DetectTaskOutput } from './detect-task.js';

const NAME = 'cut_detection';
const D = DEFAULT_DETECT_PARAMS;

/** `cut_detection` config: the detector's parameters (see `DetectParams` in detect.ts), CLIP mode, read batch. */
const configSchema = z
  .object({
    cut_floor: z.number().min(0).max(1).default(D.cutFloor),
    local_ratio: z.number().min(1).default(D.localRatio),
    local_window: z.number().int().min(1).max(250).default(D.localWindow),
    peak_ratio: z.number().min(1).default(D.peakRatio),
    flash_frames: z.number().int().min(0).max(30).default(D.flashFrames),
    flash_similarity: z.number().min(0).max(1).default(D.flashSimilarity),
    /** In source frames, whatever the positions analysed. */
    min_shot_frames: z.number().int().min(1).default(D.minShotFrames),
    gradual_half_window: z.number().int().min(2).max(250).default(D.gradualHalfWindow),
    gradual_stride: z.number().int().min(1).max(50).default(D.gradualStride),
    gradual_min_change: z.number().min(0).max(1).default(D.gradualMinChange),
    gradual_max_residual: z.number().min(0).default(D.gradualMaxResidual),
    gradual_max_backtrack: z.number().min(0).default(D.gradualMaxBacktrack),
    gradual_min_frames: z.number().int().min(1).default(D.gradualMinFrames),
    gradual_ratio: z.number().min(0).default(D.gradualRatio),
    /**
     * Confirm or reject ambiguous hard cuts (local ratio within a factor `clip_band` of
     * `local_ratio`, either side) by the CLIP embedding distance of the analysed frames on both sides.
     */
    use_clip: z.boolean().default(false),
    clip_model: z.string().min(1).default(CLIP_MODEL),
    device: deviceSchema,
    clip_band: z.number().min(1).default(2),
    /** Cosine distance (1 − cos) between the two sides from which an ambiguous cut is a cut. */
    clip_min_distance: z.number().min(0).max(2).default(0.1),
    /** Frames read per batch from frames_dir (memory: batch × W × H × 3 bytes). */
    batch_size: z.number().int().min(1).max(1024).default(64),
  })
  .strict();
type CutDetectionConfig = z.infer<typeof configSchema>;

/** Compiles the component config into the detector's parameters. */
function detectParams(c: CutDetectionConfig): DetectParams {
  return {
    cutFloor: c.cut_floor,
    localRatio: c.local_ratio,
    localWindow: c.local_window,
    peakRatio: c.peak_ratio,
    flashFrames: c.flash_frames,
    flashSimilarity: c.flash_similarity,
    minShotFrames: c.min_shot_frames,
    gradualHalfWindow: c.gradual_half_window,
    gradualStride: c.gradual_stride,
    gradualMinChange: c.gradual_min_change,
    gradualMaxResidual: c.gradual_max_residual,
    gradualMaxBacktrack: c.gradual_max_backtrack,
    gradualMinFrames: c.gradual_min_frames,
    gradualRatio: c.gradual_ratio,
  };
}

const metaSchema = z
  .object({
    /** What boundaries were found on: the Segmenter's every-frame signal, or the union frames. */
    signal: z.enum(['frame_signal', 'union_frames']),
    /** Worst-case localisation error of a hard cut in source frames (0 with the every-frame signal). */
    localisation_frames: z.number().int().nonnegative(),
    /** The detector parameters this artifact was made with (config names). */
    thresholds: z.record(z.string(), z.union([z.number(), z.boolean(), z.string()])),
    num_cuts: z.number().int().nonnegative(),
    num_gradual: z.number().int().nonnegative(),
    num_shots: z.number().int().nonnegative(),
    /** CLIP arbitration (use_clip): ambiguous candidates checked, confirmed as cuts, rejected; null when off. */
    clip: z
      .object({
        model: z.string(),
        ambiguous: z.number().int().nonnegative(),
        confirmed: z.number().int().nonnegative(),
        rejected: z.number().int().nonnegative(),
      })
      .nullable(),
  })
  .loose();

export const GRADUAL_KINDS = ['fade_in', 'fade_out', 'dissolve', 'wipe'] as const;

/**
 * `cut_detection` (SPEC §4): hard cuts exact to the source frame, gradual transitions (fade
 * in/out, dissolve, wipe) with their first and last frames, and the shot list, found on the
 * Segmenter's every-frame signal (`frames_dir/frame_signal.npz`); without one (a seeking decode)
 * on the component's union frames, then a cut is placed on the first analysed frame after it.
 * Adaptive (detect.ts): a score is judged against the rolling median around it plus a global
 * floor, flashes and strobe are recognised by the picture coming back, pans by a shifted picture.
 * Boundary arrays name their domain (R-ST-2): `source_…` are source frame indices,
 * `frame_indices` union ones. With `use_clip`, ambiguous cuts are settled by CLIP embeddings of
 * the union frames on both sides.
 */
export const cutDetection: Component<CutDetectionConfig> = {
  name: NAME,
  kind: 'module',
  processor: 'visual',
  version: '0.2.0',
  dependsOn: [],
  budget: DEFAULT_FRAME_BUDGETS.cut_detection,
  // Without the frame signal one unit is one frame: ~0.55 MB of RGB at 568×320 while its batch is
  // held. With it, ~3.5 KB of float thumbnails per source frame. CLIP: see core_clip.
  resources: { memoryMbPerUnit: 1, devices: ['cpu'], minBatch: 1, maxBatch: 1024 },
  configSchema,
  models: (config) => (config.use_clip ? [{ model: config.clip_model, device: config.device }] : []),
  schema: {
    file: 'cut_detection.npz',
    schemaVersion: '2.0',
    arrays: {
      frame_indices: {
        dtype: 'int32',
        shape: ['N'],
        description: 'union-domain indices of the component’s own frames',
      },
      source_frame_indices: {
        dtype: 'int32',
        shape: ['N'],
        description: 'source-domain index of each of those frames',
      },
      times_sec: {
        dtype: 'float32',
        shape: ['N'],
        unit: 'sec',
        description: 'presentation time of each of those frames',
      },
      transition_scores: {
        dtype: 'float32',
        shape: ['N'],
        description: 'largest change score since the previous own frame, in [0, 1]; NaN for the first',
      },
      source_scores: {
        dtype: 'float32',
        shape: ['F'],
        description:
          'change score of every source frame from the one before (NaN for frame 0); empty without the frame signal',
      },
      source_cut_frame_indices: {
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
      cut_scores: { dtype: 'float32', shape: ['C'], description: 'change score of each cut' },
      cut_clip_distances: {
        dtype: 'float32',
        shape: ['C'],
        description: 'CLIP cosine distance across an ambiguous cut (use_clip); NaN when not checked',
      },
      source_gradual_start_frame_indices: {
        dtype: 'int32',
        shape: ['G'],
        description: 'source index of the first mixed frame of each gradual transition',
      },
      source_gradual_end_frame_indices: {
        dtype: 'int32',
        shape: ['G'],
        description: 'source index of its first frame of the incoming picture alone',
      },
      gradual_start_times_sec: {
        dtype: 'float32',
        shape: ['G'],
        unit: 'sec',
        description: 'time of the start frame',
      },
      gradual_end_times_sec: {
        dtype: 'float32',
        shape: ['G'],
        unit: 'sec',
        description: 'time of the end frame',
      },
      gradual_kinds: {
        dtype: 'unicode',
        shape: ['G'],
        description: 'fade_in | fade_out | dissolve | wipe',
      },
      source_shot_start_frame_indices: {
        dtype: 'int32',
        shape: ['S'],
        description: 'source index of each shot’s first frame',
      },
      source_shot_end_frame_indices: {
        dtype: 'int32',
        shape: ['S'],
        description: 'source index of each shot’s last frame (inclusive)',
      },
      shot_start_times_sec: {
        dtype: 'float32',
        shape: ['S'],
        unit: 'sec',
        description: 'time of the first frame',
      },
      shot_end_times_sec: {
        dtype: 'float32',
        shape: ['S'],
        unit: 'sec',
        description: 'time of the last frame',
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
    const { batch_size: _batch, device: _device, ...thresholds } = config;
    const n = frames.frameIndices.length;
    const own = {
      frame_indices: nd.int32(Int32Array.from(frames.frameIndices)),
      source_frame_indices: nd.int32(Int32Array.from(frames.sourceFrameIndices)),
      times_sec: nd.float32(Float32Array.from(frames.timestampsSec)),
    };

    // Positions: every source frame (the signal) or the component's own frames.
    const signal = (await frames.frameSignal?.()) ?? null;
    let thumbs: Thumbs;
    let positionSource: Int32Array;
    let positionTimes: Float64Array;
    if (signal) {
      thumbs = thumbsFromSignal(signal);
      positionSource = Int32Array.from({ length: signal.frames }, (_, i) => i);
      positionTimes = signal.timestampsSec;
    } else {
      thumbs = await unionThumbs(frames, config.batch_size, ctx.signal, ctx.progress);
      positionSource = frames.sourceFrameIndices;
      positionTimes = frames.timestampsSec;
    }
    let localisation = 0;
    if (!signal)
      for (let k = 1; k < n; k += 1)
        localisation = Math.max(localisation, positionSource[k]! - positionSource[k - 1]! - 1);
    const count = thumbs.count;
    const clipMeta = config.use_clip
      ? { model: config.clip_model, ambiguous: 0, confirmed: 0, rejected: 0 }
      : null;
    const baseMeta = {
      signal: signal ? 'frame_signal' : 'union_frames',
      localisation_frames: localisation,
      thresholds,
    };

    if (count < 2) {
      return {
        status: 'empty',
        emptyReason: 'too_few_frames',
        arrays: {
          ...own,
          transition_scores: nd.float32(new Float32Array(n).fill(Number.NaN)),
          source_scores: nd.float32(signal ? new Float32Array(count).fill(Number.NaN) : new Float32Array(0)),
          ...boundaryArrays([], [], new Float32Array(0), [], [], positionSource, positionTimes, count),
        },
        meta: { ...baseMeta, num_cuts: 0, num_gradual: 0, num_shots: 0, clip: clipMeta },
        notes: `${count} frame(s): a transition needs two`,
      };
    }

    const input: DetectTaskInput = {
      thumbs,
      sourceFrameIndices: positionSource,
      params,
      candidateBand: config.use_clip ? config.clip_band : 1,
    };
    const detection = await runInWorker<DetectTaskOutput>(
      new URL('./detect-task.js', import.meta.url),
      input,
      {
        signal: ctx.signal,
      },
    );

    // Sure cuts stand; with use_clip the ambiguous ones are settled by CLIP.
    const sureRatio = config.use_clip ? params.localRatio * config.clip_band : params.localRatio;
    const cuts: { cut: HardCut; clipDistance: number }[] = [];
    const ambiguous = detection.candidates.filter((c) => c.ratio < sureRatio);
    let modelsUsed: ModelUsed[] | undefined;
    let distances = new Map<number, number>();
    if (config.use_clip) {
      const models = modelAccess(ctx, NAME);
      distances = await clipDistances(
        models,
        config,
        frames,
        ambiguous,
        detection.candidates,
        positionSource,
      );
      modelsUsed = models.used();
    }
    for (const cut of detection.candidates) {
      const distance = distances.get(cut.position) ?? Number.NaN;
      let keep = cut.ratio >= params.localRatio;
      if (config.use_clip && cut.ratio < sureRatio) {
        if (!Number.isNaN(distance)) keep = distance >= config.clip_min_distance;
        if (clipMeta) {
          clipMeta.ambiguous += 1;
          if (!Number.isNaN(distance)) {
            if (keep) clipMeta.confirmed += 1;
            else clipMeta.rejected += 1;
          }
        }
      }
      if (keep) cuts.push({ cut, clipDistance: distance });
    }
    const cutPositions = cuts.map((c) => c.cut.position);
    const gradual = detection.gradual.filter((g) => !cutPositions.some((c) => c > g.start && c <= g.end));
    const starts = shotStartPositions(
      positionSource,
      cutPositions,
      gradual.map((g) => g.end),
      params.minShotFrames,
    );

    // Per own frame: the largest score since the previous own frame (a cut between two of them
    // shows at the later one).
    const transition = new Float32Array(n).fill(Number.NaN);
    if (signal) {
      for (let k = 1; k < n; k += 1) {
        let max = 0;
        for (let s = frames.sourceFrameIndices[k - 1]! + 1; s <= frames.sourceFrameIndices[k]!; s += 1)
          max = Math.max(max, detection.scores[s]!);
        transition[k] = max;
      }
    } else transition.set(detection.scores);

    return {
      status: 'ok',
      emptyReason: null,
      arrays: {
        ...own,
        transition_scores: nd.float32(transition),
        source_scores: nd.float32(signal ? detection.scores : new Float32Array(0)),
        ...boundaryArrays(
          cuts.map((c) => c.cut),
          gradual,
          Float32Array.from(cuts, (c) => c.clipDistance),
          starts,
          starts.map((_, i) => (i + 1 < starts.length ? starts[i + 1]! - 1 : count - 1)),
          positionSource,
          positionTimes,
          count,
        ),
      },
      meta: {
        ...baseMeta,
        num_cuts: cuts.length,
        num_gradual: gradual.length,
        num_shots: starts.length,
        clip: clipMeta,
      },
      batchSize: config.batch_size,
      deviceUsed: 'cpu',
      ...(modelsUsed ? { modelsUsed } : {}),
      notes: `${cuts.length} cuts, ${gradual.length} gradual, ${starts.length} shots over ${count} ${signal ? 'source frames (every-frame signal)' : `own frames (localisation ≤ ${localisation} frames)`}`,
    };
  },
};

/** Thumbnails of the component's own frames (no frame signal), batch by batch. */
async function unionThumbs(
  frames: FrameAccess,
  batchSize: number,
  signal: AbortSignal,
  progress: (done: number, total: number) => void,
): Promise<Thumbs> {
  const n = frames.frameIndices.length;
  const parts: Thumbs[] = [];
  let done = 0;
  progress(0, n);
  for await (const batch of frames.batches(batchSize)) {
    if (signal.aborted) throw new DataProcessorError('INTERNAL', `${NAME} aborted`);
    if (batch.width !== frames.width || batch.height !== frames.height) {
      throw new ContractViolationError(
        `${NAME}: a frame batch is ${batch.width}x${batch.height}, frames_dir says ${frames.width}x${frames.height}`,
      );
    }
    // ~5 ms of pixel work per 64 frames at 320 p; reading the next batch yields the event loop.
    parts.push(thumbsFromRgb(batch.pixels, batch.width, batch.height, batch.unionIndices.length));
    done += batch.unionIndices.length;
    progress(done, n);
  }
  if (done !== n) {
    throw new ContractViolationError(
      `${NAME}: frames_dir yielded ${done} frames, its frame_indices list ${n}`,
    );
  }
  const first = parts[0] ?? thumbsFromRgb(new Uint8Array(0), 2, 2, 0);
  const data = new Float32Array(n * first.dim);
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return { count: n, dim: first.dim, lumaCells: first.lumaCells, data };
}

/**
 * CLIP cosine distance across each ambiguous cut: between the last own frame before it and the
 * first own frame from it on, both inside the neighbouring shots (not beyond the next candidate);
 * a cut with no own frame on a side is not checked (absent from the map).
 */
async function clipDistances(
  models: ModelAccess,
  config: CutDetectionConfig,
  frames: FrameAccess,
  ambiguous: readonly HardCut[],
  candidates: readonly HardCut[],
  positionSource: Int32Array,
): Promise<Map<number, number>> {
  const source = frames.sourceFrameIndices;
  const boundaries = candidates.map((c) => positionSource[c.position]!);
  const pairs = new Map<number, [number, number]>();
  for (const cut of ambiguous) {
    const at = positionSource[cut.position]!;
    const previous = Math.max(-1, ...boundaries.filter((b) => b < at));
    const next = Math.min(Number.POSITIVE_INFINITY, ...boundaries.filter((b) => b > at));
    let before = -1;
    let after = -1;
    for (let k = 0; k < source.length; k += 1) {
      if (source[k]! < at && source[k]! >= previous) before = k;
      if (source[k]! >= at && source[k]! < next && after < 0) after = k;
    }
    if (before >= 0 && after >= 0) pairs.set(cut.position, [before, after]);
  }
  const distances = new Map<number, number>();
  if (pairs.size === 0) return distances;
  const wanted = [...new Set([...pairs.values()].flat())].sort((a, b) => a - b);
  const model = await models.load(config.clip_model, { device: config.device });
  const input = model.card.inputs[0];
  const output = model.card.outputs[0];
  const d = output?.shape[1];
  if (!input || !output || typeof d !== 'number')
    throw new ContractViolationError(`${model.card.name} has no [N, D] embedding output`);
  const [h, w] = model.card.preprocessing.size ?? [224, 224];
  // Gather the wanted frames' pixels while reading the component's frames in order.
  const frameBytes = frames.width * frames.height * 3;
  const pixels = new Uint8Array(wanted.length * frameBytes);
  const slot = new Map(wanted.map((k, i) => [k, i]));
  let k = 0;
  for await (const batch of frames.batches(config.batch_size)) {
    for (let i = 0; i < batch.unionIndices.length; i += 1, k += 1) {
      const s = slot.get(k);
      if (s !== undefined)
        pixels.set(batch.pixels.subarray(i * frameBytes, (i + 1) * frameBytes), s * frameBytes);
    }
  }
  const out = await model.infer({
    [input.name]: {
      dtype: 'float32',
      dims: [wanted.length, 3, h, w],
      data: clipInput(model, pixels, frames.width, frames.height, wanted.length),
    },
  });
  const t = out[output.name];
  if (!t || !(t.data instanceof Float32Array) || t.data.length !== wanted.length * d)
    throw new ContractViolationError(
      `${model.card.name} returned no [${wanted.length}, ${d}] ${output.name}`,
    );
  const embeddings = l2NormaliseRows(Float32Array.from(t.data), d);
  for (const [position, [before, after]] of pairs) {
    const a = slot.get(before)! * d;
    const b = slot.get(after)! * d;
    let dot = 0;
    for (let j = 0; j < d; j += 1) dot += embeddings[a + j]! * embeddings[b + j]!;
    distances.set(position, 1 - dot);
  }
  return distances;
}

/** The C-, G- and S-sized arrays, from positions (mapped to source frames and their times). */
function boundaryArrays(
  cuts: readonly HardCut[],
  gradual: readonly GradualTransition[],
  clipDistances: Float32Array,
  shotStarts: readonly number[],
  shotEnds: readonly number[],
  positionSource: ArrayLike<number>,
  positionTimes: ArrayLike<number>,
  count: number,
): Record<string, NdArray> {
  const check = (k: number): number => {
    if (k < 0 || k >= count)
      throw new ContractViolationError(`${NAME}: position ${k} outside 0..${count - 1}`);
    return k;
  };
  const indices = (positions: readonly number[]): NdArray =>
    nd.int32(Int32Array.from(positions, (k) => positionSource[check(k)]!));
  const seconds = (positions: readonly number[]): NdArray =>
    nd.float32(Float32Array.from(positions, (k) => positionTimes[check(k)]!));
  const cutAt = cuts.map((c) => c.position);
  return {
    source_cut_frame_indices: indices(cutAt),
    cut_times_sec: seconds(cutAt),
    cut_scores: nd.float32(Float32Array.from(cuts, (c) => c.score)),
    cut_clip_distances: nd.float32(clipDistances),
    source_gradual_start_frame_indices: indices(gradual.map((g) => g.start)),
    source_gradual_end_frame_indices: indices(gradual.map((g) => g.end)),
    gradual_start_times_sec: seconds(gradual.map((g) => g.start)),
    gradual_end_times_sec: seconds(gradual.map((g) => g.end)),
    gradual_kinds: nd.unicode(gradual.map((g) => g.kind)),
    source_shot_start_frame_indices: indices(shotStarts),
    source_shot_end_frame_indices: indices(shotEnds),
    shot_start_times_sec: seconds(shotStarts),
    shot_end_times_sec: seconds(shotEnds),
  };
}
