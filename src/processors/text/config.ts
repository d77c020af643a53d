import { z } from 'zod';
import { USE_MODEL } from './embedder.js';

/** `text_processor` config: every key has a default (README "Config"). */
export const textProcessorConfigSchema = z
  .object({
    /** Registry name of the sentence encoder (a USE Lite card). @defaultValue 'use-lite-en' */
    embedding_model: z.string().min(1).default(USE_MODEL),
    /** Most SentencePiece pieces per embedded chunk; longer fields are split at sentences. @defaultValue 128 */
    max_tokens_per_chunk: z.number().int().min(16).max(1024).default(128),
    /** Most chunks embedded per field (evenly spaced over a longer field). @defaultValue 64 */
    max_chunks_per_field: z.number().int().min(1).max(4096).default(64),
    /** Most comments embedded (the most-liked, document order on ties); all are counted. @defaultValue 500 */
    max_comments_embedded: z.number().int().min(0).max(20_000).default(500),
    /** Code points of a field given to the language detector (its start). @defaultValue 5000 */
    language_sample_chars: z.number().int().min(16).max(200_000).default(5000),
    /**
     * Key of the salted hashes (`payload_summary`, URL domains), mixed with platform_id/video_id:
     * hashes compare within one video across runs, not across videos. Set a private value where a
     * dictionary attack on short fields (domains, tags) matters. @defaultValue 'dataprocessor-text-v1'
     */
    hash_salt: z.string().min(1).max(256).default('dataprocessor-text-v1'),
    /** R-PRV-1 raw policy, set by `run --store-raw-payload`: also write the raw fields to `_tmp_text/raw_payload.npz`. @defaultValue false */
    store_raw_payload: z.boolean().default(false),
    /** Days the raw payload may be kept (its meta `expires_at`; ≤ the 60-day artifact cap). @defaultValue 7 */
    raw_hard_cap_days: z.number().int().min(1).max(60).default(7),
  })
  .strict();
/** Effective config of `text_processor`. */
export type TextProcessorConfig = z.infer<typeof textProcessorConfigSchema>;
