import { eld } from 'eld/small';
import {
  nd,
  type Component,
  type ComponentContext,
  type ComponentResult,
  type EmptyReason,
  type NdArray,
  type VideoComment,
  type VideoDocument,
} from '../../../contracts/index.js';
import { modelsOf } from '../../../models/index.js';
import { textProcessorConfigSchema, type TextProcessorConfig } from '../config.js';
import { EMBEDDING_DIM, SentenceEmbedder, evenlySpaced, l2Normalised, meanVector } from '../embedder.js';
import { countText, type TextCounts } from '../features.js';
import {
  documentFields,
  handoffField,
  unavailableFields,
  type FieldInput,
  type HandoffSource,
} from '../inputs.js';
import { HASH_SCHEME, PayloadHasher } from '../payload.js';
import { TEXT_FEATURES_SCHEMA, TEXT_FIELDS } from '../schemas.js';

const NAME = 'text_processor';
const UNDETERMINED = 'und';
/** The languages USE Lite was trained on (its card: `use-lite-en`). */
const MODEL_LANGUAGES = ['en'];
const LANGUAGE_DETECTOR = 'eld 2.1.0 (small n-gram database)';
/** R-PRV-1 raw policy: the raw fields, only when `store_raw_payload`. */
const RAW_AREA = 'text';
const RAW_FILE = 'raw_payload.npz';

const METHOD =
  'fields NFC-normalised; URLs cut out before words/sentences/punctuation/#/@/emoji are counted (README ' +
  '"Counts"); language by eld on the first language_sample_chars code points; USE Lite embeddings of ' +
  'sentence-packed chunks (≤ max_tokens_per_chunk pieces), field vector = L2-normalised chunk mean, ' +
  'comments embedded one by one (most-liked first) and pooled';

type TextContext = ComponentContext<TextProcessorConfig>;

// One unit = one chunk of ≤ 1024 pieces: the sparse ids, the 8 transformer layers' activations.
const RESOURCES = { memoryMbPerUnit: 16, devices: ['cpu'] as const, minBatch: 1, maxBatch: 32 };

/**
 * `text_processor` (SPEC §4 Text): the run's VideoDocument plus the OCR / ASR handoffs →
 * per-field counts, language, USE Lite sentence embeddings and comment statistics in
 * `text_features.npz`, with a `payload_summary` of counts and salted hashes (no raw text, R-PRV-1).
 */
export const textProcessor: Component<TextProcessorConfig> = {
  name: NAME,
  kind: 'text',
  processor: 'text',
  version: '0.1.0',
  dependsOn: [],
  optionalDependsOn: ['ocr', 'speech_transcriber'],
  resources: RESOURCES,
  configSchema: textProcessorConfigSchema,
  models: (config) => [{ model: config.embedding_model, device: 'cpu' }],
  schema: TEXT_FEATURES_SCHEMA,
  knownSymbols: () => ({ F: TEXT_FIELDS.length }),

  async run(ctx): Promise<ComponentResult> {
    const config = ctx.config;
    const models = modelsOf(ctx, NAME);
    const model = await models.load(config.embedding_model, { device: 'cpu' });
    const modelsUsed = models.used();
    const hasher = new PayloadHasher(config.hash_salt, ctx.identity);
    const document = ctx.document;
    if (document === null) {
      return {
        ...emptyResult(config, 'no_text_input'),
        notes: 'no VideoDocument was given to the run (OCR/ASR text is read only alongside one)',
        modelsUsed,
      };
    }
    const fields = [
      ...documentFields(document),
      await handoffField(handoffSource(ctx), 'ocr'),
      await handoffField(handoffSource(ctx), 'asr'),
    ];
    const embedder = SentenceEmbedder.of(model);
    const comments = document.comments ?? [];
    const analysis = analyse(fields, comments, config);
    const embedded = await embed(ctx, embedder, fields, comments, config);
    const rawPayload = config.store_raw_payload ? await writeRawPayload(ctx, fields, comments) : null;
    const arrays = {
      ...fieldArrays(fields, analysis, embedded),
      ...commentArrays(document, analysis, embedded),
      ...domainArrays(analysis.counts, hasher),
    };
    const present = fields.filter((f) => f.emptyReason === null);
    const meta = metaOf(config, fields, analysis.counts, document, hasher, embedded.truncated, rawPayload);
    const warnings = [
      ...embedded.truncated.map((f) => `${f}: only ${config.max_chunks_per_field} chunks embedded`),
      ...(comments.length > config.max_comments_embedded
        ? [`${comments.length - config.max_comments_embedded} comment(s) counted but not embedded`]
        : []),
    ];
    const common = {
      arrays,
      meta,
      modelsUsed,
      deviceUsed: model.device,
      batchSize: embedded.batchSize,
      ...(warnings.length > 0 ? { warnings } : {}),
    };
    if (present.length === 0)
      return {
        status: 'empty',
        emptyReason: 'no_text_input',
        notes: 'the document and the handoffs hold no text',
        ...common,
      };
    return {
      status: 'ok',
      emptyReason: null,
      notes: `${present.length} of ${fields.length} fields with text, ${embedded.units} chunk(s) embedded`,
      ...common,
    };
  },
};

function handoffSource(ctx: TextContext): HandoffSource {
  return {
    available: () => ctx.inputs.available(),
    status: async (name) => (await ctx.inputs.read(name)).status,
    readNpz: (area, file) => ctx.scratch.readNpz(area, file),
  };
}

interface Language {
  code: string;
  confidence: number;
  reliable: boolean;
}

function detectLanguage(text: string, sampleChars: number): Language {
  const sample = [...text].slice(0, sampleChars).join('');
  if (!/\S/u.test(sample)) return { code: UNDETERMINED, confidence: Number.NaN, reliable: false };
  const result = eld.detect(sample);
  if (result.language === '') return { code: UNDETERMINED, confidence: Number.NaN, reliable: false };
  const score = result.getScores()[result.language];
  return { code: result.language, confidence: score ?? Number.NaN, reliable: result.isReliable() };
}

interface Analysis {
  counts: (TextCounts | null)[];
  languages: Language[];
  commentCounts: TextCounts[];
  commentLanguages: string[];
}

function analyse(
  fields: readonly FieldInput[],
  comments: readonly VideoComment[],
  config: TextProcessorConfig,
): Analysis {
  const none: Language = { code: UNDETERMINED, confidence: Number.NaN, reliable: false };
  return {
    counts: fields.map((f) => (f.available ? countText(f.text) : null)),
    languages: fields.map((f) =>
      f.emptyReason === null ? detectLanguage(f.text, config.language_sample_chars) : none,
    ),
    commentCounts: comments.map((c) => countText(c.text)),
    commentLanguages: comments.map((c) => detectLanguage(c.text, config.language_sample_chars).code),
  };
}

interface Embedded {
  /** Per field: its L2-normalised vector, or null. */
  vectors: (Float32Array | null)[];
  chunks: number[];
  commentMean: Float32Array;
  commentsEmbedded: number;
  truncated: string[];
  units: number;
  batchSize: number;
}

/** Which comments are embedded: the most-liked first (document order on ties), at most `cap`. */
function commentsToEmbed(comments: readonly VideoComment[], cap: number): number[] {
  return comments
    .map((c, i) => ({ i, likes: c.likes ?? 0, present: /\S/u.test(c.text) }))
    .filter((c) => c.present)
    .sort((a, b) => b.likes - a.likes || a.i - b.i)
    .slice(0, cap)
    .map((c) => c.i);
}

/** Every chunk of every present field and embedded comment through the batch runner (R-BAT, OOM policy). */
async function embed(
  ctx: TextContext,
  embedder: SentenceEmbedder,
  fields: readonly FieldInput[],
  comments: readonly VideoComment[],
  config: TextProcessorConfig,
): Promise<Embedded> {
  const models = modelsOf(ctx, NAME);
  const commentField = TEXT_FIELDS.indexOf('comments');
  const units: { owner: number; comment: number; ids: Int32Array }[] = [];
  const truncated: string[] = [];
  const chunkCount = new Array<number>(fields.length).fill(0);
  /** The chunks embedded for a text: at most max_chunks_per_field, evenly spaced. */
  const chunk = (text: string, name: string): Int32Array[] => {
    const all = embedder.chunks(text, config.max_tokens_per_chunk);
    if (all.length > config.max_chunks_per_field && !truncated.includes(name)) truncated.push(name);
    return evenlySpaced(all, config.max_chunks_per_field);
  };
  fields.forEach((f, owner) => {
    if (f.emptyReason !== null || owner === commentField) return;
    for (const ids of chunk(f.text, f.name)) units.push({ owner, comment: -1, ids });
  });
  const chosen = commentsToEmbed(comments, config.max_comments_embedded);
  for (const i of chosen)
    for (const ids of chunk((comments[i] as VideoComment).text, 'comments'))
      units.push({ owner: commentField, comment: i, ids });
  // Similar lengths share a batch: the sparse batch is padded to its longest row.
  const order = units
    .map((_, i) => i)
    .sort((a, b) => (units[a]?.ids.length ?? 0) - (units[b]?.ids.length ?? 0));
  const sorted = order.map((i) => units[i] as (typeof units)[number]);
  const batchSize = models.planBatchSize(RESOURCES, { units: sorted.length });
  const run = await models.runBatches(sorted, (batch) => embedder.embed(batch.map((u) => u.ids)), {
    batchSize,
    onProgress: ctx.progress,
    signal: ctx.signal,
  });
  const byField = fields.map(() => [] as Float32Array[]);
  const byComment = new Map<number, Float32Array[]>();
  sorted.forEach((u, k) => {
    const v = run.results[k] as Float32Array;
    if (u.comment >= 0) byComment.set(u.comment, [...(byComment.get(u.comment) ?? []), v]);
    else byField[u.owner]?.push(v);
  });
  const commentVectors = chosen
    .filter((i) => byComment.has(i))
    .map((i) => l2Normalised(meanVector(byComment.get(i) ?? [])));
  const commentMean = meanVector(commentVectors);
  const vectors = byField.map((vs, owner) => {
    if (owner === commentField) return commentVectors.length > 0 ? l2Normalised(commentMean) : null;
    chunkCount[owner] = vs.length;
    return vs.length > 0 ? l2Normalised(meanVector(vs)) : null;
  });
  chunkCount[commentField] = commentVectors.length;
  return {
    vectors,
    chunks: chunkCount,
    commentMean,
    commentsEmbedded: commentVectors.length,
    truncated,
    units: sorted.length,
    batchSize: run.batchSize,
  };
}

function fieldArrays(
  fields: readonly FieldInput[],
  analysis: Analysis,
  embedded: Embedded,
): Record<string, NdArray> {
  const n = fields.length;
  const countOf = (pick: (c: TextCounts) => number) =>
    nd.int32(analysis.counts.map((c) => (c === null ? -1 : pick(c))));
  const embedding = new Float32Array(n * EMBEDDING_DIM).fill(Number.NaN);
  embedded.vectors.forEach((v, i) => {
    if (v !== null) embedding.set(v, i * EMBEDDING_DIM);
  });
  return {
    field_names: nd.unicode(fields.map((f) => f.name)),
    field_available: nd.bool(fields.map((f) => f.available)),
    field_present: nd.bool(fields.map((f) => f.emptyReason === null)),
    field_empty_reason: nd.unicode(fields.map((f) => f.emptyReason ?? '')),
    char_count: countOf((c) => c.chars),
    word_count: countOf((c) => c.words),
    sentence_count: countOf((c) => c.sentences),
    question_count: countOf((c) => c.questions),
    exclamation_count: countOf((c) => c.exclamations),
    hashtag_count: countOf((c) => c.hashtags),
    mention_count: countOf((c) => c.mentions),
    emoji_count: countOf((c) => c.emoji),
    url_count: countOf((c) => c.urls),
    item_count: nd.int32(fields.map((f) => f.items)),
    language: nd.unicode(analysis.languages.map((l) => l.code)),
    language_confidence: nd.float32(analysis.languages.map((l) => l.confidence)),
    language_reliable: nd.bool(analysis.languages.map((l) => l.reliable)),
    embedding: nd.float32(embedding, [n, EMBEDDING_DIM]),
    embedding_present: nd.bool(embedded.vectors.map((v) => v !== null)),
    embedding_in_model_language: nd.bool(
      embedded.vectors.map(
        (v, i) => v !== null && MODEL_LANGUAGES.includes(analysis.languages[i]?.code ?? ''),
      ),
    ),
    embedding_chunk_count: nd.int32(embedded.chunks),
  };
}

function commentArrays(
  document: VideoDocument,
  analysis: Analysis,
  embedded: Embedded,
): Record<string, NdArray> {
  const comments = document.comments ?? [];
  const tags = document.tags ?? [];
  const likes = comments.flatMap((c) => (c.likes === undefined ? [] : [c.likes]));
  const times = comments.flatMap((c) => (c.published_at === undefined ? [] : [Date.parse(c.published_at)]));
  const authors = new Set(comments.flatMap((c) => (c.author === undefined ? [] : [c.author])));
  const languages = new Map<string, number>();
  for (const code of analysis.commentLanguages) languages.set(code, (languages.get(code) ?? 0) + 1);
  const ranked = [...languages.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const mean = (xs: readonly number[]): number =>
    xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    tag_count: nd.int32([tags.length], []),
    tag_unique_count: nd.int32([new Set(tags.map((t) => t.normalize('NFC').toLowerCase())).size], []),
    comment_count: nd.int32([comments.length], []),
    comment_embedded_count: nd.int32([embedded.commentsEmbedded], []),
    comment_embedding_mean: nd.float32(embedded.commentMean),
    comment_unique_authors: nd.int32([authors.size], []),
    comment_likes_total: nd.int64([likes.reduce((a, b) => a + b, 0)], []),
    comment_likes_mean: nd.float32([mean(likes)], []),
    comment_likes_max: nd.int64([likes.length === 0 ? -1 : Math.max(...likes)], []),
    comment_chars_mean: nd.float32([mean(analysis.commentCounts.map((c) => c.chars))], []),
    comment_words_mean: nd.float32([mean(analysis.commentCounts.map((c) => c.words))], []),
    comment_time_span_sec: nd.float32(
      [times.length < 2 ? Number.NaN : (Math.max(...times) - Math.min(...times)) / 1000],
      [],
    ),
    comment_english_fraction: nd.float32(
      [comments.length === 0 ? Number.NaN : (languages.get('en') ?? 0) / comments.length],
      [],
    ),
    comment_language_codes: nd.unicode(ranked.map(([code]) => code)),
    comment_language_counts: nd.int32(ranked.map(([, n]) => n)),
  };
}

function domainArrays(
  counts: readonly (TextCounts | null)[],
  hasher: PayloadHasher,
): Record<string, NdArray> {
  const domains = new Map<string, number>();
  for (const c of counts)
    for (const host of c?.urlDomains ?? []) {
      const h = hasher.hashDomain(host);
      domains.set(h, (domains.get(h) ?? 0) + 1);
    }
  const ranked = [...domains.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return {
    url_domain_hashes: nd.unicode(ranked.map(([h]) => h)),
    url_domain_counts: nd.int32(ranked.map(([, n]) => n)),
  };
}

function metaOf(
  config: TextProcessorConfig,
  fields: readonly FieldInput[],
  counts: readonly (TextCounts | null)[],
  document: VideoDocument | null,
  hasher: PayloadHasher,
  truncated: readonly string[],
  rawPayload: string | null,
): Record<string, unknown> {
  return {
    fields: fields.map((f) => f.name),
    field_empty_reasons: fields.map((f) => f.emptyReason),
    payload_summary: {
      field_chars: counts.map((c) => c?.chars ?? -1),
      field_hashes: fields.map((f) => (f.emptyReason === null ? hasher.hash(f.text) : null)),
      tag_count: document?.tags?.length ?? 0,
      comment_count: document?.comments?.length ?? 0,
      url_count: counts.reduce((a, c) => a + (c?.urls ?? 0), 0),
      hash_scheme: HASH_SCHEME,
    },
    embedding_model: config.embedding_model,
    embedding_dim: EMBEDDING_DIM,
    model_languages: MODEL_LANGUAGES,
    language_detector: LANGUAGE_DETECTOR,
    max_tokens_per_chunk: config.max_tokens_per_chunk,
    max_chunks_per_field: config.max_chunks_per_field,
    max_comments_embedded: config.max_comments_embedded,
    truncated_fields: [...truncated],
    raw_payload: rawPayload,
    method: METHOD,
  };
}

/** The artifact of a run without text input: every array at its contract shape, NaN / −1 / "und". */
function emptyResult(config: TextProcessorConfig, reason: EmptyReason): Omit<ComponentResult, 'modelsUsed'> {
  const fields = unavailableFields(reason);
  const analysis: Analysis = {
    counts: fields.map(() => null),
    languages: fields.map(() => ({ code: UNDETERMINED, confidence: Number.NaN, reliable: false })),
    commentCounts: [],
    commentLanguages: [],
  };
  const embedded: Embedded = {
    vectors: fields.map(() => null),
    chunks: fields.map(() => 0),
    commentMean: meanVector([]),
    commentsEmbedded: 0,
    truncated: [],
    units: 0,
    batchSize: 1,
  };
  const hasher = new PayloadHasher(config.hash_salt, { platform_id: 'none', video_id: 'none' });
  return {
    status: 'empty',
    emptyReason: reason,
    arrays: {
      ...fieldArrays(fields, analysis, embedded),
      ...commentArrays({}, analysis, embedded),
      ...domainArrays([], hasher),
    },
    meta: metaOf(config, fields, analysis.counts, null, hasher, [], null),
  };
}

/**
 * R-PRV-1 raw policy: the raw fields to `_tmp_text/raw_payload.npz`, with `hard_cap_days` and
 * `expires_at` (for the retention GC) beside them. Returns the run-relative path.
 */
async function writeRawPayload(
  ctx: TextContext,
  fields: readonly FieldInput[],
  comments: readonly VideoComment[],
): Promise<string> {
  const now = Date.now();
  const days = ctx.config.raw_hard_cap_days;
  return ctx.scratch.writeNpz(RAW_AREA, RAW_FILE, {
    field_names: nd.unicode(fields.map((f) => f.name)),
    field_text: nd.unicode(fields.map((f) => f.text)),
    comment_text: nd.unicode(comments.map((c) => c.text)),
    hard_cap_days: nd.int32([days], []),
    created_at: nd.unicode([new Date(now).toISOString()], []),
    expires_at: nd.unicode([new Date(now + days * 86_400_000).toISOString()], []),
  });
}
