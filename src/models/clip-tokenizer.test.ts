// The CLIP tokenizer's encode side on hand-made tokenizer.json files whose merges give a known
// answer, and the synthetic CLIP text stand-in run by ONNX Runtime against its documented function.
import { describe, expect, it } from 'vitest';
import { CLIP_END, CLIP_START, ClipTokenizer, bytesToUnicode } from './clip-tokenizer.js';
import {
  SYNTHETIC_CLIP_TEXT_COLOURS,
  buildSyntheticModel,
  syntheticClipColourEmbedding,
  syntheticClipTextTokenizerJson,
  syntheticClipTextVocab,
} from './synthetic.js';

function tokenizerJson(vocab: string[], merges: string[]): string {
  return JSON.stringify({
    added_tokens: [
      { id: vocab.indexOf(CLIP_START), content: CLIP_START },
      { id: vocab.indexOf(CLIP_END), content: CLIP_END },
    ],
    model: { type: 'BPE', vocab: Object.fromEntries(vocab.map((t, i) => [t, i])), merges },
  });
}

describe('bytesToUnicode', () => {
  it('is GPT-2’s table: printable bytes map to themselves, the rest from U+0100 on, all distinct', () => {
    const table = bytesToUnicode();
    expect(table).toHaveLength(256);
    expect(new Set(table).size).toBe(256);
    expect(table[65]).toBe('A');
    expect(table[32]).toBe('Ġ');
    expect(table[0]).toBe('Ā');
    expect(table[10]).toBe('Ċ');
  });
});

describe('ClipTokenizer', () => {
  // Merges by rank: "l o" (0), "lo w</w>" (1), "e r</w>" (2), "l ow</w>"… (absent).
  const vocab = [
    CLIP_START,
    CLIP_END,
    'l',
    'o',
    'w',
    'e',
    'r',
    'w</w>',
    'r</w>',
    'o</w>',
    'lo',
    'low</w>',
    'er</w>',
    '!</w>',
  ];
  const tok = ClipTokenizer.fromJson(tokenizerJson(vocab, ['l o', 'lo w</w>', 'e r</w>']));
  const id = (t: string) => vocab.indexOf(t);

  it('lower-cases, splits words, applies merges by rank with the </w> suffix', () => {
    expect(tok.encodeWords('  LOW   lower!')).toEqual([
      id('low</w>'),
      id('lo'),
      id('w'),
      id('er</w>'),
      id('!</w>'),
    ]);
  });

  it('wraps texts in start/end tokens and pads with the end token, mask 0 on padding', () => {
    const batch = tok.encodeBatch(['low', 'low low']);
    expect(batch.length).toBe(4);
    expect(Array.from(batch.ids, Number)).toEqual([
      0,
      id('low</w>'),
      1,
      1,
      0,
      id('low</w>'),
      id('low</w>'),
      1,
    ]);
    expect(Array.from(batch.mask, Number)).toEqual([1, 1, 1, 0, 1, 1, 1, 1]);
  });

  it('truncates to maxTokens keeping the end token', () => {
    const batch = tok.encodeBatch(['low low low low'], 4);
    expect(Array.from(batch.ids, Number)).toEqual([0, id('low</w>'), id('low</w>'), 1]);
  });

  it('fails with CONTRACT_VIOLATION on a token the vocabulary lacks or a file without merges', () => {
    expect(() => tok.encodeWords('zzz')).toThrow(expect.objectContaining({ code: 'CONTRACT_VIOLATION' }));
    expect(() => ClipTokenizer.fromJson('{"model":{"vocab":{}}}')).toThrow(
      expect.objectContaining({ code: 'CONTRACT_VIOLATION' }),
    );
  });

  it('reads every colour word of the synthetic tokenizer as one token, other words as bytes', () => {
    const synthetic = ClipTokenizer.fromJson(syntheticClipTextTokenizerJson());
    const { vocab: words } = syntheticClipTextVocab();
    for (const word of Object.keys(SYNTHETIC_CLIP_TEXT_COLOURS))
      expect(synthetic.encodeWords(`a photo of ${word.toUpperCase()}`).at(-1)).toBe(
        words.indexOf(`${word}</w>`),
      );
    expect(synthetic.encodeWords('bread').map((i) => words[i])).toEqual(['b', 'r', 'e', 'a', 'd</w>']);
  });
});

describe('synthetic CLIP text stand-in', () => {
  it('outputs Σ over unmasked tokens of the colour rows (ONNX Runtime vs the documented function)', async () => {
    const ort = await import('onnxruntime-node');
    const model = buildSyntheticModel('clip-text');
    expect(model.card.inputs.map((i) => i.name)).toEqual(['input_ids', 'attention_mask']);
    expect(Object.keys(model.files).sort()).toEqual(['model.onnx', 'tokenizer.json']);
    const session = await ort.InferenceSession.create(model.files['model.onnx'] as Uint8Array);
    const tok = ClipTokenizer.fromJson(syntheticClipTextTokenizerJson());
    const texts = ['red', 'a red and blue', 'nothing here'];
    const batch = tok.encodeBatch(texts);
    const out = await session.run({
      input_ids: new ort.Tensor('int64', batch.ids, [batch.count, batch.length]),
      attention_mask: new ort.Tensor('int64', batch.mask, [batch.count, batch.length]),
    });
    const embeds = out.text_embeds?.data as Float32Array;
    const red = syntheticClipColourEmbedding([255, 0, 0]);
    const blue = syntheticClipColourEmbedding([0, 0, 255]);
    for (let j = 0; j < 512; j++) {
      expect(embeds[j]).toBeCloseTo(red[j] ?? NaN, 4);
      expect(embeds[512 + j]).toBeCloseTo((red[j] ?? NaN) + (blue[j] ?? NaN), 4);
      expect(embeds[1024 + j]).toBe(0);
    }
  });
});
