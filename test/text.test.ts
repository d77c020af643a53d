// text_processor with the real USE Lite model (TFJS wasm, packaged weights), the real eld detector
// and emoji-regex. Counts are checked against an independent Python computation (stdlib `re` +
// `unicodedata`) of the README's definitions; embeddings by paraphrase vs unrelated cosine.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DataProcessorError,
  checkArrays,
  decodeNpz,
  encodeNpz,
  nd,
  parseVideoDocument,
  type ComponentContext,
  type ComponentResult,
  type Manifest,
  type NdArray,
  type RunIdentity,
  type VideoDocument,
} from '../src/contracts/index.js';
import { ModelStore, clearModelSessions, createModelAccess } from '../src/models/index.js';
import {
  SentenceEmbedder,
  TEXT_FEATURES_SCHEMA,
  TEXT_FIELDS,
  cosine,
  textProcessor,
  type TextProcessorConfig,
} from '../src/processors/text/index.js';
import { ffmpeg, makeTempDir } from './support/media.js';
import { loadNpzWithNumpy, runPythonJson } from './support/numpy.js';
import { FONTS } from './support/visual.js';

afterAll(async () => clearModelSessions());

const identity: RunIdentity = {
  platform_id: 'p',
  video_id: 'v',
  run_id: 'r',
  config_hash: 'c'.repeat(64),
  sampling_policy_version: 'sp_v1',
  dataprocessor_version: 'test',
};
const models = () => createModelAccess({ store: new ModelStore(makeTempDir('text-models')) });

type Status = 'ok' | 'empty';
/**
 * The run-core members the component reads, over a real run directory: `inputs` (which
 * dependencies finished, and how) and `scratch` (`_tmp_<area>/<file>` NPZ through encode/decode).
 */
function context(
  document: VideoDocument | null,
  options: { runDir?: string; deps?: Record<string, Status>; config?: Partial<TextProcessorConfig> } = {},
): ComponentContext<TextProcessorConfig> {
  const runDir = options.runDir ?? makeTempDir('text-run');
  const deps = options.deps ?? {};
  return {
    identity,
    runDir,
    config: textProcessor.configSchema.parse(options.config ?? {}),
    frames: null,
    audio: { hasAudio: false, wavPath: null, sampleRate: 48000, channels: 0, durationSec: 0 },
    progress: () => undefined,
    signal: new AbortController().signal,
    models: models(),
    document,
    inputs: {
      available: () => Object.keys(deps),
      read: (name: string) =>
        Promise.resolve({
          name,
          status: deps[name] as Status,
          emptyReason: deps[name] === 'empty' ? ('no_speech' as const) : null,
          meta: {},
          arrays: {},
          frameIndices: null,
          rowsFor: (union: Int32Array) => new Int32Array(union.length).fill(-1),
        }),
    },
    scratch: {
      writeNpz: (area: string, file: string, arrays: Record<string, NdArray>) => {
        mkdirSync(join(runDir, `_tmp_${area}`), { recursive: true });
        writeFileSync(join(runDir, `_tmp_${area}`, file), encodeNpz(arrays, { producer: 'test' }));
        return Promise.resolve(`_tmp_${area}/${file}`);
      },
      readNpz: (area: string, file: string) => {
        try {
          return Promise.resolve(decodeNpz(readFileSync(join(runDir, `_tmp_${area}`, file))).arrays);
        } catch {
          return Promise.resolve(null);
        }
      },
    },
  };
}

/** Checks the result against the declared schema (as the artifact writer does) and writes it. */
function writeArtifact(result: ComponentResult, dir: string): string {
  expect(checkArrays(TEXT_FEATURES_SCHEMA, result.arrays, { F: TEXT_FIELDS.length })).toEqual([]);
  expect(TEXT_FEATURES_SCHEMA.meta?.safeParse(result.meta).success).toBe(true);
  const path = join(dir, 'text_features.npz');
  writeFileSync(
    path,
    encodeNpz(result.arrays, { ...result.meta, status: result.status, empty_reason: result.emptyReason }),
  );
  return path;
}

// The README's counting rules, written again in Python from their definitions.
const PYTHON_COUNTS = String.raw`
import json, re, sys, unicodedata
from datetime import datetime
def isw(c): return unicodedata.category(c)[0] in 'LMN' or c == '_'
URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'\x60]+", re.I)
TRAIL = re.compile(r"[.,;:!?)\]}'\"\u00bb]+$")
def is_emoji_base(c):
    o = ord(c)
    return 0x1F300 <= o <= 0x1FAFF or 0x2600 <= o <= 0x27BF
def is_ri(c): return 0x1F1E6 <= ord(c) <= 0x1F1FF
def emoji(s):
    n = 0; i = 0
    while i < len(s):
        if is_ri(s[i]) and i + 1 < len(s) and is_ri(s[i + 1]): n += 1; i += 2; continue
        if is_emoji_base(s[i]):
            n += 1; i += 1
            while i < len(s):
                if s[i] == '\ufe0f' or 0x1F3FB <= ord(s[i]) <= 0x1F3FF: i += 1
                elif s[i] == '\u200d' and i + 1 < len(s) and is_emoji_base(s[i + 1]): i += 2
                else: break
            continue
        i += 1
    return n
def marked(s, sym, excluded):
    n = 0; i = 0
    while i < len(s):
        if s[i] == sym and i + 1 < len(s) and isw(s[i + 1]) and not (i > 0 and (isw(s[i - 1]) or s[i - 1] in excluded)):
            n += 1; i += 1
            while i < len(s) and isw(s[i]): i += 1
        else: i += 1
    return n
def words(s):
    n = 0; i = 0
    while i < len(s):
        if not isw(s[i]): i += 1; continue
        j = i
        while True:
            while j < len(s) and isw(s[j]): j += 1
            if j + 1 < len(s) and s[j] in "'\u2019" and isw(s[j + 1]): j += 1; continue
            break
        n += 1; i = j
    return n
def counts(raw):
    t = unicodedata.normalize('NFC', raw)
    domains = []
    def cut(m):
        u = TRAIL.sub('', m.group(0))
        host = re.split(r'[/?#]', re.sub(r'^https?://', '', u, flags=re.I))[0].split('@')[-1]
        domains.append(re.sub(r'^www\.', '', re.sub(r':\d*$', '', host).lower()))
        return ' ' + m.group(0)[len(u):]
    rest = URL.sub(cut, t)
    parts = re.split(r"[.!?\u2026\u3002\uff01\uff1f]+(?=\s|\Z)|[\n\r]+", rest)
    return {'chars': len(t), 'words': words(rest), 'sentences': sum(1 for p in parts if any(isw(c) for c in p)),
            'questions': len(re.findall(r"[?\uff1f]+", rest)), 'exclamations': len(re.findall(r"[!\uff01]+", rest)),
            'hashtags': marked(rest, '#', '&#'), 'mentions': marked(rest, '@', '@'), 'emoji': emoji(rest),
            'urls': len(domains), 'domains': len(set(domains))}
doc = json.loads(sys.argv[1])
comments = doc.get('comments', [])
fields = [doc.get('title', ''), doc.get('description', ''), '\n'.join(doc.get('tags', [])),
          doc.get('transcript', ''), '\n'.join(c['text'] for c in comments)]
likes = [c['likes'] for c in comments if 'likes' in c]
times = [datetime.fromisoformat(c['published_at'].replace('Z', '+00:00')).timestamp() for c in comments if 'published_at' in c]
cc = [counts(c['text']) for c in comments]
print(json.dumps({'fields': [counts(f) for f in fields], 'tags': len(doc.get('tags', [])),
  'tags_unique': len(set(unicodedata.normalize('NFC', t).lower() for t in doc.get('tags', []))),
  'comments': len(comments), 'likes_total': sum(likes), 'likes_max': max(likes) if likes else -1,
  'likes_mean': sum(likes) / len(likes) if likes else None,
  'authors': len(set(c['author'] for c in comments if 'author' in c)),
  'span': max(times) - min(times) if len(times) > 1 else None,
  'chars_mean': sum(c['chars'] for c in cc) / len(cc) if cc else None,
  'words_mean': sum(c['words'] for c in cc) / len(cc) if cc else None}))
`;

interface PythonCounts {
  fields: {
    chars: number;
    words: number;
    sentences: number;
    questions: number;
    exclamations: number;
    hashtags: number;
    mentions: number;
    emoji: number;
    urls: number;
    domains: number;
  }[];
  tags: number;
  tags_unique: number;
  comments: number;
  likes_total: number;
  likes_max: number;
  likes_mean: number | null;
  authors: number;
  span: number | null;
  chars_mean: number | null;
  words_mean: number | null;
}

const ENGLISH: VideoDocument = {
  title: 'How to cook perfect pasta at home',
  description:
    "In this video I show you how to cook pasta the Italian way. Don't rinse it! Which sauce do you like best? " +
    'We use 3.5 litres of water.\nIngredients are listed below.',
  tags: ['cooking', 'pasta', 'Cooking', 'italian food'],
  transcript: 'Hello everyone and welcome back to my kitchen. Today we are making a simple tomato pasta.',
  comments: [
    {
      text: 'Great recipe, thank you so much!',
      author: 'anna',
      likes: 12,
      published_at: '2024-05-01T10:00:00Z',
    },
    {
      text: 'How long should the pasta boil?',
      author: 'ben',
      likes: 3,
      published_at: '2024-05-01T12:30:00Z',
    },
    { text: 'I tried it tonight and my family loved it.', author: 'anna', likes: 0 },
  ],
};
const RUSSIAN: VideoDocument = {
  title: 'Как приготовить идеальную пасту дома',
  description:
    'В этом видео я покажу, как правильно варить макароны. Не промывайте их! Какой соус вам нравится больше?',
  tags: ['кулинария', 'паста'],
  transcript: 'Всем привет и добро пожаловать на мою кухню. Сегодня мы готовим простую пасту с томатами.',
  comments: [
    { text: 'Отличный рецепт, спасибо большое!', author: 'иван', likes: 5 },
    { text: 'Сколько минут варить пасту?', author: 'ольга', likes: 1 },
  ],
};
const SOCIAL: VideoDocument = {
  title: 'Summer trip 🇮🇹 with the family 👨‍👩‍👧 #travel #summer2024',
  description:
    'Thanks @maria_k and @tom for joining! Book at https://www.Booking.example.com/rooms?id=7. Mail me at ' +
    'me@example.org, not a mention. More photos on www.photos.example.net/album#one and ' +
    'http://blog.example.com:8080/post. Best day ever 😀😀 👍🏽 ❤️ #ad',
  tags: ['travel', 'vlog'],
  comments: [
    { text: 'Wow 😍 #goals', likes: 40 },
    { text: '@tom you look great!! https://booking.example.com/x', likes: 2 },
  ],
};

function pythonCounts(document: VideoDocument): PythonCounts {
  return runPythonJson<PythonCounts>(PYTHON_COUNTS, [JSON.stringify(document)]);
}

function values(result: ComponentResult, name: string): unknown[] {
  const a = result.arrays[name];
  if (a === undefined) throw new Error(`no array ${name}`);
  const out = Array.from(a.data as ArrayLike<unknown>);
  return a.dtype === 'bool' ? out.map(Boolean) : out;
}

describe('text_processor counts against Python, languages, real embeddings', () => {
  it.each([
    ['English', ENGLISH, 'en'],
    ['Russian', RUSSIAN, 'ru'],
    ['emoji/hashtags/URLs', SOCIAL, 'en'],
  ] as const)('%s document', async (_name, document, language) => {
    const ctx = context(document);
    const result = await textProcessor.run(ctx);
    expect(result.status).toBe('ok');
    const expected = pythonCounts(document);
    const at = (name: string, f: number) => values(result, name)[f];
    expected.fields.forEach((e, f) => {
      const field = TEXT_FIELDS[f];
      expect(
        {
          field,
          chars: at('char_count', f),
          words: at('word_count', f),
          sentences: at('sentence_count', f),
          questions: at('question_count', f),
          exclamations: at('exclamation_count', f),
          hashtags: at('hashtag_count', f),
          mentions: at('mention_count', f),
          emoji: at('emoji_count', f),
          urls: at('url_count', f),
        },
        field,
      ).toEqual({ field, ...e, domains: undefined });
    });
    const scalar = (name: string) => values(result, name)[0];
    expect(scalar('tag_count')).toBe(expected.tags);
    expect(scalar('tag_unique_count')).toBe(expected.tags_unique);
    expect(scalar('comment_count')).toBe(expected.comments);
    expect(Number(scalar('comment_likes_total'))).toBe(expected.likes_total);
    expect(Number(scalar('comment_likes_max'))).toBe(expected.likes_max);
    expect(scalar('comment_likes_mean')).toBeCloseTo(expected.likes_mean ?? Number.NaN, 5);
    expect(scalar('comment_unique_authors')).toBe(expected.authors);
    if (expected.span === null) expect(scalar('comment_time_span_sec')).toBeNaN();
    else expect(scalar('comment_time_span_sec')).toBeCloseTo(expected.span, 3);
    expect(scalar('comment_chars_mean')).toBeCloseTo(expected.chars_mean ?? Number.NaN, 4);
    expect(scalar('comment_words_mean')).toBeCloseTo(expected.words_mean ?? Number.NaN, 4);
    const hosts = expected.fields.reduce((a, e) => a + e.urls, 0);
    expect((values(result, 'url_domain_counts') as number[]).reduce((a, b) => a + b, 0)).toBe(hosts);
    // A language code for each present field; the prose fields in the document's language.
    const languages = values(result, 'language') as string[];
    expect(languages[0]).toBe(language);
    expect(languages[1]).toBe(language);
    const present = values(result, 'field_present') as boolean[];
    present.forEach((p, f) => expect(languages[f], TEXT_FIELDS[f]).toMatch(p ? /^[a-z]{2}$/ : /^und$/));
    // Embeddings: unit rows for present fields, flagged English-or-not honestly.
    const embedding = values(result, 'embedding') as number[];
    const inModel = values(result, 'embedding_in_model_language') as boolean[];
    (values(result, 'embedding_present') as boolean[]).forEach((has, f) => {
      const row = embedding.slice(f * 512, (f + 1) * 512);
      if (has) expect(Math.hypot(...row)).toBeCloseTo(1, 4);
      else expect(row.every(Number.isNaN)).toBe(true);
      expect(inModel[f]).toBe(has && languages[f] === 'en');
    });
    if (language === 'ru') expect(inModel.slice(0, 5)).toEqual([false, false, false, false, false]);
    expect(values(result, 'comment_embedded_count')[0]).toBe(document.comments?.length);
    // The artifact is what numpy reads: schema-valid, no raw text.
    const npz = loadNpzWithNumpy(writeArtifact(result, ctx.runDir));
    expect(npz.arrays.word_count?.values).toEqual(values(result, 'word_count'));
  });

  it('URL hosts are hashed per distinct host (Booking.example.com twice, case-folded, without www.)', async () => {
    const result = await textProcessor.run(context(SOCIAL));
    // hosts: booking.example.com ×2, photos.example.net, blog.example.com
    expect(values(result, 'url_domain_counts')).toEqual([2, 1, 1]);
    expect((values(result, 'url_domain_hashes') as string[]).every((h) => /^[0-9a-f]{16}$/.test(h))).toBe(
      true,
    );
  });

  it('paraphrases score clearly higher cosine than unrelated sentences (real USE Lite)', async () => {
    const embedder = SentenceEmbedder.of(await models().load('use-lite-en', { device: 'cpu' }));
    const pairs = {
      paraphrase: [
        ['How old are you?', 'What is your age?'],
        ['The cat is sleeping on the sofa.', 'A cat naps on the couch.'],
        ['Where can I buy a train ticket?', 'How do I purchase a ticket for the train?'],
        ['The weather is very cold today.', 'It is freezing outside today.'],
      ],
      unrelated: [
        ['How old are you?', 'The stock market fell sharply today.'],
        ['The cat is sleeping on the sofa.', 'Quantum computers use qubits.'],
        ['Where can I buy a train ticket?', 'Photosynthesis converts light into chemical energy.'],
        ['The weather is very cold today.', 'She plays the violin in an orchestra.'],
      ],
    };
    const score = async ([a, b]: string[]): Promise<number> => {
      const [x, y] = await embedder.embed(
        [a ?? '', b ?? ''].map((s) => Int32Array.from(embedder.tokenizer.encode(s))),
      );
      return cosine(x as Float32Array, y as Float32Array);
    };
    // Measured: paraphrases 0.78–0.86, unrelated −0.05–0.18.
    for (const p of pairs.paraphrase) expect(await score(p), p.join(' / ')).toBeGreaterThanOrEqual(0.5);
    for (const p of pairs.unrelated) expect(await score(p), p.join(' / ')).toBeLessThanOrEqual(0.2);
    // a batch row equals the sentence embedded alone (results mapped by index)
    const ids = ['How old are you?', 'A cat naps on the couch.', 'Quantum computers use qubits.'].map((s) =>
      Int32Array.from(embedder.tokenizer.encode(s)),
    );
    const batch = await embedder.embed(ids);
    const alone = await embedder.embed([ids[1] as Int32Array]);
    expect(cosine(batch[1] as Float32Array, alone[0] as Float32Array)).toBeCloseTo(1, 5);
  });
});

describe('text_processor inputs and empty cases', () => {
  it('no document: empty / no_text_input at contract shape, not an error', async () => {
    const ctx = context(null);
    const result = await textProcessor.run(ctx);
    expect(result).toMatchObject({ status: 'empty', emptyReason: 'no_text_input' });
    expect(values(result, 'char_count')).toEqual(TEXT_FIELDS.map(() => -1));
    expect((values(result, 'embedding') as number[]).every(Number.isNaN)).toBe(true);
    expect(values(result, 'field_empty_reason')).toEqual(TEXT_FIELDS.map(() => 'no_text_input'));
    writeArtifact(result, ctx.runDir);
  });

  it('OCR/ASR handoffs become fields (distinct OCR strings); dependency_empty when not in the run or empty', async () => {
    const runDir = makeTempDir('text-handoff');
    mkdirSync(join(runDir, '_tmp_ocr'));
    writeFileSync(
      join(runDir, '_tmp_ocr', 'ocr_text.npz'),
      encodeNpz(
        { texts: nd.unicode(['SALE 50%', '', 'SALE 50%', 'Visit shop.example.com'], [2, 2]) },
        { producer: 'ocr' },
      ),
    );
    const doc: VideoDocument = { title: 'A short clip' };
    const withOcr = await textProcessor.run(
      context(doc, { runDir, deps: { ocr: 'ok', speech_transcriber: 'empty' } }),
    );
    expect(values(withOcr, 'item_count').slice(5)).toEqual([2, 0]);
    expect(values(withOcr, 'field_empty_reason').slice(5)).toEqual(['', 'dependency_empty']);
    expect(values(withOcr, 'char_count')[5]).toBe(['SALE 50%', 'Visit shop.example.com'].join('\n').length);
    expect(values(withOcr, 'char_count')[6]).toBe(-1);
    const without = await textProcessor.run(context(doc, { runDir }));
    expect(values(without, 'field_empty_reason').slice(5)).toEqual(['dependency_empty', 'dependency_empty']);
    expect(without.status).toBe('ok');
  });

  it('an ocr that finished ok without its handoff is DEPENDENCY_MISSING', async () => {
    await expect(textProcessor.run(context({ title: 'x' }, { deps: { ocr: 'ok' } }))).rejects.toMatchObject({
      code: 'DEPENDENCY_MISSING',
    });
  });

  it('a document of blank fields is empty / no_text_input', async () => {
    const result = await textProcessor.run(context({ title: '  ', tags: [], comments: [] }));
    expect(result).toMatchObject({ status: 'empty', emptyReason: 'no_text_input' });
  });
});

describe('VideoDocument contract and privacy', () => {
  const CANARY = 'CANARY-7f3a9c-zebra-quartz';
  const canaryDoc: VideoDocument = {
    title: `${CANARY} title`,
    description: `${CANARY} description https://${CANARY.toLowerCase()}.example.com/x`,
    tags: [CANARY, `${CANARY}-tag`],
    transcript: `${CANARY} transcript.`,
    comments: [{ text: `${CANARY} comment`, author: CANARY, likes: 1 }],
  };

  it('parses a valid document and reports the sha256 of its bytes', () => {
    const bytes = new TextEncoder().encode(JSON.stringify(ENGLISH));
    const parsed = parseVideoDocument(bytes);
    expect(parsed.document).toEqual(ENGLISH);
    expect(parsed.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['not JSON', '{"title": '],
    ['an unknown key', JSON.stringify({ title: 'a', comment: [] })],
    ['a title over its cap', JSON.stringify({ title: 'x'.repeat(1001) })],
    ['a comment without text', JSON.stringify({ comments: [{ likes: 1 }] })],
    ['negative likes', JSON.stringify({ comments: [{ text: CANARY, likes: -1 }] })],
    ['a bad timestamp', JSON.stringify({ comments: [{ text: CANARY, published_at: CANARY }] })],
  ])('refuses %s with INPUT_INVALID naming no text', (_what, json) => {
    let error: unknown;
    try {
      parseVideoDocument(new TextEncoder().encode(json));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DataProcessorError);
    expect((error as DataProcessorError).code).toBe('INPUT_INVALID');
    expect((error as DataProcessorError).message).not.toContain(CANARY);
  });

  it('a canary in every field is in no array, meta, note or warning; raw text only with the raw policy, in _tmp_text', async () => {
    const ctx = context(canaryDoc);
    const result = await textProcessor.run(ctx);
    expect(result.status).toBe('ok');
    const path = writeArtifact(result, ctx.runDir);
    const bytes = readFileSync(path);
    const needle = CANARY.toLowerCase();
    // NPZ unicode arrays are UTF-32: search the decoded arrays and the zip bytes (UTF-8 and UTF-32)
    const decoded = decodeNpz(bytes);
    expect(
      JSON.stringify(decoded, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)).toLowerCase(),
    ).not.toContain(needle);
    expect(
      JSON.stringify({ n: result.notes, w: result.warnings, m: result.meta }).toLowerCase(),
    ).not.toContain(needle);
    expect(readdirSync(ctx.runDir)).toEqual(['text_features.npz']);

    const raw = context(canaryDoc, { config: { store_raw_payload: true } });
    const kept = await textProcessor.run(raw);
    expect(kept.meta?.raw_payload).toBe('_tmp_text/raw_payload.npz');
    const payload = decodeNpz(readFileSync(join(raw.runDir, '_tmp_text', 'raw_payload.npz'))).arrays;
    expect((payload.field_text?.data as string[])[0]).toContain(CANARY);
    expect((payload.hard_cap_days?.data as Int32Array)[0]).toBe(7);
    const expires = Date.parse((payload.expires_at?.data as string[])[0] ?? '');
    expect(expires - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    expect(statSync(join(raw.runDir, '_tmp_text')).isDirectory()).toBe(true);
  });

  it('payload hashes: equal text → equal hash within a video, different across videos', async () => {
    const a = await textProcessor.run(context({ title: 'Same title', description: 'Same title' }));
    const hashes = (a.meta?.payload_summary as { field_hashes: (string | null)[] }).field_hashes;
    expect(hashes[0]).toMatch(/^[0-9a-f]{16}$/);
    expect(hashes[0]).toBe(hashes[1]);
    const other = context({ title: 'Same title' });
    (other as { identity: RunIdentity }).identity = { ...identity, video_id: 'w' };
    const b = await textProcessor.run(other);
    expect((b.meta?.payload_summary as { field_hashes: string[] }).field_hashes[0]).not.toBe(hashes[0]);
  });
});

// Through the real CLI (`run --document`, dist/): the run core's inputs, scratch and store, the
// artifact writer, the event log, the manifest, `audit`.
describe('run --document end to end', () => {
  const BIN = join(import.meta.dirname, '..', 'bin', 'dataprocessor.js');
  const dir = makeTempDir('text-e2e');
  const store = join(dir, 'store');
  const video = join(dir, 'caption.mp4');
  const CANARY = 'CANARY-e2e-91b7-walrus';
  const docPath = join(dir, 'doc.json');

  function cli(args: string[]): { code: number | null; out: string } {
    const r = spawnSync(process.execPath, [BIN, ...args], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 300_000,
    });
    return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
  }
  const runDirOf = (runId: string) => join(store, 'local', 'cap', runId);
  const manifestOf = (runId: string): Manifest =>
    JSON.parse(readFileSync(join(runDirOf(runId), 'manifest.json'), 'utf8')) as Manifest;
  const entry = (runId: string, name: string) => manifestOf(runId).components.find((c) => c.name === name);
  /** Every file of a run, as searchable text: NPZ arrays and meta decoded, the rest as UTF-8. */
  function runText(runDir: string): Map<string, string> {
    const out = new Map<string, string>();
    const walk = (d: string): void => {
      for (const name of readdirSync(d)) {
        const path = join(d, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.npz'))
          out.set(
            path,
            JSON.stringify(decodeNpz(readFileSync(path)), (_k, v: unknown) =>
              typeof v === 'bigint' ? String(v) : v,
            ),
          );
        else out.set(path, readFileSync(path, 'utf8'));
      }
    };
    walk(runDir);
    return out;
  }

  beforeAll(() => {
    const caption = join(dir, 'caption.txt');
    // (no `%`: drawtext expands it and then draws nothing)
    writeFileSync(caption, 'SUMMER SALE TODAY');
    ffmpeg([
      ...['-f', 'lavfi', '-i', 'color=c=white:s=1280x720:r=25:d=6'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=6'],
      '-vf',
      `drawtext=fontfile=${FONTS.sansBold}:textfile=${caption}:fontsize=72:fontcolor=black:x=120:y=300`,
      ...['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', video],
    ]);
    writeFileSync(
      docPath,
      JSON.stringify({
        title: `${CANARY} My summer sale video`,
        description: `${CANARY} Everything half price this week. Visit https://shop.example.com/${CANARY}!`,
        tags: [CANARY, 'sale'],
        transcript: `${CANARY} Welcome to the sale.`,
        comments: [
          { text: `${CANARY} great deals!`, author: CANARY, likes: 3, published_at: '2024-06-01T10:00:00Z' },
          { text: 'Is shipping free?', author: 'b', likes: 1, published_at: '2024-06-01T11:00:00Z' },
        ],
      } satisfies VideoDocument),
    );
  });

  it('a canary in every document field reaches no NPZ, manifest, state file, event log or output; audit passes', () => {
    const r = cli([
      'run',
      video,
      ...['--out', store, '--video-id', 'cap', '--run-id', 'canary'],
      ...['--components', 'text_processor', '--document', docPath, '--json'],
    ]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toContain(CANARY);
    const runDir = runDirOf('canary');
    expect(entry('canary', 'text_processor')).toMatchObject({ status: 'ok' });
    const files = runText(runDir);
    // the raw policy is off: no scratch is left
    expect([...files.keys()].some((p) => p.includes('_tmp_'))).toBe(false);
    expect([...files.keys()].some((p) => p.endsWith('state_events.jsonl'))).toBe(true);
    for (const [path, text] of files) expect(text.includes(CANARY), path).toBe(false);
    const npz = loadNpzWithNumpy(join(runDir, 'text_processor', 'text_features.npz'));
    const names = npz.arrays.field_names?.values as string[];
    const at = (array: string, field: string) =>
      (npz.arrays[array]?.values as unknown[])[names.indexOf(field)];
    expect(at('field_empty_reason', 'asr')).toBe('dependency_empty');
    expect(at('language', 'description')).toBe('en');
    expect(npz.meta.status).toBe('ok');
    expect(cli(['audit', runDir]).code).toBe(0);
  });

  it('--store-raw-payload keeps the raw text in _tmp_text only; --set of the raw key without it is refused', () => {
    const refused = cli([
      'run',
      video,
      ...['--out', store, '--video-id', 'cap', '--run-id', 'rawset'],
      ...['--components', 'text_processor', '--document', docPath],
      ...['--set', 'text_processor.store_raw_payload=true'],
    ]);
    expect(refused.code).toBe(2);
    expect(refused.out).toMatch(/INPUT_INVALID[\s\S]*--store-raw-payload/);
    expect(existsSync(runDirOf('rawset'))).toBe(false);
    const r = cli([
      'run',
      video,
      ...['--out', store, '--video-id', 'cap', '--run-id', 'raw'],
      ...['--components', 'text_processor', '--document', docPath, '--store-raw-payload'],
    ]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toContain(CANARY);
    const runDir = runDirOf('raw');
    const raw = loadNpzWithNumpy(join(runDir, '_tmp_text', 'raw_payload.npz'));
    expect((raw.arrays.field_text?.values as string[]).some((t) => t.includes(CANARY))).toBe(true);
    expect(raw.arrays.hard_cap_days?.values).toBe(7);
    const days = (Date.parse(String(raw.arrays.expires_at?.values)) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);
    for (const [path, text] of runText(runDir))
      if (!path.includes('_tmp_')) expect(text.includes(CANARY), path).toBe(false);
    const npz = loadNpzWithNumpy(join(runDir, 'text_processor', 'text_features.npz'));
    expect(npz.meta.raw_payload).toBe('_tmp_text/raw_payload.npz');
    // the raw policy is part of the text_processor config, so the canary run is no cache hit
    expect(entry('raw', 'text_processor')?.cache_hit).toBe(false);
    expect(cli(['audit', runDir]).code).toBe(0);
  });

  // Needs the scheduler to run optional dependencies first (ORCHESTRATION_AND_CACHING: "Optional
  // dependencies … run before the reader when they are in the run").
  it('after a cached visual run the text run still gets the OCR handoff (ocr recomputed, not adopted)', () => {
    // another document than the canary run's, so text_processor itself is no cache hit
    const otherDoc = join(dir, 'other.json');
    writeFileSync(otherDoc, JSON.stringify({ title: 'Another title' } satisfies VideoDocument));
    const first = cli([
      'run',
      video,
      '--out',
      store,
      '--video-id',
      'cap',
      '--run-id',
      'vis',
      '--components',
      'ocr',
    ]);
    expect(first.code, first.out).toBe(0);
    const second = cli([
      'run',
      video,
      ...['--out', store, '--video-id', 'cap', '--run-id', 'txt'],
      ...['--components', 'text_processor,ocr', '--document', otherDoc],
    ]);
    expect(second.code, second.out).toBe(0);
    expect(entry('vis', 'ocr')?.status).toBe('ok');
    expect(entry('txt', 'text_processor')?.cache_hit).toBe(false);
    expect(entry('txt', 'ocr')?.cache_hit).toBe(false);
    const npz = loadNpzWithNumpy(join(runDirOf('txt'), 'text_processor', 'text_features.npz'));
    const names = npz.arrays.field_names?.values as string[];
    const at = (array: string) => (npz.arrays[array]?.values as unknown[])[names.indexOf('ocr')];
    expect(at('field_present')).toBe(true);
    // the caption, read on every frame, is one distinct string
    expect(at('item_count')).toBe(1);
    expect(at('word_count')).toBe(3);
  });

  it('a run without a document: text_processor is empty with no_text_input, not an error', () => {
    const r = cli([
      'run',
      video,
      '--out',
      store,
      '--video-id',
      'cap',
      '--run-id',
      'nodoc',
      '--components',
      'text_processor',
    ]);
    expect(r.code, r.out).toBe(0);
    expect(entry('nodoc', 'text_processor')).toMatchObject({ status: 'empty' });
    const { meta } = loadNpzWithNumpy(join(runDirOf('nodoc'), 'text_processor', 'text_features.npz'));
    expect(meta).toMatchObject({ status: 'empty', empty_reason: 'no_text_input' });
  });
});
