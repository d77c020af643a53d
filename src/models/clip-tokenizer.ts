// The encode side of CLIP's tokenizer, read from a Hugging Face `tokenizer.json` (the file that
// ships beside the text tower): OpenAI CLIP's `simple_tokenizer.py` rules — NFC, whitespace
// collapsed, lower case, its pre-tokenising regex, GPT-2 bytes-to-unicode, byte-pair merges by
// rank with the `</w>` end-of-word suffix, then `<|startoftext|> … <|endoftext|>`.
import { readFileSync } from 'node:fs';
import { ContractViolationError } from '../contracts/index.js';

/** GPT-2's reversible map of the 256 byte values to printable code points (byte-level BPE). */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const out: string[] = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    out[b] = printable.includes(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + extra++);
  }
  return out;
}

/** CLIP's pre-tokenising pattern (simple_tokenizer.py, with Unicode classes). */
const PATTERN =
  /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;
export const CLIP_START = '<|startoftext|>';
export const CLIP_END = '<|endoftext|>';
const SUFFIX = '</w>';

interface TokenizerJson {
  added_tokens?: { id: number; content: string }[];
  model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[] };
}

/** A tokenised batch: ids and attention mask `[count, length]`, padded with `<|endoftext|>`. */
export interface TokenBatch {
  ids: BigInt64Array;
  mask: BigInt64Array;
  count: number;
  length: number;
}

export class ClipTokenizer {
  private readonly ranks = new Map<string, number>();
  private readonly byteChars = bytesToUnicode();
  readonly startId: number;
  readonly endId: number;

  constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    merges: readonly (readonly [string, string])[],
    specials: Record<string, number>,
  ) {
    merges.forEach(([a, b], rank) => this.ranks.set(`${a} ${b}`, rank));
    const start = specials[CLIP_START] ?? vocab.get(CLIP_START);
    const end = specials[CLIP_END] ?? vocab.get(CLIP_END);
    if (start === undefined || end === undefined)
      throw new ContractViolationError(`CLIP tokenizer.json lacks ${CLIP_START} or ${CLIP_END}`);
    this.startId = start;
    this.endId = end;
  }

  /** Reads a Hugging Face `tokenizer.json` of type BPE. */
  static fromJson(text: string): ClipTokenizer {
    const json = JSON.parse(text) as TokenizerJson;
    const model = json.model;
    if (!model?.vocab || !model.merges)
      throw new ContractViolationError('CLIP tokenizer.json has no model.vocab / model.merges');
    const merges = model.merges.map((m): [string, string] => {
      const pair = typeof m === 'string' ? m.split(' ') : m;
      if (pair.length !== 2) throw new ContractViolationError(`CLIP tokenizer.json: bad merge ${String(m)}`);
      return [pair[0] ?? '', pair[1] ?? ''];
    });
    const specials = Object.fromEntries((json.added_tokens ?? []).map((t) => [t.content, t.id]));
    return new ClipTokenizer(new Map(Object.entries(model.vocab)), merges, specials);
  }

  static fromFile(path: string): ClipTokenizer {
    return ClipTokenizer.fromJson(readFileSync(path, 'utf8'));
  }

  /** Ids of one text without the start/end tokens. */
  encodeWords(text: string): number[] {
    const clean = text.normalize('NFC').replace(/\s+/g, ' ').trim().toLowerCase();
    const ids: number[] = [];
    for (const match of clean.matchAll(PATTERN)) {
      const piece = match[0];
      const chars = Array.from(new TextEncoder().encode(piece), (b) => this.byteChars[b] ?? '');
      for (const token of this.bpe(chars)) {
        const id = this.vocab.get(token);
        if (id === undefined)
          throw new ContractViolationError(`CLIP tokenizer.json has no token for ${JSON.stringify(token)}`);
        ids.push(id);
      }
    }
    return ids;
  }

  /** Byte-pair merges of one pre-token (its last symbol carries `</w>`), lowest rank first. */
  private bpe(chars: string[]): string[] {
    if (chars.length === 0) return [];
    const symbols = [...chars];
    symbols[symbols.length - 1] = `${symbols[symbols.length - 1] ?? ''}${SUFFIX}`;
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.ranks.get(`${symbols[i] ?? ''} ${symbols[i + 1] ?? ''}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) return symbols;
      const a = symbols[best] ?? '';
      const b = symbols[best + 1] ?? '';
      // Merge every occurrence of the pair, left to right.
      for (let i = 0; i + 1 < symbols.length; i++)
        if (symbols[i] === a && symbols[i + 1] === b) symbols.splice(i, 2, a + b);
    }
  }

  /**
   * `<|startoftext|> ids <|endoftext|>` per text, truncated to `maxTokens` (the end token kept),
   * padded with `<|endoftext|>` to the longest (mask 0 on padding).
   */
  encodeBatch(texts: readonly string[], maxTokens = 77): TokenBatch {
    const rows = texts.map((t) => {
      const words = this.encodeWords(t).slice(0, Math.max(0, maxTokens - 2));
      return [this.startId, ...words, this.endId];
    });
    const length = Math.max(1, ...rows.map((r) => r.length));
    const ids = new BigInt64Array(rows.length * length).fill(BigInt(this.endId));
    const mask = new BigInt64Array(rows.length * length);
    rows.forEach((row, n) =>
      row.forEach((id, s) => {
        ids[n * length + s] = BigInt(id);
        mask[n * length + s] = 1n;
      }),
    );
    return { ids, mask, count: rows.length, length };
  }
}
