import type { Component } from '../../contracts/index.js';
import { textProcessor } from './components/text_processor.js';

export { textProcessor };
export { textProcessorConfigSchema, type TextProcessorConfig } from './config.js';
export { TEXT_FEATURES_SCHEMA, TEXT_FIELDS, type TextField } from './schemas.js';
export { countText, splitSentences, urlDomain, type TextCounts } from './features.js';
export {
  EMBEDDING_DIM,
  SentenceEmbedder,
  USE_MODEL,
  cosine,
  evenlySpaced,
  l2Normalised,
  meanVector,
} from './embedder.js';
export { HASH_SCHEME, PayloadHasher } from './payload.js';
export { HANDOFFS, type FieldInput, type HandoffSource } from './inputs.js';

/** Components of the Text processor. */
export const textComponents: readonly Component[] = [textProcessor];
