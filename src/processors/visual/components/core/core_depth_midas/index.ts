import { z } from 'zod';
import {
  ContractViolationError,
  nd,
  type Component,
  type ComponentResult,
} from '../../../../../contracts/index.js';
import { DEFAULT_FRAME_BUDGETS } from '../../../../../segmenter/index.js';
import { FRAME_AXIS_ARRAYS, deviceSchema, modelAccess, ownFrames, runOverFrames } from '../frames.js';
import { meanStd, sampleRect } from '../image-ops.js';

const NAME = 'core_depth_midas';
/** Registry model: Depth-Anything-V2-small (the MiDaS-family relative depth the SPEC names); not shipped. */
export const DEPTH_MODEL = 'depth-anything-v2-small';
/** The model's input sides must be multiples of its ViT patch. */
const PATCH = 14;

const configSchema = z
  .object({
    model: z.string().min(1).default(DEPTH_MODEL),
    /** Shorter side of the model input (rounded to a multiple of 14; the card's 518 by default). */
    input_short_side: z.number().int().min(PATCH).max(1036).default(518),
    /** Height of the stored (area-averaged) depth maps; the width keeps the frame's aspect. */
    map_height: z.number().int().min(4).max(256).default(64),
    device: deviceSchema,
  })
  .strict();
export type DepthConfig = z.infer<typeof configSchema>;

const metaSchema = z
  .object({
    model: z.string(),
    input_size: z.tuple([z.number().int(), z.number().int()]),
    map_size: z.tuple([z.number().int(), z.number().int()]),
    depth_kind: z.literal('relative_inverse_depth'),
  })
  .loose();

// One unit = one frame: the 518×924 float32 input (5.7 MB) + ViT-S activations (~200 MB on CPU).
const RESOURCES = { memoryMbPerUnit: 256, devices: ['cpu', 'cuda'] as const, minBatch: 1, maxBatch: 8 };

const roundTo = (v: number, m: number): number => Math.max(m, Math.round(v / m) * m);

/** Model input [h, w] for a frame: shorter side `short`, aspect kept, both multiples of 14. */
export function depthInputSize(width: number, height: number, short: number): [number, number] {
  const s = roundTo(short, PATCH);
  return width >= height
    ? [s, roundTo((s * width) / height, PATCH)]
    : [roundTo((s * height) / width, PATCH), s];
}

/** Area average of an [h, w] map into [mh, mw] (each output cell the mean of the input cells it covers, fractionally). */
export function areaDownsample(
  src: Float32Array,
  h: number,
  w: number,
  mh: number,
  mw: number,
): Float32Array {
  const out = new Float32Array(mh * mw);
  const fy = h / mh;
  const fx = w / mw;
  for (let oy = 0; oy < mh; oy++) {
    const y0 = oy * fy;
    const y1 = y0 + fy;
    for (let ox = 0; ox < mw; ox++) {
      const x0 = ox * fx;
      const x1 = x0 + fx;
      let sum = 0;
      let area = 0;
      for (let y = Math.floor(y0); y < Math.min(h, Math.ceil(y1)); y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        for (let x = Math.floor(x0); x < Math.min(w, Math.ceil(x1)); x++) {
          const wgt = wy * (Math.min(x + 1, x1) - Math.max(x, x0));
          sum += wgt * (src[y * w + x] ?? 0);
          area += wgt;
        }
      }
      out[oy * mw + ox] = area > 0 ? sum / area : Number.NaN;
    }
  }
  return out;
}

/** Per-frame statistics of a full-resolution depth map. */
function stats(map: Float32Array): [number, number, number, number, number] {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of map) {
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = sum / map.length;
  let sq = 0;
  for (const v of map) sq += (v - mean) ** 2;
  const sorted = Float32Array.from(map).sort();
  const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  return [mean, Math.sqrt(sq / map.length), min, max, median];
}

/**
 * `core_depth_midas` (SPEC §4): monocular relative depth per frame through the model system
 * (Depth-Anything-V2-small; not shipped: `models install` it). Stored as float32 maps
 * area-averaged to `map_height` rows (float16 is not an artifact dtype here, and at 64×114 per
 * frame float32 costs ~29 KB/frame) plus per-frame statistics of the full-resolution output.
 */
export const coreDepthMidas: Component<DepthConfig> = {
  name: NAME,
  kind: 'core',
  processor: 'visual',
  version: '0.1.0',
  dependsOn: [],
  budget: DEFAULT_FRAME_BUDGETS.core_depth_midas,
  resources: RESOURCES,
  configSchema,
  models: (config) => [{ model: config.model, device: config.device }],
  schema: {
    file: 'depth.npz',
    schemaVersion: '1.0',
    arrays: {
      ...FRAME_AXIS_ARRAYS,
      depth_maps: {
        dtype: 'float32',
        shape: ['N', 'H', 'W'],
        description: 'relative inverse depth (larger = nearer), area-averaged to H × W (aspect of the frame)',
      },
      depth_mean: { dtype: 'float32', shape: ['N'], description: 'mean of the full-resolution map' },
      depth_std: {
        dtype: 'float32',
        shape: ['N'],
        description: 'standard deviation of the full-resolution map',
      },
      depth_min: { dtype: 'float32', shape: ['N'], description: 'minimum of the full-resolution map' },
      depth_max: { dtype: 'float32', shape: ['N'], description: 'maximum of the full-resolution map' },
      depth_median: { dtype: 'float32', shape: ['N'], description: 'median of the full-resolution map' },
    },
    meta: metaSchema,
  },
  knownSymbols: (ctx) => (ctx.frames ? { N: ctx.frames.frameIndices.length } : {}),

  async run(ctx): Promise<ComponentResult> {
    const frames = ownFrames(ctx, NAME);
    const models = modelAccess(ctx, NAME);
    const c = ctx.config;
    const model = await models.load(c.model, { device: c.device });
    const input = model.card.inputs[0];
    const output = model.card.outputs[0];
    if (!input || !output) throw new ContractViolationError(`${model.card.name} has no signature`);
    const pre = model.card.preprocessing;
    const norm = meanStd(pre.mean ?? [0, 0, 0], pre.std ?? [1, 1, 1]);
    const [ih, iw] = depthInputSize(frames.width, frames.height, c.input_short_side);
    const mh = c.map_height;
    const mw = Math.max(1, Math.round((mh * frames.width) / frames.height));
    const { slots, batchSize } = await runOverFrames(
      ctx,
      frames,
      models,
      RESOURCES,
      async (pixels, count, fw, fh) => {
        const frameBytes = fw * fh * 3;
        const data = new Float32Array(count * 3 * ih * iw);
        for (let k = 0; k < count; k++) {
          sampleRect(
            pixels.subarray(k * frameBytes, (k + 1) * frameBytes),
            fw,
            fh,
            { x0: 0, y0: 0, x1: fw, y1: fh },
            {
              dstW: iw,
              dstH: ih,
              norm,
              layout: 'nchw',
              out: data,
              offset: k * 3 * ih * iw,
            },
          );
        }
        const out = (
          await model.infer({ [input.name]: { dtype: 'float32', dims: [count, 3, ih, iw], data } })
        )[output.name];
        if (!out || !(out.data instanceof Float32Array) || out.dims.length !== 3 || out.dims[0] !== count) {
          throw new ContractViolationError(`${model.card.name} returned no [${count}, H, W] ${output.name}`);
        }
        const [, oh = 0, ow = 0] = out.dims;
        const plane = oh * ow;
        const all = out.data;
        return Array.from({ length: count }, (_, k) => {
          const map = all.subarray(k * plane, (k + 1) * plane);
          return { map: areaDownsample(map, oh, ow, mh, mw), stats: stats(map) };
        });
      },
    );
    const n = frames.frameIndices.length;
    const maps = new Float32Array(n * mh * mw);
    const s = Array.from({ length: 5 }, () => new Float32Array(n));
    slots.forEach(({ part, index }, k) => {
      const r = part[index];
      if (!r) return;
      maps.set(r.map, k * mh * mw);
      r.stats.forEach((v, i) => ((s[i] as Float32Array)[k] = v));
    });
    const [mean, std, min, max, median] = s as [
      Float32Array,
      Float32Array,
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    return {
      status: n === 0 ? 'empty' : 'ok',
      emptyReason: n === 0 ? 'too_few_frames' : null,
      arrays: {
        frame_indices: nd.int32(Int32Array.from(frames.frameIndices)),
        source_frame_indices: nd.int32(Int32Array.from(frames.sourceFrameIndices)),
        times_sec: nd.float32(Float32Array.from(frames.timestampsSec)),
        depth_maps: nd.float32(maps, [n, mh, mw]),
        depth_mean: nd.float32(mean),
        depth_std: nd.float32(std),
        depth_min: nd.float32(min),
        depth_max: nd.float32(max),
        depth_median: nd.float32(median),
      },
      meta: {
        model: `${model.card.name}@${model.card.version}`,
        input_size: [ih, iw],
        map_size: [mh, mw],
        depth_kind: 'relative_inverse_depth',
      },
      notes: `${n} depth maps ${mh}×${mw} (${model.card.name}${model.card.synthetic ? ', synthetic' : ''})`,
      deviceUsed: model.device,
      batchSize,
      modelsUsed: models.used(),
    };
  },
};
