import { z } from 'zod';
import {
  ContractViolationError,
  nd,
  type Component,
  type ComponentResult,
  type DependencyView,
} from '../../../../../contracts/index.js';
import { deviceSchema, modelAccess } from '../../core/frames.js';
import { CLIP_LOGIT_SCALE, labelEmbeddings, promptOf, zeroShotScores } from './zero-shot.js';

const NAME = 'high_level_semantic';
const CLIP = 'core_clip';
const CUTS = 'cut_detection';
/** Registry model: the text tower of the CLIP that core_clip runs (not shipped: `models install` it). */
export const CLIP_TEXT_MODEL = 'clip-vit-b32-text';

/** A small general-purpose label set (scene kind and setting); a profile or `--set` replaces it. */
export const DEFAULT_LABELS = [
  'people talking',
  'a crowd',
  'a city street',
  'nature and landscape',
  'an indoor room',
  'food',
  'sports',
  'text or a screen',
  'an animal',
  'a vehicle',
] as const;

const configSchema = z
  .object({
    /** The labels scored (K); order is the column order of the arrays. */
    labels: z
      .array(z.string().min(1).max(200))
      .min(1)
      .max(1000)
      .default([...DEFAULT_LABELS]),
    /** Prompt of a label: `{}` is replaced by the label (CLIP's "a photo of {}" convention). */
    template: z.string().min(1).default('a photo of {}'),
    /** Softmax temperature over labels (CLIP's learned exp(logit_scale) = 100). */
    logit_scale: z.number().positive().default(CLIP_LOGIT_SCALE),
    text_model: z.string().min(1).default(CLIP_TEXT_MODEL),
    device: deviceSchema,
  })
  .strict();
export type HighLevelSemanticConfig = z.infer<typeof configSchema>;

const metaSchema = z
  .object({
    labels: z.array(z.string()),
    template: z.string(),
    logit_scale: z.number(),
    text_model: z.string(),
    image_model: z.string(),
    num_shots: z.number().int().nonnegative(),
  })
  .loose();

/** `synthetic` of the model that made a dependency's artifact (its meta's models_used[0]). */
function visionModel(view: DependencyView): { name: string; synthetic: boolean } {
  const used = (view.meta.models_used as { model_name?: string; synthetic?: boolean }[] | undefined)?.[0];
  if (!used?.model_name) throw new ContractViolationError(`${NAME}: ${view.name} records no models_used`);
  return { name: used.model_name, synthetic: used.synthetic === true };
}

/**
 * `high_level_semantic` (SPEC §4): zero-shot scores of `core_clip`'s image embeddings against a
 * configured label set — cosine similarity and softmax probabilities per frame — and per-shot
 * summaries over `cut_detection`'s shots. Label embeddings come from the CLIP text tower through
 * the model system (cached by model signature + prompts). Errors propagate: a failed model or a
 * text tower from another embedding space is an error, never an empty result.
 */
export const highLevelSemantic: Component<HighLevelSemanticConfig> = {
  name: NAME,
  kind: 'module',
  processor: 'visual',
  version: '0.1.0',
  dependsOn: [CLIP, CUTS],
  // One unit is one label prompt through the text tower (~20 MB of activations on CPU).
  resources: { memoryMbPerUnit: 20, devices: ['cpu', 'cuda'], minBatch: 1, maxBatch: 256 },
  configSchema,
  models: (config) => [{ model: config.text_model, device: config.device }],
  schema: {
    file: 'high_level_semantic.npz',
    schemaVersion: '1.0',
    arrays: {
      frame_indices: {
        dtype: 'int32',
        shape: ['N'],
        description: 'union-domain indices of core_clip’s frames',
      },
      times_sec: {
        dtype: 'float32',
        shape: ['N'],
        unit: 'sec',
        description: 'presentation time of each frame',
      },
      labels: { dtype: 'unicode', shape: ['K'], description: 'the configured labels, in column order' },
      label_similarity: {
        dtype: 'float32',
        shape: ['N', 'K'],
        description: 'cosine similarity of the frame’s image embedding and each label’s text embedding',
      },
      label_probs: {
        dtype: 'float32',
        shape: ['N', 'K'],
        description: 'softmax over labels of logit_scale × similarity',
      },
      top_label: { dtype: 'int32', shape: ['N'], description: 'most probable label of each frame' },
      shot_start_times_sec: {
        dtype: 'float32',
        shape: ['S'],
        unit: 'sec',
        description: 'start of each shot',
      },
      shot_frame_count: { dtype: 'int32', shape: ['S'], description: 'core_clip frames in the shot' },
      shot_label_probs: {
        dtype: 'float32',
        shape: ['S', 'K'],
        description: 'mean label probabilities over the shot’s frames; NaN without frames',
      },
      shot_top_label: {
        dtype: 'int32',
        shape: ['S'],
        description: 'most probable label of the shot; −1 without frames',
      },
    },
    meta: metaSchema,
  },
  knownSymbols: (ctx) => ({ K: ctx.config.labels.length }),

  async run(ctx): Promise<ComponentResult> {
    const c = ctx.config;
    const clip = await ctx.inputs.read(CLIP);
    const cuts = await ctx.inputs.read(CUTS);
    const models = modelAccess(ctx, NAME);
    const text = await models.load(c.text_model, { device: c.device });
    const vision = visionModel(clip);
    if (vision.synthetic !== text.card.synthetic) {
      throw new ContractViolationError(
        `${NAME}: core_clip ran ${vision.name} but the text model is ${text.card.name}; map both to the same CLIP (real or synthetic)`,
      );
    }
    const embeddings = clip.arrays.embeddings;
    const times = clip.arrays.times_sec;
    if (embeddings?.dtype !== 'float32' || embeddings.shape.length !== 2 || times?.dtype !== 'float32') {
      throw new ContractViolationError(`${NAME}: core_clip has no float32 [N, D] embeddings / times_sec`);
    }
    const [n = 0, d = 0] = embeddings.shape;
    const K = c.labels.length;
    const labelVectors = await labelEmbeddings(
      text,
      c.labels.map((l) => promptOf(c.template, l)),
    );
    if (labelVectors.length !== K * d) {
      throw new ContractViolationError(
        `${NAME}: ${text.card.name} embeds in ${labelVectors.length / K} dims, core_clip's ${vision.name} in ${d}`,
      );
    }
    const { similarity, probs } = zeroShotScores(embeddings.data, labelVectors, d, c.logit_scale);
    const argmax = (row: Float32Array): number => (row.length ? row.indexOf(Math.max(...row)) : -1);
    const top = Int32Array.from({ length: n }, (_, i) => argmax(probs.subarray(i * K, (i + 1) * K)));

    const starts =
      cuts.status === 'ok' && cuts.arrays.shot_start_times_sec?.dtype === 'float32'
        ? cuts.arrays.shot_start_times_sec.data
        : new Float32Array(0);
    const S = starts.length;
    const shotSum = new Float64Array(S * K);
    const shotCount = new Int32Array(S);
    for (let i = 0; i < n && S > 0; i++) {
      const t = (times.data[i] ?? 0) + 1e-4;
      let s = 0;
      while (s + 1 < S && (starts[s + 1] ?? Infinity) <= t) s++;
      shotCount[s] = (shotCount[s] ?? 0) + 1;
      for (let j = 0; j < K; j++) shotSum[s * K + j] = (shotSum[s * K + j] ?? 0) + (probs[i * K + j] ?? 0);
    }
    const shotProbs = Float32Array.from(shotSum, (v, i) => {
      const count = shotCount[Math.floor(i / K)] ?? 0;
      return count > 0 ? v / count : Number.NaN;
    });
    const shotTop = Int32Array.from({ length: S }, (_, s) =>
      (shotCount[s] ?? 0) > 0 ? argmax(shotProbs.subarray(s * K, (s + 1) * K)) : -1,
    );
    const clipEmpty = clip.status === 'empty';
    return {
      // R-DEP-2: every field here depends on core_clip.
      status: clipEmpty ? 'empty' : 'ok',
      emptyReason: clipEmpty ? 'dependency_empty' : null,
      arrays: {
        frame_indices: nd.int32(Int32Array.from(clip.frameIndices ?? [])),
        times_sec: nd.float32(Float32Array.from(times.data)),
        labels: nd.unicode([...c.labels]),
        label_similarity: nd.float32(similarity, [n, K]),
        label_probs: nd.float32(probs, [n, K]),
        top_label: nd.int32(top),
        shot_start_times_sec: nd.float32(Float32Array.from(starts)),
        shot_frame_count: nd.int32(shotCount),
        shot_label_probs: nd.float32(shotProbs, [S, K]),
        shot_top_label: nd.int32(shotTop),
      },
      meta: {
        labels: [...c.labels],
        template: c.template,
        logit_scale: c.logit_scale,
        text_model: `${text.card.name}@${text.card.version}`,
        image_model: vision.name,
        num_shots: S,
      },
      notes: `${n} frames × ${K} labels, ${S} shots (${text.card.name}${text.card.synthetic ? ', synthetic' : ''})`,
      deviceUsed: text.device,
      batchSize: K,
      modelsUsed: models.used(),
    };
  },
};
