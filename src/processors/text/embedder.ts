// Sentence embeddings with Universal Sentence Encoder Lite through the model system: text →
// SentencePiece ids (chunks of at most `maxTokens` pieces) → one sparse batch → 512-d vectors.
import { DataProcessorError } from '../../contracts/index.js';
import { UnigramTokenizer, tensor, type LoadedModel } from '../../models/index.js';
import { splitSentences } from './features.js';

/** The registry card `text_processor` embeds with by default. */
export const USE_MODEL = 'use-lite-en';
/** The vocabulary file of the card. */
const VOCABULARY = 'vocab.json';
/** The graph's one output: L2-normalised embeddings `[N, 512]`. */
const OUTPUT = 'module_apply_default/Encoder_en/hidden_layers/l2_normalize';
export const EMBEDDING_DIM = 512;

/** USE Lite with its tokenizer: text in, unit vectors out. */
export class SentenceEmbedder {
  private constructor(
    readonly model: LoadedModel,
    readonly tokenizer: UnigramTokenizer,
  ) {}

  /** The embedder over a loaded `use-lite-en` (its digest-verified `vocab.json` beside it). */
  static of(model: LoadedModel): SentenceEmbedder {
    return new SentenceEmbedder(model, UnigramTokenizer.fromFile(model.filePath(VOCABULARY)));
  }

  /**
   * The piece-id chunks of a text: sentences packed greedily into chunks of at most `maxTokens`
   * pieces (a longer sentence is cut). Empty for a text without pieces.
   */
  chunks(text: string, maxTokens: number): Int32Array[] {
    const all: number[][] = [];
    let current: number[] = [];
    for (const sentence of splitSentences(text)) {
      const ids = this.tokenizer.encode(sentence);
      if (current.length > 0 && current.length + ids.length > maxTokens) {
        all.push(current);
        current = [];
      }
      for (let i = 0; i < ids.length; i += maxTokens) {
        const part = ids.slice(i, i + maxTokens);
        if (current.length + part.length > maxTokens) {
          all.push(current);
          current = [];
        }
        current.push(...part);
      }
    }
    if (current.length > 0) all.push(current);
    return all.filter((c) => c.length > 0).map((c) => Int32Array.from(c));
  }

  /** One L2-normalised 512-d vector per unit (each a non-empty list of piece ids), in order. */
  async embed(units: readonly Int32Array[]): Promise<Float32Array[]> {
    if (units.length === 0) return [];
    let total = 0;
    for (const u of units) {
      // The model sizes its batch from the largest row index: an empty row would shift the rest.
      if (u.length === 0) throw new DataProcessorError('INTERNAL', 'an empty piece list cannot be embedded');
      total += u.length;
    }
    const indices = new Int32Array(total * 2);
    const values = new Int32Array(total);
    let k = 0;
    units.forEach((u, row) => {
      for (let j = 0; j < u.length; j++, k++) {
        indices[2 * k] = row;
        indices[2 * k + 1] = j;
        values[k] = u[j] as number;
      }
    });
    const out = (
      await this.model.infer({
        indices: tensor('int32', indices, [total, 2]),
        values: tensor('int32', values, [total]),
      })
    )[OUTPUT];
    if (out?.dtype !== 'float32' || out.dims[0] !== units.length || out.dims[1] !== EMBEDDING_DIM)
      throw new DataProcessorError(
        'CONTRACT_VIOLATION',
        `${this.model.card.name} returned [${out?.dims.join(', ') ?? ''}], expected [${units.length}, ${EMBEDDING_DIM}]`,
      );
    const data = out.data as Float32Array;
    return units.map((_, i) => data.slice(i * EMBEDDING_DIM, (i + 1) * EMBEDDING_DIM));
  }
}

/** At most `max` of `items`, evenly spaced (all of them when there are no more than `max`). */
export function evenlySpaced<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  return Array.from({ length: max }, (_, k) => items[Math.floor((k * items.length) / max)] as T);
}

/** The element-wise mean of vectors (NaN when there are none). */
export function meanVector(vectors: readonly Float32Array[], dim = EMBEDDING_DIM): Float32Array {
  const mean = new Float32Array(dim);
  if (vectors.length === 0) return mean.fill(Number.NaN);
  const sum = new Float64Array(dim);
  for (const v of vectors) for (let i = 0; i < dim; i++) sum[i] = (sum[i] as number) + (v[i] as number);
  for (let i = 0; i < dim; i++) mean[i] = (sum[i] as number) / vectors.length;
  return mean;
}

/** `v / ‖v‖₂` (NaN when ‖v‖ is 0 or v has NaN). */
export function l2Normalised(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  return v.map((x) => (norm > 0 ? x / norm : Number.NaN));
}

/** Cosine similarity of two vectors. */
export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / Math.sqrt(na * nb);
}
