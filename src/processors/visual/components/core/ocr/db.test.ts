import { describe, expect, it } from 'vitest';
import { dbInputSize, postprocessDb } from './db.js';

describe('dbInputSize', () => {
  it('caps the longer side and rounds both to multiples of 32, never upscaling', () => {
    expect(dbInputSize(1280, 720, 960)).toEqual({ w: 960, h: 544 });
    expect(dbInputSize(640, 360, 960)).toEqual({ w: 640, h: 352 });
    expect(dbInputSize(10, 10, 960)).toEqual({ w: 32, h: 32 });
  });
});

describe('postprocessDb', () => {
  it('turns a text kernel into an unclipped box in frame pixels and drops weak or tiny blobs', () => {
    const w = 64;
    const h = 32;
    const prob = new Float32Array(w * h);
    const fill = (x0: number, y0: number, x1: number, y1: number, p: number): void => {
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) prob[y * w + x] = p;
    };
    fill(10, 10, 50, 16, 0.9); // a 40×6 kernel
    fill(10, 24, 30, 29, 0.4); // above the binarisation threshold but below the box score
    fill(60, 2, 62, 4, 0.95); // 2×2: below min size
    // The map is half the frame's resolution.
    const boxes = postprocessDb(prob, w, h, 128, 64);
    expect(boxes).toHaveLength(1);
    const box = boxes[0];
    expect(box?.score).toBeCloseTo(0.9);
    // Unclip: D = 240 × 1.5 / 92 = 3.913 map px per side, then × 2 to frame pixels.
    const d = (240 * 1.5) / 92;
    const [tl, , br] = box?.quad ?? [];
    expect(tl?.[0]).toBeCloseTo((10 - d) * 2, 3);
    expect(tl?.[1]).toBeCloseTo((10 - d) * 2, 3);
    expect(br?.[0]).toBeCloseTo((50 + d) * 2, 3);
    expect(br?.[1]).toBeCloseTo((16 + d) * 2, 3);
  });

  it('orders lines top to bottom, then left to right on one line', () => {
    const w = 100;
    const h = 60;
    const prob = new Float32Array(w * h);
    const fill = (x0: number, y0: number, x1: number, y1: number): void => {
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) prob[y * w + x] = 0.9;
    };
    fill(60, 10, 90, 16); // right word on line 1
    fill(5, 11, 40, 17); // left word on line 1 (1 px lower)
    fill(5, 40, 50, 46); // line 2
    const xs = postprocessDb(prob, w, h, w, h).map((b) => Math.round(b.quad[0][0]));
    expect(xs.length).toBe(3);
    expect(xs[0]).toBeLessThan(10);
    expect(xs[1]).toBeGreaterThan(50);
    expect(xs[2]).toBeLessThan(10);
  });
});
