import { z } from 'zod';
import {
  ContractViolationError,
  DataProcessorError,
  nd,
  type Component,
  type ComponentResult,
  type DependencyView,
  type NdArray,
} from '../../../../../contracts/index.js';
import { DEFAULT_FRAME_BUDGETS } from '../../../../../segmenter/index.js';
import { FRAME_AXIS_ARRAYS, ownFrames } from '../../core/frames.js';
import { WorkerChannel } from '../../../../../workers/index.js';
import { DEFAULT_CLIP_LEVELS, faceFraming, type FrameQuality } from './metrics.js';
import type { QualityRequest } from './metrics.task.js';

const NAME = 'shot_quality';
const CUTS = 'cut_detection';
const FACES = 'core_face_landmarks';
const DEPTH = 'core_depth_midas';

const configSchema = z
  .object({
    /** Luma (0..255) at or below which a pixel counts as a crushed shadow. */
    shadow_clip_level: z.number().min(0).max(255).default(DEFAULT_CLIP_LEVELS.shadow),
    /** Luma (0..255) at or above which a pixel counts as a blown highlight. */
    highlight_clip_level: z.number().min(0).max(255).default(DEFAULT_CLIP_LEVELS.highlight),
    /** Frames read per batch from frames_dir (memory: batch × W × H × 3 bytes). */
    batch_size: z.number().int().min(1).max(1024).default(32),
  })
  .strict();
export type ShotQualityConfig = z.infer<typeof configSchema>;

/** The pixel measures, as array names (per frame; `shot_` + name per shot). */
const PIXEL_FIELDS = {
  sharpness: ['sharpness', 'variance of the 4-neighbour Laplacian of luma (0..255 units²)'],
  exposure: ['exposure', 'mean luma / 255'],
  clipped_shadows: ['clippedShadows', 'fraction of pixels with luma ≤ shadow_clip_level'],
  clipped_highlights: ['clippedHighlights', 'fraction of pixels with luma ≥ highlight_clip_level'],
  contrast: ['contrast', 'RMS contrast: standard deviation of luma / 255'],
  colourfulness: ['colourfulness', 'Hasler–Süsstrunk colourfulness (0..255 RGB)'],
  noise_sigma: ['noiseSigma', 'Immerkær noise standard deviation of luma (0..255 units)'],
} as const satisfies Record<string, readonly [keyof FrameQuality, string]>;
type PixelField = keyof typeof PIXEL_FIELDS;
const PIXEL_NAMES = Object.keys(PIXEL_FIELDS) as PixelField[];

const f32 = (shape: string[], description: string) => ({ dtype: 'float32' as const, shape, description });

/** Fields that come from each dependency (R-DEP-2: `dependency_empty` when it is empty or absent). */
const FACE_FIELDS = [
  'face_present',
  'face_area_fraction',
  'face_centre_x',
  'face_centre_y',
  'face_thirds_distance',
  'shot_face_frame_fraction',
  'shot_face_area_fraction',
  'shot_face_thirds_distance',
] as const;
const DEPTH_FIELDS = ['depth_mean', 'depth_std', 'depth_range', 'shot_depth_mean', 'shot_depth_std'] as const;
const SHOT_FIELDS = [
  'shot_index',
  'shot_start_times_sec',
  'shot_end_times_sec',
  'shot_frame_count',
  ...PIXEL_NAMES.map((n) => `shot_${n}`),
] as const;

const metaSchema = z
  .object({
    clip_levels: z.object({ shadow: z.number(), highlight: z.number() }),
    num_shots: z.number().int().nonnegative(),
    /** R-DEP-2: why a field is empty (`dependency_empty`), null when computed. */
    field_empty_reasons: z.record(z.string(), z.literal('dependency_empty').nullable()),
    /** Dependencies read (hard and optional) that finished in this run. */
    inputs_available: z.array(z.string()),
  })
  .loose();

/**
 * Checks that a provider's per-frame axis lies in the same union domain as this component's frames
 * (R-SEG-3): ascending union indices, one source index per row, and on every union frame both
 * analysed the same source frame. A provider from another sampling (another run, another policy)
 * fails here instead of being joined on the wrong frames.
 */
export function checkAligned(view: DependencyView, ownUnion: Int32Array, ownSource: Int32Array): Int32Array {
  const indices = view.frameIndices;
  const source = view.arrays.source_frame_indices;
  const times = view.arrays.times_sec;
  if (!indices || source?.dtype !== 'int32' || times?.dtype !== 'float32') {
    throw new ContractViolationError(
      `${NAME}: ${view.name} has no per-frame axis (frame_indices, source_frame_indices, times_sec)`,
    );
  }
  if (source.data.length !== indices.length || times.data.length !== indices.length) {
    throw new ContractViolationError(
      `${NAME}: ${view.name}'s frame_indices and source_frame_indices differ in length`,
    );
  }
  for (let r = 1; r < indices.length; r++) {
    if ((indices[r] ?? 0) <= (indices[r - 1] ?? 0) || (source.data[r] ?? 0) <= (source.data[r - 1] ?? 0)) {
      throw new ContractViolationError(
        `${NAME}: ${view.name}'s frame indices are not strictly ascending at row ${r}`,
      );
    }
  }
  const rows = view.rowsFor(ownUnion);
  rows.forEach((r, k) => {
    if (r >= 0 && source.data[r] !== ownSource[k]) {
      throw new ContractViolationError(
        `${NAME}: providers not aligned — union frame ${ownUnion[k]} is source frame ${ownSource[k]} here but ${source.data[r]} in ${view.name}`,
      );
    }
  });
  return rows;
}

/** Shot of each time: the last shot starting at or before it (−1 with no shots). */
function shotOf(times: ArrayLike<number>, starts: Float32Array): Int32Array {
  return Int32Array.from({ length: times.length }, (_, k) => {
    const t = (times[k] ?? 0) + 1e-4;
    let s = -1;
    for (let i = 0; i < starts.length && (starts[i] ?? Infinity) <= t; i++) s = i;
    return starts.length > 0 ? Math.max(0, s) : -1;
  });
}

/** Mean of `values` per shot over the entries whose shot is s and value finite (NaN when none). */
function perShotMean(values: ArrayLike<number>, shots: Int32Array, numShots: number): Float32Array {
  const sum = new Float64Array(numShots);
  const count = new Int32Array(numShots);
  for (let k = 0; k < shots.length; k++) {
    const s = shots[k] ?? -1;
    const v = values[k] ?? Number.NaN;
    if (s < 0 || !Number.isFinite(v)) continue;
    sum[s] = (sum[s] ?? 0) + v;
    count[s] = (count[s] ?? 0) + 1;
  }
  return Float32Array.from(sum, (v, s) => ((count[s] ?? 0) > 0 ? v / (count[s] ?? 1) : Number.NaN));
}

const float = (view: DependencyView, name: string): Float32Array => {
  const a = view.arrays[name];
  if (a?.dtype !== 'float32')
    throw new ContractViolationError(`${NAME}: ${view.name} has no float32 ${name}`);
  return a.data;
};

/** Face framing of the largest face of every provider row (NaN where the row has no face). */
function faceRows(view: DependencyView, width: number, height: number) {
  const n = view.frameIndices?.length ?? 0;
  const boxes = float(view, 'boxes');
  const count = view.arrays.face_count;
  if (count?.dtype !== 'int32') throw new ContractViolationError(`${NAME}: ${FACES} has no int32 face_count`);
  const slots = n > 0 ? boxes.length / (n * 4) : 0;
  const out = {
    present: new Uint8Array(n),
    area: new Float32Array(n).fill(Number.NaN),
    x: new Float32Array(n).fill(Number.NaN),
    y: new Float32Array(n).fill(Number.NaN),
    thirds: new Float32Array(n).fill(Number.NaN),
  };
  for (let r = 0; r < n; r++) {
    let best = -1;
    let bestArea = -1;
    for (let f = 0; f < Math.min(slots, count.data[r] ?? 0); f++) {
      const o = (r * slots + f) * 4;
      const area = ((boxes[o + 2] ?? 0) - (boxes[o] ?? 0)) * ((boxes[o + 3] ?? 0) - (boxes[o + 1] ?? 0));
      if (area > bestArea) [best, bestArea] = [f, area];
    }
    if (best < 0) continue;
    const o = (r * slots + best) * 4;
    const framing = faceFraming(boxes.subarray(o, o + 4), width, height);
    out.present[r] = 1;
    out.area[r] = framing.areaFraction;
    out.x[r] = framing.centreX;
    out.y[r] = framing.centreY;
    out.thirds[r] = framing.thirdsDistance;
  }
  return out;
}

const countTrue = (a: NdArray): number => (a.dtype === 'bool' ? a.data.reduce((x, v) => x + v, 0) : 0);

/** `values[rows[k]]` for each own frame k (NaN where rows[k] < 0). */
const gather = (values: ArrayLike<number>, rows: Int32Array): Float32Array =>
  Float32Array.from(rows, (r) => (r >= 0 ? (values[r] ?? Number.NaN) : Number.NaN));

/**
 * `shot_quality` (SPEC §4): per frame and per shot — sharpness, exposure and clipping, contrast,
 * colourfulness and noise from its own frames (metrics.ts); face framing from
 * `core_face_landmarks` and depth statistics from `core_depth_midas` (when in the run) on the
 * frames those providers analysed; shots from `cut_detection`. Per-frame provider fields are
 * filled where the provider analysed the same union frame (`face_analysed`, `depth_analysed`),
 * per-shot ones from every provider frame in the shot. Fails with CONTRACT_VIOLATION when a
 * provider's frame indices are not aligned with the union (see `checkAligned`).
 */
export const shotQuality: Component<ShotQualityConfig> = {
  name: NAME,
  kind: 'module',
  processor: 'visual',
  version: '0.1.0',
  dependsOn: [CUTS, FACES],
  optionalDependsOn: [DEPTH],
  budget: DEFAULT_FRAME_BUDGETS.shot_quality,
  // One unit is one frame: its RGB while the batch is held (~0.55 MB at 568×320) plus two float64
  // planes of luma/Laplacian (~2.9 MB) while it is measured. Pure CPU.
  resources: { memoryMbPerUnit: 4, devices: ['cpu'], minBatch: 1, maxBatch: 1024 },
  configSchema,
  schema: {
    file: 'shot_quality.npz',
    schemaVersion: '1.0',
    arrays: {
      ...FRAME_AXIS_ARRAYS,
      ...Object.fromEntries(PIXEL_NAMES.map((n) => [n, f32(['N'], PIXEL_FIELDS[n][1])])),
      shot_index: {
        dtype: 'int32',
        shape: ['N'],
        description: 'shot of each frame (cut_detection); −1 without shots',
      },
      face_analysed: {
        dtype: 'bool',
        shape: ['N'],
        description: 'core_face_landmarks analysed this union frame (the face_* values are its)',
      },
      face_present: {
        dtype: 'bool',
        shape: ['N'],
        description: 'at least one face on the frame (false where not analysed)',
      },
      face_area_fraction: f32(['N'], 'largest face: box area / frame area; NaN without a face'),
      face_centre_x: f32(['N'], 'largest face: box centre x / width'),
      face_centre_y: f32(['N'], 'largest face: box centre y / height'),
      face_thirds_distance: f32(
        ['N'],
        'largest face: distance of its centre to the nearest rule-of-thirds point (normalised)',
      ),
      depth_analysed: {
        dtype: 'bool',
        shape: ['N'],
        description: 'core_depth_midas analysed this union frame (the depth_* values are its)',
      },
      depth_mean: f32(['N'], 'mean relative inverse depth of the frame'),
      depth_std: f32(['N'], 'its standard deviation (depth spread)'),
      depth_range: f32(['N'], 'max − min of the frame’s depth'),
      shot_start_times_sec: { ...f32(['S'], 'shot start (cut_detection)'), unit: 'sec' },
      shot_end_times_sec: { ...f32(['S'], 'time of the shot’s last frame (cut_detection)'), unit: 'sec' },
      shot_frame_count: { dtype: 'int32', shape: ['S'], description: 'frames of this component in the shot' },
      ...Object.fromEntries(
        PIXEL_NAMES.map((n) => [`shot_${n}`, f32(['S'], `mean ${n} over the shot’s frames`)]),
      ),
      shot_face_frame_fraction: f32(['S'], 'fraction of core_face_landmarks frames in the shot with a face'),
      shot_face_area_fraction: f32(['S'], 'mean largest-face area fraction over the shot’s face frames'),
      shot_face_thirds_distance: f32(
        ['S'],
        'mean largest-face rule-of-thirds distance over the shot’s face frames',
      ),
      shot_depth_mean: f32(['S'], 'mean of depth_mean over the shot’s core_depth_midas frames'),
      shot_depth_std: f32(['S'], 'mean of depth_std over the shot’s core_depth_midas frames'),
    },
    meta: metaSchema,
  },
  knownSymbols: (ctx) => (ctx.frames ? { N: ctx.frames.frameIndices.length } : {}),

  async run(ctx): Promise<ComponentResult> {
    const frames = ownFrames(ctx, NAME);
    const c = ctx.config;
    const clip = { shadow: c.shadow_clip_level, highlight: c.highlight_clip_level };
    const n = frames.frameIndices.length;
    const union = Int32Array.from(frames.frameIndices);
    const source = Int32Array.from(frames.sourceFrameIndices);
    const reasons: Record<string, 'dependency_empty' | null> = {};
    const mark = (fields: readonly string[], empty: boolean) => {
      for (const f of fields) reasons[f] = empty ? 'dependency_empty' : null;
    };

    // Dependencies first: a misaligned or missing provider fails before any pixel work.
    const cuts = await ctx.inputs.read(CUTS);
    const faces = await ctx.inputs.read(FACES);
    const depth = ctx.inputs.available().includes(DEPTH) ? await ctx.inputs.read(DEPTH) : null;
    const faceRowsOfOwn = checkAligned(faces, union, source);
    const depthRowsOfOwn = depth ? checkAligned(depth, union, source) : new Int32Array(n).fill(-1);

    // Pixel measures of every own frame.
    const measured: Record<PixelField, Float32Array> = Object.fromEntries(
      PIXEL_NAMES.map((name) => [name, new Float32Array(n)]),
    ) as Record<PixelField, Float32Array>;
    // The per-pixel loops run in a worker thread, fed batch by batch while the next batch is read
    // (at most two batches in flight); the event loop only reads frames and collects results.
    let k = 0;
    ctx.progress(0, n);
    const worker = new WorkerChannel(new URL('./metrics.task.js', import.meta.url));
    try {
      const inFlight: Promise<void>[] = [];
      let done = 0;
      for await (const batch of frames.batches(c.batch_size)) {
        if (ctx.signal.aborted) throw new DataProcessorError('INTERNAL', `${NAME} aborted`);
        const first = k;
        const count = batch.unionIndices.length;
        k += count;
        const pixels = batch.pixels.slice();
        const request: QualityRequest = { pixels, count, width: batch.width, height: batch.height, clip };
        inFlight.push(
          worker.call<FrameQuality[]>('measure', request, [pixels.buffer]).then((qs) => {
            qs.forEach((q, i) => {
              for (const name of PIXEL_NAMES) measured[name][first + i] = q[PIXEL_FIELDS[name][0]];
            });
            done += count;
            ctx.progress(done, n);
          }),
        );
        if (inFlight.length >= 2) await inFlight.shift();
      }
      await Promise.all(inFlight);
    } finally {
      await worker.close();
    }
    if (k !== n)
      throw new ContractViolationError(`${NAME}: frames_dir yielded ${k} frames, frame_indices list ${n}`);

    // Shots (cut_detection's shot list, by time).
    const cutsEmpty = cuts.status === 'empty';
    const starts = cutsEmpty ? new Float32Array(0) : float(cuts, 'shot_start_times_sec');
    const ends = cutsEmpty ? new Float32Array(0) : float(cuts, 'shot_end_times_sec');
    const S = starts.length;
    const shotIndex = shotOf(frames.timestampsSec, starts);
    mark(SHOT_FIELDS, cutsEmpty);

    // Faces: per own frame where the provider analysed it, per shot over all its frames.
    const faceEmpty = faces.status === 'empty';
    const fr = faceRows(faces, frames.width, frames.height);
    const faceShots = shotOf(float(faces, 'times_sec'), starts);
    const faceFraction = perShotMean(Float32Array.from(fr.present), faceShots, S);
    mark(FACE_FIELDS, faceEmpty);
    const faceArrays = {
      face_analysed: nd.bool(Uint8Array.from(faceRowsOfOwn, (r) => (r >= 0 ? 1 : 0))),
      face_present: nd.bool(Uint8Array.from(faceRowsOfOwn, (r) => (r >= 0 ? (fr.present[r] ?? 0) : 0))),
      face_area_fraction: nd.float32(gather(fr.area, faceRowsOfOwn)),
      face_centre_x: nd.float32(gather(fr.x, faceRowsOfOwn)),
      face_centre_y: nd.float32(gather(fr.y, faceRowsOfOwn)),
      face_thirds_distance: nd.float32(gather(fr.thirds, faceRowsOfOwn)),
      shot_face_frame_fraction: nd.float32(faceEmpty ? new Float32Array(S).fill(Number.NaN) : faceFraction),
      shot_face_area_fraction: nd.float32(perShotMean(fr.area, faceShots, S)),
      shot_face_thirds_distance: nd.float32(perShotMean(fr.thirds, faceShots, S)),
    };

    // Depth (optional): the provider's per-frame statistics.
    const depthEmpty = !depth || depth.status === 'empty';
    mark(DEPTH_FIELDS, depthEmpty);
    let depthArrays: Record<string, NdArray>;
    if (depth && !depthEmpty) {
      const mean = float(depth, 'depth_mean');
      const std = float(depth, 'depth_std');
      const max = float(depth, 'depth_max');
      const min = float(depth, 'depth_min');
      const range = Float32Array.from(max, (v, r) => v - (min[r] ?? Number.NaN));
      const depthShots = shotOf(float(depth, 'times_sec'), starts);
      depthArrays = {
        depth_mean: nd.float32(gather(mean, depthRowsOfOwn)),
        depth_std: nd.float32(gather(std, depthRowsOfOwn)),
        depth_range: nd.float32(gather(range, depthRowsOfOwn)),
        shot_depth_mean: nd.float32(perShotMean(mean, depthShots, S)),
        shot_depth_std: nd.float32(perShotMean(std, depthShots, S)),
      };
    } else {
      const nan = (len: number) => nd.float32(new Float32Array(len).fill(Number.NaN));
      depthArrays = {
        depth_mean: nan(n),
        depth_std: nan(n),
        depth_range: nan(n),
        shot_depth_mean: nan(S),
        shot_depth_std: nan(S),
      };
    }

    const shotCounts = new Int32Array(S);
    for (const s of shotIndex) if (s >= 0) shotCounts[s] = (shotCounts[s] ?? 0) + 1;
    return {
      status: n === 0 ? 'empty' : 'ok',
      emptyReason: n === 0 ? 'too_few_frames' : null,
      arrays: {
        frame_indices: nd.int32(union),
        source_frame_indices: nd.int32(source),
        times_sec: nd.float32(Float32Array.from(frames.timestampsSec)),
        ...Object.fromEntries(PIXEL_NAMES.map((name) => [name, nd.float32(measured[name])])),
        shot_index: nd.int32(shotIndex),
        ...faceArrays,
        depth_analysed: nd.bool(Uint8Array.from(depthRowsOfOwn, (r) => (r >= 0 ? 1 : 0))),
        ...depthArrays,
        shot_start_times_sec: nd.float32(Float32Array.from(starts)),
        shot_end_times_sec: nd.float32(Float32Array.from(ends)),
        shot_frame_count: nd.int32(shotCounts),
        ...Object.fromEntries(
          PIXEL_NAMES.map((name) => [`shot_${name}`, nd.float32(perShotMean(measured[name], shotIndex, S))]),
        ),
      },
      meta: {
        clip_levels: clip,
        num_shots: S,
        field_empty_reasons: reasons,
        inputs_available: ctx.inputs.available(),
      },
      batchSize: c.batch_size,
      deviceUsed: 'cpu',
      notes: `${n} frames, ${S} shots; faces on ${countTrue(faceArrays.face_present)} frames; depth ${depthEmpty ? 'absent' : 'read'}`,
    };
  },
};
