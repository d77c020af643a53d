// SentencePiece unigram encoding (Viterbi over the piece lattice) for the Universal Sentence
// Encoder Lite vocabulary: a port of `Tokenizer.encode` from @tensorflow-models/universal-sentence-encoder
// (Copyright 2019 Google LLC, Apache-2.0), itself a port of SentencePiece's `EncodeAsIds`
// (https://arxiv.org/abs/1804.10959). Ported rather than imported: the packages that ship it either
// pin TFJS 3 as a peer (ours is 4.22) or load a second TFJS runtime at import (@energetic-ai/core).
// Differences from the port: lengths are counted in code points throughout (the original steps back
// by UTF-16 length, which misplaces pieces outside the BMP), and the trie is a Map per node.
import { readFileSync } from 'node:fs';
import { DataProcessorError } from '../../contracts/index.js';

/** U+2581 LOWER ONE EIGHTH BLOCK: SentencePiece's word-boundary marker. */
const SEPARATOR = '\u2581';
/** Pieces 0..5 are `<unk>`, `<s>`, `</s>` and three user-defined symbols: never matched. */
const RESERVED_PIECES = 6;
const UNKNOWN_ID = 0;

interface TrieNode {
  children: Map<string, TrieNode>;
  /** Piece id ending here, or −1. */
  id: number;
  score: number;
  /** Piece length in code points. */
  length: number;
}

const node = (length: number): TrieNode => ({ children: new Map(), id: -1, score: 0, length });

/**
 * A `[piece, score]` vocabulary as shipped in USE's `vocab.json`. A null score (7 pieces of USE's
 * vocabulary, e.g. `:` and `://`: user-defined symbols) counts as 0, as in the reference.
 */
export type UnigramVocabulary = readonly (readonly [string, number | null])[];

/** SentencePiece unigram tokenizer over a `[piece, log-probability]` vocabulary. */
export class UnigramTokenizer {
  private readonly root = node(0);

  constructor(readonly vocabulary: UnigramVocabulary) {
    for (let id = RESERVED_PIECES; id < vocabulary.length; id++) {
      const [piece, score] = vocabulary[id] as readonly [string, number | null];
      let at = this.root;
      for (const symbol of piece) {
        let next = at.children.get(symbol);
        if (next === undefined) {
          next = node(at.length + 1);
          at.children.set(symbol, next);
        }
        at = next;
      }
      at.id = id;
      at.score = score ?? 0;
    }
  }

  /** Reads a `vocab.json` (`[[piece, score], …]`); CONTRACT_VIOLATION when it is not one. */
  static fromFile(path: string): UnigramTokenizer {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    const isVocabulary =
      Array.isArray(parsed) &&
      parsed.length > RESERVED_PIECES &&
      parsed.every(
        (e) =>
          Array.isArray(e) &&
          e.length === 2 &&
          typeof e[0] === 'string' &&
          (typeof e[1] === 'number' || e[1] === null),
      );
    if (!isVocabulary)
      throw new DataProcessorError('CONTRACT_VIOLATION', `${path} is not a [piece, score] vocabulary`);
    return new UnigramTokenizer(parsed as UnigramVocabulary);
  }

  /** Piece ids of `text` (NFKC, spaces as U+2581, a leading U+2581); runs of unknown symbols are one id 0. */
  encode(text: string): number[] {
    const normalised = text.normalize('NFKC');
    if (normalised.length === 0) return [];
    const symbols = [...(SEPARATOR + normalised.replace(/ /g, SEPARATOR))];
    const n = symbols.length;
    // best[end]: score of the best segmentation of symbols[0, end); 0 = none yet (scores are < 0).
    const best = new Float64Array(n + 1);
    const bestId = new Int32Array(n + 1);
    const bestLength = new Int32Array(n + 1);
    // Candidates are visited by end position, then by start (ascending) as the reference does:
    // ties go to the later candidate (`>=`).
    const ending: { start: number; id: number; score: number; length: number }[][] = Array.from(
      { length: n + 1 },
      () => [],
    );
    for (let start = 0; start < n; start++) {
      let at = this.root.children.get(symbols[start] as string);
      let matched = false;
      for (let i = start; at !== undefined;) {
        if (at.id >= 0) {
          ending[start + at.length]?.push({ start, id: at.id, score: at.score, length: at.length });
          matched = true;
        }
        i++;
        at = i < n ? at.children.get(symbols[i] as string) : undefined;
      }
      if (!matched) ending[start + 1]?.push({ start, id: UNKNOWN_ID, score: 0, length: 1 });
    }
    for (let end = 1; end <= n; end++) {
      const candidates = (ending[end] ?? []).sort((a, b) => a.start - b.start);
      for (const c of candidates) {
        const score = c.score + (best[end - c.length] as number);
        if (best[end] === 0 || score >= (best[end] as number)) {
          best[end] = score;
          bestId[end] = c.id;
          bestLength[end] = c.length;
        }
      }
    }
    const ids: number[] = [];
    for (let end = n; end > 0; end -= Math.max(1, bestLength[end] as number)) {
      const id = bestId[end] as number;
      if (!(id === UNKNOWN_ID && ids[ids.length - 1] === UNKNOWN_ID)) ids.push(id);
    }
    return ids.reverse();
  }
}
