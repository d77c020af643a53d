/**
 * Whisper decoding over the model system: the tokenizer (decode side of Hugging Face's
 * `tokenizer.json`, byte-level BPE) and a greedy decoder loop over a `LoadedModel` with the
 * `whisper-tiny-decoder` signature (`input_ids`, `encoder_hidden_states` → `logits`).
 *
 * Per 30 s window: one decoder call on `<|startoftranscript|>` gives the language (argmax over
 * the language tokens) and `no_speech_prob` (softmax over the whole vocabulary at that position,
 * as openai-whisper reads it); then greedy decoding from
 * `<|startoftranscript|><|lang|><|transcribe|><|notimestamps|>`, every special token except
 * `<|endoftext|>` suppressed, until `<|endoftext|>` or `maxTokens`. No KV cache (the decoder is
 * run on the whole sequence each step), no beam search, no temperature fallback, no timestamps:
 * a window gives at most one segment.
 */
import { readFileSync } from 'node:fs';
import { DataProcessorError } from '../../../contracts/index.js';
import { tensor, type LoadedModel, type Tensor } from '../../../models/index.js';

/** GPT-2's byte ↔ printable-unicode table (byte-level BPE). */
function bytesToUnicode(): Map<string, number> {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n += 1;
    }
  }
  return new Map(bs.map((b, i) => [String.fromCodePoint(cs[i] as number), b]));
}
const UNICODE_TO_BYTE = bytesToUnicode();

/** The special tokens Whisper decoding needs, by id. */
export interface WhisperSpecials {
  eot: number;
  sot: number;
  transcribe: number;
  noTimestamps: number;
  noSpeech: number;
  /** Language tokens in id order, with their codes (`en`, `de`, …). */
  languages: { id: number; code: string }[];
}

/** Decode side of a Whisper `tokenizer.json`. */
export class WhisperTokenizer {
  readonly specials: WhisperSpecials;
  readonly size: number;
  private readonly tokens: string[];
  private readonly special: Set<number>;

  constructor(json: unknown) {
    const doc = json as {
      model?: { vocab?: Record<string, number> };
      added_tokens?: { id: number; content: string; special?: boolean }[];
    };
    const vocab = doc.model?.vocab;
    if (vocab === undefined || typeof vocab !== 'object')
      throw new DataProcessorError('CONTRACT_VIOLATION', 'tokenizer.json has no model.vocab');
    this.tokens = [];
    for (const [token, id] of Object.entries(vocab)) this.tokens[id] = token;
    this.special = new Set();
    const byContent = new Map<string, number>();
    for (const t of doc.added_tokens ?? []) {
      this.tokens[t.id] = t.content;
      byContent.set(t.content, t.id);
      if (t.special !== false) this.special.add(t.id);
    }
    this.size = this.tokens.length;
    const need = (content: string): number => {
      const id = byContent.get(content);
      if (id === undefined)
        throw new DataProcessorError(
          'CONTRACT_VIOLATION',
          `tokenizer.json lacks the Whisper token ${content}`,
        );
      return id;
    };
    const languages = [...byContent.entries()]
      .filter(([c]) => /^<\|[a-z]{2,3}\|>$/.test(c))
      .map(([c, id]) => ({ id, code: c.slice(2, -2) }))
      .sort((a, b) => a.id - b.id);
    if (languages.length === 0)
      throw new DataProcessorError('CONTRACT_VIOLATION', 'tokenizer.json has no language tokens');
    this.specials = {
      eot: need('<|endoftext|>'),
      sot: need('<|startoftranscript|>'),
      transcribe: need('<|transcribe|>'),
      noTimestamps: need('<|notimestamps|>'),
      noSpeech: byContent.get('<|nospeech|>') ?? need('<|nocaptions|>'),
      languages,
    };
  }

  static fromFile(path: string): WhisperTokenizer {
    return new WhisperTokenizer(JSON.parse(readFileSync(path, 'utf8')));
  }

  isSpecial(id: number): boolean {
    return this.special.has(id);
  }

  /** Text of ordinary tokens (specials skipped): byte-level pieces → bytes → UTF-8. */
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    for (const id of ids) {
      if (this.special.has(id)) continue;
      const token = this.tokens[id];
      if (token === undefined)
        throw new DataProcessorError('CONTRACT_VIOLATION', `token id ${id} is not in the vocabulary`);
      for (const ch of token) {
        const b = UNICODE_TO_BYTE.get(ch);
        if (b !== undefined) bytes.push(b);
      }
    }
    return new TextDecoder('utf-8', { fatal: false }).decode(Uint8Array.from(bytes));
  }
}

/** What decoding one window gave. */
export interface WindowDecode {
  /** Index into `specials.languages`. */
  languageIndex: number;
  noSpeechProb: number;
  /** Generated ordinary tokens (without the prompt and `<|endoftext|>`). */
  tokens: number[];
  /** Mean log-probability of the generated tokens including `<|endoftext|>` (openai-whisper's `avg_logprob`). */
  avgLogprob: number;
  /** `<|endoftext|>` was reached (false: stopped at maxTokens). */
  finished: boolean;
}

function logSoftmax(row: Float32Array, allowed: (id: number) => boolean): { best: number; logprob: number } {
  let max = -Infinity;
  let best = -1;
  for (let v = 0; v < row.length; v++) {
    if (!allowed(v)) continue;
    const x = row[v] as number;
    if (x > max) {
      max = x;
      best = v;
    }
  }
  let sum = 0;
  for (let v = 0; v < row.length; v++) if (allowed(v)) sum += Math.exp((row[v] as number) - max);
  return { best, logprob: -Math.log(sum) };
}

/** Logits of the last position of every sequence: `[N, S, V]` → N rows of V. */
function lastRow(logits: Tensor, item: number): Float32Array {
  const [, s, v] = logits.dims as [number, number, number];
  const data = logits.data as Float32Array;
  const start = (item * s + (s - 1)) * v;
  return data.subarray(start, start + v);
}

/**
 * Greedy-decodes one window from its encoder output `[1, 1500, 384]` (see the module comment).
 * `maxTokens` bounds the generated tokens (Whisper's sample_len is 224 for 30 s).
 */
export async function decodeWindow(
  decoder: LoadedModel,
  tokenizer: WhisperTokenizer,
  encoderHidden: Tensor,
  maxTokens: number,
): Promise<WindowDecode> {
  const sp = tokenizer.specials;
  const run = async (ids: number[]): Promise<Float32Array> => {
    const out = await decoder.infer({
      input_ids: tensor('int64', BigInt64Array.from(ids.map((i) => BigInt(i))), [1, ids.length]),
      encoder_hidden_states: encoderHidden,
    });
    const logits = out.logits;
    if (logits === undefined || logits.dims.length !== 3 || logits.dims[2] !== tokenizer.size)
      throw new DataProcessorError(
        'CONTRACT_VIOLATION',
        `${decoder.card.name} logits are [${logits?.dims.join(', ') ?? ''}]; the tokenizer has ${tokenizer.size} tokens`,
      );
    return lastRow(logits, 0);
  };
  const first = await run([sp.sot]);
  // Language: argmax over the language tokens; no_speech: softmax over the whole vocabulary.
  let languageIndex = 0;
  sp.languages.forEach((l, i) => {
    if ((first[l.id] as number) > (first[sp.languages[languageIndex]?.id ?? 0] as number)) languageIndex = i;
  });
  const all = logSoftmax(first, () => true);
  const noSpeechProb = Math.exp((first[sp.noSpeech] as number) - (first[all.best] as number) + all.logprob);
  const language = sp.languages[languageIndex]?.id ?? sp.languages[0]?.id ?? sp.sot;
  const ids = [sp.sot, language, sp.transcribe, sp.noTimestamps];
  const tokens: number[] = [];
  let logprobSum = 0;
  let finished = false;
  const allowed = (v: number): boolean => v === sp.eot || !tokenizer.isSpecial(v);
  while (tokens.length < maxTokens) {
    const { best, logprob } = logSoftmax(await run(ids), allowed);
    logprobSum += logprob;
    if (best === sp.eot) {
      finished = true;
      break;
    }
    tokens.push(best);
    ids.push(best);
  }
  return {
    languageIndex,
    noSpeechProb,
    tokens,
    avgLogprob: logprobSum / (tokens.length + (finished ? 1 : 0) || 1),
    finished,
  };
}
