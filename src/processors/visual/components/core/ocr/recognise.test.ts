import { describe, expect, it } from 'vitest';
import type { Quad } from './geometry.js';
import {
  ctcAlphabet,
  ctcGreedyDecode,
  decodeCls,
  orientQuad,
  preprocessRec,
  recInputWidth,
  scaledWidth,
} from './recognise.js';

describe('CTC greedy decoding', () => {
  const alphabet = ctcAlphabet('a\nb\n');

  it('puts the blank first and a space last', () => {
    expect(alphabet).toEqual(['', 'a', 'b', ' ']);
  });

  it('merges repeats, keeps repeats split by a blank, drops blanks', () => {
    // Steps: a a _ a b b _ ' ' → "aab "
    const path = [1, 1, 0, 1, 2, 2, 0, 3];
    const probs = new Float32Array(path.length * 4);
    path.forEach((c, t) => {
      probs.fill(0.05, t * 4, t * 4 + 4);
      probs[t * 4 + c] = c === 2 ? 0.6 : 0.85;
    });
    const [line] = ctcGreedyDecode(probs, 1, path.length, alphabet);
    expect(line?.text).toBe('aab ');
    expect(line?.chars).toBe(4);
    // Kept steps: t0 (0.85), t3 (0.85), t4 (0.6), t7 (0.85).
    expect(line?.score).toBeCloseTo((0.85 * 3 + 0.6) / 4);
  });

  it('decodes a batch and gives an all-blank line score 0', () => {
    const probs = new Float32Array(2 * 2 * 4);
    probs[0] = 1; // line 0: blank, blank
    probs[4] = 1;
    probs[8 + 2] = 1; // line 1: b, blank
    probs[12] = 1;
    const lines = ctcGreedyDecode(probs, 2, 2, alphabet);
    expect(lines.map((l) => [l.text, l.score])).toEqual([
      ['', 0],
      ['b', 1],
    ]);
  });
});

describe('line crops', () => {
  const horizontal: Quad = [
    [10, 10],
    [110, 10],
    [110, 30],
    [10, 30],
  ];

  it('scales a line to height 48 keeping its aspect, capped', () => {
    expect(scaledWidth(horizontal, 48, 1280)).toBe(240);
    expect(scaledWidth(horizontal, 48, 100)).toBe(100);
  });

  it('turns tall crops by 90° and flipped ones by 180°', () => {
    const tall: Quad = [
      [0, 0],
      [10, 0],
      [10, 40],
      [0, 40],
    ];
    expect(orientQuad(tall, false)[0]).toEqual([0, 40]);
    expect(orientQuad(horizontal, false)).toEqual(horizontal);
    expect(orientQuad(horizontal, true)[0]).toEqual([110, 30]);
  });

  it('reads the 180° label at the threshold', () => {
    expect(decodeCls(Float32Array.from([0.95, 0.05, 0.05, 0.95, 0.2, 0.8]))).toEqual([false, true, false]);
  });

  it('pads each line to the next multiple of 32 px and batches only lines of one padded width', () => {
    const frame = new Uint8Array(200 * 100 * 3).fill(255);
    const quad = (w: number): Quad => [
      [0, 0],
      [w, 0],
      [w, 24],
      [0, 24],
    ];
    // At 48 px high: 240, 48, 120, 50, 56 px wide → padded 256, 64, 128, 64, 64.
    const quads = [quad(120), quad(24), quad(60), quad(25), quad(28)];
    const batches = preprocessRec(Array(5).fill(frame) as Uint8Array[], 200, 100, quads, 2);
    expect(batches.map((b) => b.indices)).toEqual([[1, 3], [4], [2], [0]]);
    expect(batches.map((b) => b.width)).toEqual([64, 64, 128, 256]);
    const first = batches[0];
    // Line 1 (48 px wide) is white (normalised 1) then padded with 0 up to 64.
    expect(first?.data[0]).toBeCloseTo(1);
    expect(first?.data[47]).toBeCloseTo(1);
    expect(first?.data[48]).toBe(0);
    // A line's input does not depend on its batch: line 4 alone is the same as in any batch.
    const alone = preprocessRec([frame], 200, 100, [quad(28)], 16)[0];
    expect(alone?.width).toBe(64);
    expect(Array.from(alone?.data ?? [])).toEqual(Array.from(batches[1]?.data ?? []));
    expect(recInputWidth(1)).toBe(32);
    expect(recInputWidth(64)).toBe(64);
    expect(recInputWidth(65)).toBe(96);
  });
});
