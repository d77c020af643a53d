import { z } from 'zod';
import { emptyReasonSchema, type NpzSchema } from '../../contracts/index.js';
import { EMBEDDING_DIM } from './embedder.js';

/**
 * The field axis `F` of `text_features.npz`, in this order: the document's fields, then the text
 * handed off by `ocr` (distinct strings) and by `speech_transcriber` (its segments).
 */
export const TEXT_FIELDS = ['title', 'description', 'tags', 'transcript', 'comments', 'ocr', 'asr'] as const;
export type TextField = (typeof TEXT_FIELDS)[number];

const F = ['F'] as const;

/** R-NPZ-4 contract of `text_processor/text_features.npz` (no raw text anywhere, R-PRV-1). */
export const TEXT_FEATURES_SCHEMA: NpzSchema = {
  file: 'text_features.npz',
  schemaVersion: '1.0',
  arrays: {
    field_names: { dtype: 'unicode', shape: F, description: `the field axis: ${TEXT_FIELDS.join(', ')}` },
    field_available: {
      dtype: 'bool',
      shape: F,
      description: 'the field’s source was read (a document was given / the OCR or ASR handoff was there)',
    },
    field_present: { dtype: 'bool', shape: F, description: 'the field has non-blank text' },
    field_empty_reason: {
      dtype: 'unicode',
      shape: F,
      description: 'why a field has no text: no_text_input, dependency_empty, or "" when present',
    },
    char_count: {
      dtype: 'int32',
      shape: F,
      unit: 'code points',
      description: 'Unicode code points of the NFC text; −1 when the field is not available',
    },
    word_count: { dtype: 'int32', shape: F, description: 'words (README "Counts"); −1 when not available' },
    sentence_count: { dtype: 'int32', shape: F, description: 'sentences; −1 when not available' },
    question_count: { dtype: 'int32', shape: F, description: 'runs of ? / ？; −1 when not available' },
    exclamation_count: { dtype: 'int32', shape: F, description: 'runs of ! / ！; −1 when not available' },
    hashtag_count: { dtype: 'int32', shape: F, description: '#hashtags; −1 when not available' },
    mention_count: { dtype: 'int32', shape: F, description: '@mentions; −1 when not available' },
    emoji_count: {
      dtype: 'int32',
      shape: F,
      description: 'emoji (an RGI sequence counts once, emoji-regex); −1 when not available',
    },
    url_count: { dtype: 'int32', shape: F, description: 'URLs (http(s):// or www.); −1 when not available' },
    item_count: {
      dtype: 'int32',
      shape: F,
      description: 'items of the field: tags, comments, distinct OCR strings, ASR segments; 1 or 0 otherwise',
    },
    language: {
      dtype: 'unicode',
      shape: F,
      description: 'ISO 639-1 code detected by eld, "und" when undetermined or no text',
    },
    language_confidence: {
      dtype: 'float32',
      shape: F,
      unit: '1',
      description: 'eld’s scaled score of the detected language; NaN when undetermined',
    },
    language_reliable: { dtype: 'bool', shape: F, description: 'eld’s isReliable() for the field' },
    embedding: {
      dtype: 'float32',
      shape: ['F', EMBEDDING_DIM],
      description:
        'USE Lite embedding, L2-normalised mean of the field’s chunk vectors (comments: of the comment vectors); NaN rows when absent',
    },
    embedding_present: { dtype: 'bool', shape: F, description: 'the field has an embedding row' },
    embedding_in_model_language: {
      dtype: 'bool',
      shape: F,
      description:
        'the field was detected as English, the only language of the model; false rows are embedded but not comparable',
    },
    embedding_chunk_count: {
      dtype: 'int32',
      shape: F,
      description: 'chunks embedded for the field (comments: comments embedded)',
    },
    tag_count: { dtype: 'int32', shape: [], description: 'tags in the document' },
    tag_unique_count: { dtype: 'int32', shape: [], description: 'distinct tags (case-folded, NFC)' },
    comment_count: { dtype: 'int32', shape: [], description: 'comments in the document' },
    comment_embedded_count: { dtype: 'int32', shape: [], description: 'comments embedded (≤ config cap)' },
    comment_embedding_mean: {
      dtype: 'float32',
      shape: [EMBEDDING_DIM],
      description:
        'plain mean of the embedded comments’ unit vectors (its norm measures how alike they are); NaN when none',
    },
    comment_unique_authors: {
      dtype: 'int32',
      shape: [],
      description: 'distinct authors among comments that name one',
    },
    comment_likes_total: {
      dtype: 'int64',
      shape: [],
      description: 'sum of likes over comments that give them',
    },
    comment_likes_mean: {
      dtype: 'float32',
      shape: [],
      description: 'mean likes over comments that give them; NaN when none',
    },
    comment_likes_max: {
      dtype: 'int64',
      shape: [],
      description: 'most likes of one comment; −1 when none gives likes',
    },
    comment_chars_mean: {
      dtype: 'float32',
      shape: [],
      unit: 'code points',
      description: 'mean code points per comment; NaN when none',
    },
    comment_words_mean: { dtype: 'float32', shape: [], description: 'mean words per comment; NaN when none' },
    comment_time_span_sec: {
      dtype: 'float32',
      shape: [],
      unit: 'sec',
      description: 'latest − earliest published_at over comments; NaN with fewer than 2 timestamps',
    },
    comment_english_fraction: {
      dtype: 'float32',
      shape: [],
      unit: '1',
      description: 'share of comments detected as English; NaN when none',
    },
    comment_language_codes: {
      dtype: 'unicode',
      shape: ['C'],
      description: 'languages of the comments (ISO 639-1 / "und"), most frequent first',
    },
    comment_language_counts: { dtype: 'int32', shape: ['C'], description: 'comments per language code' },
    url_domain_hashes: {
      dtype: 'unicode',
      shape: ['U'],
      description: 'salted hashes (16 hex) of the distinct URL hosts over all fields, most frequent first',
    },
    url_domain_counts: { dtype: 'int32', shape: ['U'], description: 'URLs per hashed host' },
  },
  meta: z
    .object({
      fields: z.array(z.string()),
      field_empty_reasons: z.array(emptyReasonSchema.nullable()),
      /** R-PRV-1 privacy-safe summary: counts and salted hashes only. */
      payload_summary: z
        .object({
          field_chars: z.array(z.number().int()),
          field_hashes: z.array(z.string().nullable()),
          tag_count: z.number().int().nonnegative(),
          comment_count: z.number().int().nonnegative(),
          url_count: z.number().int().nonnegative(),
          hash_scheme: z.string(),
        })
        .strict(),
      embedding_model: z.string(),
      embedding_dim: z.number().int().positive(),
      model_languages: z.array(z.string()),
      language_detector: z.string(),
      max_tokens_per_chunk: z.number().int(),
      max_chunks_per_field: z.number().int(),
      max_comments_embedded: z.number().int(),
      truncated_fields: z.array(z.string()),
      raw_payload: z.string().nullable(),
      method: z.string(),
    })
    .loose(),
};
