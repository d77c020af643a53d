// The detector's pure parts on hand-made thumbnail sequences whose answer is known by
// construction (the generated-video tests are in test/cuts.test.ts).
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DETECT_PARAMS,
  RGB_THUMB_COLS,
  RGB_THUMB_ROWS,
  blendFit,
  changeScores,
  detectTransitions,
  distance,
  isMotion,
  isTransient,
  shotStartPositions,
  switchedness,
  thumbsFromRgb,
  type Thumbs,
} from './detect.js';

const LUMA = RGB_THUMB_COLS * RGB_THUMB_ROWS;
const DIM = LUMA + 2 * (LUMA / 4);

/** Deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A picture: random cell values around `level` with spread `contrast` (chroma near 0.5). */
function picture(seed: number, level: number, contrast: number): Float32Array {
  const next = random(seed);
  const row = new Float32Array(DIM);
  for (let i = 0; i < DIM; i += 1)
    row[i] = i < LUMA ? level + (next() - 0.5) * contrast : 0.5 + (next() - 0.5) * contrast * 0.5;
  return row;
}

/** Adds per-cell noise of amplitude `amount` (sensor noise, small motion). */
function jitter(row: Float32Array, seed: number, amount: number): Float32Array {
  const next = random(seed);
  return row.map((v) => v + (next() - 0.5) * amount);
}

function thumbs(rows: Float32Array[]): Thumbs {
  const data = new Float32Array(rows.length * DIM);
  rows.forEach((r, k) => data.set(r, k * DIM));
  return { count: rows.length, dim: DIM, lumaCells: LUMA, data };
}

const mix = (a: Float32Array, b: Float32Array, alpha: number): Float32Array =>
  a.map((v, i) => (1 - alpha) * v + alpha * b[i]!);

const identity = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

describe('cut detection on thumbnails', () => {
  it('distance is the mean absolute change of luma and chroma, 0 for equal frames', () => {
    const a = picture(1, 0.5, 0.4);
    const b = a.map((v) => v + 0.1);
    const t = thumbs([a, a, b]);
    expect(distance(t, 0, 1)).toBe(0);
    expect(distance(t, 1, 2)).toBeCloseTo(0.1, 5);
    expect(Number.isNaN(changeScores(t)[0])).toBe(true);
  });

  it('finds a dark, low-contrast cut (jump ≈ 60× the noise around it) at its exact frame', () => {
    const a = picture(2, 0.08, 0.04);
    const b = picture(3, 0.08, 0.04);
    const rows = Array.from({ length: 120 }, (_, k) => jitter(k < 67 ? a : b, 100 + k, 0.002));
    const d = detectTransitions(thumbs(rows), identity(120), DEFAULT_DETECT_PARAMS);
    expect(d.cuts.map((c) => c.position)).toEqual([67]);
    expect(d.cuts[0]!.score).toBeLessThan(0.03);
    expect(d.shotStarts).toEqual([0, 67]);
  });

  it('does not cut on a 2-frame flash that returns to the same picture, nor on steady large motion', () => {
    const a = picture(4, 0.4, 0.3);
    const white = new Float32Array(DIM).fill(0.92);
    const flash = Array.from({ length: 60 }, (_, k) => (k === 30 || k === 31 ? white : jitter(a, k, 0.004)));
    const t = thumbs(flash);
    expect(isTransient(t, changeScores(t), 30, DEFAULT_DETECT_PARAMS)).toBe(true);
    expect(isTransient(t, changeScores(t), 32, DEFAULT_DETECT_PARAMS)).toBe(true);
    expect(detectTransitions(t, identity(60), DEFAULT_DETECT_PARAMS).cuts).toEqual([]);
    // Every frame a new random picture: every score high, none stands out.
    const busy = Array.from({ length: 60 }, (_, k) => picture(500 + k, 0.5, 0.4));
    expect(detectTransitions(thumbs(busy), identity(60), DEFAULT_DETECT_PARAMS).cuts).toEqual([]);
  });

  it('finds a 20-frame dissolve with its exact span, and a fade to black as fade_out', () => {
    const a = picture(5, 0.5, 0.4);
    const b = picture(6, 0.4, 0.4);
    const black = new Float32Array(DIM).fill(0.0627);
    for (let i = LUMA; i < DIM; i += 1) black[i] = 0.5;
    for (const [target, kind] of [
      [b, 'dissolve'],
      [black, 'fade_out'],
    ] as const) {
      // Frames 40..59 mix (alpha 1/21 … 20/21), 60 on are the new picture.
      const rows = Array.from({ length: 120 }, (_, k) =>
        jitter(mix(a, target, Math.min(1, Math.max(0, (k - 39) / 21))), k, 0.002),
      );
      const d = detectTransitions(thumbs(rows), identity(120), DEFAULT_DETECT_PARAMS);
      expect(d.cuts).toEqual([]);
      expect(d.gradual).toHaveLength(1);
      expect(d.gradual[0]!.kind).toBe(kind);
      expect(Math.abs(d.gradual[0]!.start - 40)).toBeLessThanOrEqual(2);
      expect(Math.abs(d.gradual[0]!.end - 60)).toBeLessThanOrEqual(2);
    }
  });

  it('blendFit gives the mix α of a blend; switchedness tells a wipe (0) from a dissolve (≈1 mid-way)', () => {
    const a = picture(7, 0.5, 0.4);
    const b = picture(8, 0.5, 0.4);
    const half = mix(a, b, 0.5);
    const wiped = a.map((v, i) => (i % RGB_THUMB_COLS < RGB_THUMB_COLS / 2 ? b[i]! : v));
    const t = thumbs([a, half, wiped, b]);
    expect(blendFit(t, 0, 3, 1).alpha).toBeCloseTo(0.5, 5);
    expect(blendFit(t, 0, 3, 1).residual).toBeCloseTo(0, 6);
    expect(switchedness(t, 0, 3, [1])).toBeGreaterThan(0.9);
    expect(switchedness(t, 0, 3, [2])).toBeLessThan(0.05);
  });

  it('isMotion recognises a picture shifted by whole cells (a pan), not one partly replaced (a wipe)', () => {
    const a = picture(9, 0.5, 0.6);
    const shifted = new Float32Array(DIM);
    for (let y = 0; y < RGB_THUMB_ROWS; y += 1)
      for (let x = 0; x < RGB_THUMB_COLS; x += 1)
        shifted[y * RGB_THUMB_COLS + x] = a[y * RGB_THUMB_COLS + Math.min(RGB_THUMB_COLS - 1, x + 3)]!;
    const b = picture(10, 0.5, 0.6);
    const wiped = a.map((v, i) => (i < LUMA && i % RGB_THUMB_COLS < 6 ? b[i]! : v));
    expect(isMotion(thumbs([a, shifted]), 0, 1)).toBe(true);
    expect(isMotion(thumbs([a, wiped]), 0, 1)).toBe(false);
  });

  it('thumbsFromRgb averages BT.601 limited-range Y/U/V per cell', () => {
    const w = 64;
    const h = 36;
    const pixels = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i += 1) pixels.set(i % w < w / 2 ? [255, 255, 255] : [0, 0, 0], i * 3);
    const t = thumbsFromRgb(pixels, w, h, 1);
    expect(t.data[0]! * 255).toBeCloseTo(235, 3); // white, left
    expect(t.data[RGB_THUMB_COLS - 1]! * 255).toBeCloseTo(16, 3); // black, right
    expect(t.data[LUMA]! * 255).toBeCloseTo(128, 3); // no chroma
  });

  it('shot starts: 0, the cuts, and gradual ends that leave both shots long enough', () => {
    const src = identity(100);
    expect(shotStartPositions(src, [30], [60, 98], 6)).toEqual([0, 30, 60]);
    expect(shotStartPositions(src, [30], [33], 6)).toEqual([0, 30]);
  });
});
