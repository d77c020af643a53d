import { z } from 'zod';
import {
  ContractViolationError,
  nd,
  type Component,
  type ComponentResult,
} from '../../../../../contracts/index.js';
import type { LoadedModel } from '../../../../../models/index.js';
import { DEFAULT_FRAME_BUDGETS } from '../../../../../segmenter/index.js';
import { FRAME_AXIS_ARRAYS, deviceSchema, modelAccess, ownFrames, runOverFrames } from '../frames.js';
import { meanStd, sampleRect, type Rect } from '../image-ops.js';

const NAME = 'core_clip';
/** Registry model (a profile mapping may name another with the same signature, e.g. `synthetic-clip-vision`). */
export const CLIP_MODEL = 'clip-vit-b32-vision';

const configSchema = z
  .object({
    model: z.string().min(1).default(CLIP_MODEL),
    device: deviceSchema,
  })
  .strict();
export type ClipConfig = z.infer<typeof configSchema>;

const metaSchema = z
  .object({
    embedding_dim: z.number().int().positive(),
    model: z.string(),
    preprocessing: z.string(),
  })
  .loose();

// One unit = one frame: the 224² float32 input (0.6 MB) plus ViT-B/32 activations (~30 MB per image on CPU).
const RESOURCES = { memoryMbPerUnit: 40, devices: ['cpu', 'cuda'] as const, minBatch: 1, maxBatch: 32 };

/** The centre square of a frame (the card's "shorter side to S, centre crop S×S"). */
export function centreSquare(width: number, height: number): Rect {
  const side = Math.min(width, height);
  const x0 = (width - side) / 2;
  const y0 = (height - side) / 2;
  return { x0, y0, x1: x0 + side, y1: y0 + side };
}

/** CLIP preprocessing from the card: centre crop, resize to the input size, `(x/255 − mean)/std`, NCHW. */
export function clipInput(
  model: LoadedModel,
  pixels: Uint8Array,
  width: number,
  height: number,
  count: number,
): Float32Array {
  const pre = model.card.preprocessing;
  const [dstH, dstW] = pre.size ?? [224, 224];
  const norm = meanStd(pre.mean ?? [0, 0, 0], pre.std ?? [1, 1, 1]);
  const frameBytes = width * height * 3;
  const input = new Float32Array(count * 3 * dstH * dstW);
  for (let n = 0; n < count; n++) {
    sampleRect(
      pixels.subarray(n * frameBytes, (n + 1) * frameBytes),
      width,
      height,
      centreSquare(width, height),
      {
        dstW,
        dstH,
        norm,
        layout: 'nchw',
        out: input,
        offset: n * 3 * dstH * dstW,
      },
    );
  }
  return input;
}

/** L2-normalises each row of an [n, d] matrix in place (a zero row stays zero). */
export function l2NormaliseRows(data: Float32Array, d: number): Float32Array {
  for (let off = 0; off < data.length; off += d) {
    let sum = 0;
    for (let j = 0; j < d; j++) sum += (data[off + j] ?? 0) ** 2;
    const norm = Math.sqrt(sum);
    if (norm > 0) for (let j = 0; j < d; j++) data[off + j] = (data[off + j] ?? 0) / norm;
  }
  return data;
}

/**
 * `core_clip` (SPEC §4): one L2-normalised CLIP image embedding per frame, float32 [N, D], through
 * the model system (CLIP ViT-B/32 vision tower; not shipped: `models install` it). Preprocessing
 * is the card's: centre square crop, resize (bilinear with box prefilter, where CLIP uses bicubic),
 * CLIP mean/std, NCHW.
 */
export const coreClip: Component<ClipConfig> = {
  name: NAME,
  kind: 'core',
  processor: 'visual',
  version: '0.1.0',
  dependsOn: [],
  budget: DEFAULT_FRAME_BUDGETS.core_clip,
  resources: RESOURCES,
  configSchema,
  models: (config) => [{ model: config.model, device: config.device }],
  schema: {
    file: 'clip.npz',
    schemaVersion: '1.0',
    arrays: {
      ...FRAME_AXIS_ARRAYS,
      embeddings: {
        dtype: 'float32',
        shape: ['N', 'D'],
        description: 'L2-normalised image embedding of each frame (D = 512 for ViT-B/32)',
      },
    },
    meta: metaSchema,
  },
  knownSymbols: (ctx) => (ctx.frames ? { N: ctx.frames.frameIndices.length } : {}),

  async run(ctx): Promise<ComponentResult> {
    const frames = ownFrames(ctx, NAME);
    const models = modelAccess(ctx, NAME);
    const model = await models.load(ctx.config.model, { device: ctx.config.device });
    const input = model.card.inputs[0];
    const output = model.card.outputs[0];
    const d = output?.shape[1];
    if (!input || !output || typeof d !== 'number') {
      throw new ContractViolationError(`${model.card.name} has no [N, D] embedding output`);
    }
    const pre = model.card.preprocessing;
    const [h, w] = pre.size ?? [224, 224];
    const { slots, batchSize } = await runOverFrames(
      ctx,
      frames,
      models,
      RESOURCES,
      async (pixels, count, fw, fh) => {
        const out = await model.infer({
          [input.name]: {
            dtype: 'float32',
            dims: [count, 3, h, w],
            data: clipInput(model, pixels, fw, fh, count),
          },
        });
        const t = out[output.name];
        if (!t || !(t.data instanceof Float32Array) || t.data.length !== count * d) {
          throw new ContractViolationError(`${model.card.name} returned no [${count}, ${d}] ${output.name}`);
        }
        return l2NormaliseRows(Float32Array.from(t.data), d);
      },
    );
    const n = frames.frameIndices.length;
    const embeddings = new Float32Array(n * d);
    slots.forEach(({ part, index }, k) => embeddings.set(part.subarray(index * d, (index + 1) * d), k * d));
    return {
      status: n === 0 ? 'empty' : 'ok',
      emptyReason: n === 0 ? 'too_few_frames' : null,
      arrays: {
        frame_indices: nd.int32(Int32Array.from(frames.frameIndices)),
        source_frame_indices: nd.int32(Int32Array.from(frames.sourceFrameIndices)),
        times_sec: nd.float32(Float32Array.from(frames.timestampsSec)),
        embeddings: nd.float32(embeddings, [n, d]),
      },
      meta: {
        embedding_dim: d,
        model: `${model.card.name}@${model.card.version}`,
        preprocessing: `centre crop, ${w}×${h} bilinear, mean/std ${JSON.stringify(pre.mean)}/${JSON.stringify(pre.std)}, NCHW`,
      },
      notes: `${n} embeddings of ${d} dims (${model.card.name}${model.card.synthetic ? ', synthetic' : ''})`,
      deviceUsed: model.device,
      batchSize,
      modelsUsed: models.used(),
    };
  },
};
