// high_level_semantic's maths and its label-embedding cache: CLIP zero-shot scoring (cosine
// similarity of L2-normalised image and text embeddings, softmax over labels at CLIP's logit
// scale) and the text side — label prompts through the CLIP tokenizer and text tower, cached by
// the text model's signature and the prompt set so a worker embeds a label set once.
import { createHash } from 'node:crypto';
import { ContractViolationError } from '../../../../../contracts/index.js';
import { ClipTokenizer, type LoadedModel } from '../../../../../models/index.js';

/** CLIP's learned temperature: exp(logit_scale) = 100 for the OpenAI checkpoints. */
export const CLIP_LOGIT_SCALE = 100;

/** L2-normalised copy of each row of an [n, d] matrix (a zero row stays zero). */
export function normaliseRows(data: Float32Array, d: number): Float32Array {
  const out = Float32Array.from(data);
  for (let off = 0; off < out.length; off += d) {
    let sum = 0;
    for (let j = 0; j < d; j++) sum += (out[off + j] ?? 0) ** 2;
    const norm = Math.sqrt(sum);
    if (norm > 0) for (let j = 0; j < d; j++) out[off + j] = (out[off + j] ?? 0) / norm;
  }
  return out;
}

/**
 * Zero-shot scores of N image embeddings [N, D] against K label embeddings [K, D] (both
 * normalised here): cosine similarities [N, K] and per row softmax(scale × similarity) [N, K].
 * A row of the image matrix that is NaN gives NaN scores.
 */
export function zeroShotScores(
  images: Float32Array,
  labels: Float32Array,
  d: number,
  scale = CLIP_LOGIT_SCALE,
): { similarity: Float32Array; probs: Float32Array } {
  const n = images.length / d;
  const k = labels.length / d;
  const a = normaliseRows(images, d);
  const b = normaliseRows(labels, d);
  const similarity = new Float32Array(n * k);
  const probs = new Float32Array(n * k);
  const row = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) {
      let dot = 0;
      for (let x = 0; x < d; x++) dot += (a[i * d + x] ?? 0) * (b[j * d + x] ?? 0);
      row[j] = dot;
      similarity[i * k + j] = dot;
      max = Math.max(max, scale * dot);
    }
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(scale * (row[j] ?? 0) - max);
    for (let j = 0; j < k; j++) probs[i * k + j] = Math.exp(scale * (row[j] ?? 0) - max) / sum;
  }
  return { similarity, probs };
}

/** The prompt of a label: `template` with `{}` replaced by the label. */
export const promptOf = (template: string, label: string): string => template.replaceAll('{}', label);

const CACHE_LIMIT = 32;
const cache = new Map<string, Float32Array>();
let textModelCalls = 0;

/** Text-model calls made to fill the cache since the process started (for tests and logs). */
export function labelEmbeddingCalls(): number {
  return textModelCalls;
}

/** The cache key: the text model's signature entry (name, version, digest, engine, precision, device) and the prompts. */
export function labelCacheKey(model: LoadedModel, prompts: readonly string[]): string {
  const u = model.used;
  return createHash('sha256')
    .update(
      JSON.stringify([
        u.model_name,
        u.model_version,
        u.weights_digest,
        u.engine,
        u.precision,
        u.device,
        prompts,
      ]),
    )
    .digest('hex');
}

/**
 * Text embeddings [K, D] (not normalised) of the prompts through the CLIP text tower and the
 * tokenizer.json that ships with it. Served from an in-process cache keyed by `labelCacheKey`;
 * errors of the model propagate (nothing is cached then).
 */
export async function labelEmbeddings(model: LoadedModel, prompts: readonly string[]): Promise<Float32Array> {
  const key = labelCacheKey(model, prompts);
  const hit = cache.get(key);
  if (hit) {
    // Refresh its place (least recently used goes first).
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const ids = model.card.inputs.find((i) => i.name === 'input_ids');
  const mask = model.card.inputs.find((i) => i.name === 'attention_mask');
  const output = model.card.outputs[0];
  const d = output?.shape[1];
  if (!ids || !output || typeof d !== 'number') {
    throw new ContractViolationError(`${model.card.name} is not a CLIP text tower (input_ids → [N, D])`);
  }
  const tokenizer = ClipTokenizer.fromFile(model.filePath('tokenizer.json'));
  const batch = tokenizer.encodeBatch(prompts, model.card.preprocessing.maxTokens ?? 77);
  const dims = [batch.count, batch.length];
  textModelCalls += 1;
  const out = await model.infer({
    [ids.name]: { dtype: 'int64', dims, data: batch.ids },
    ...(mask ? { [mask.name]: { dtype: 'int64' as const, dims, data: batch.mask } } : {}),
  });
  const t = out[output.name];
  if (!t || !(t.data instanceof Float32Array) || t.data.length !== prompts.length * d) {
    throw new ContractViolationError(
      `${model.card.name} returned no [${prompts.length}, ${d}] ${output.name}`,
    );
  }
  const embeddings = Float32Array.from(t.data);
  cache.set(key, embeddings);
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  return embeddings;
}
