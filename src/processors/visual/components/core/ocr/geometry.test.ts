import { describe, expect, it } from 'vitest';
import { connectedComponents, convexHull, minAreaRect, rectCorners, unclipRect } from './geometry.js';

describe('connectedComponents', () => {
  it('labels 8-connected blobs', () => {
    // Two blobs: a diagonal pair (8-connected) top-left and a bar bottom-right.
    const mask = Uint8Array.from([
      1,
      0,
      0,
      0, //
      0,
      1,
      0,
      0, //
      0,
      0,
      0,
      0, //
      0,
      0,
      1,
      1, //
    ]);
    const { labels, count } = connectedComponents(mask, 4, 4);
    expect(count).toBe(2);
    expect(labels[0]).toBe(labels[5]);
    expect(labels[14]).toBe(labels[15]);
    expect(labels[0]).not.toBe(labels[14]);
    expect(labels[2]).toBe(0);
  });
});

describe('convexHull and minAreaRect', () => {
  it('drops interior points', () => {
    const hull = convexHull([0, 0, 4, 0, 4, 4, 0, 4, 2, 2, 1, 3]);
    expect(hull.length / 2).toBe(4);
  });

  it('finds an axis-aligned rectangle', () => {
    const r = minAreaRect([0, 0, 10, 0, 10, 4, 0, 4, 5, 2]);
    expect(r.w).toBeCloseTo(10);
    expect(r.h).toBeCloseTo(4);
    expect(r.cx).toBeCloseTo(5);
    expect(r.cy).toBeCloseTo(2);
    expect(r.angle).toBeCloseTo(0);
  });

  it('finds a rotated rectangle and returns its corners', () => {
    // A 20×6 rectangle centred at (50, 40) rotated by 30°.
    const truth = { cx: 50, cy: 40, w: 20, h: 6, angle: Math.PI / 6 };
    const corners = rectCorners(truth).flat();
    const r = minAreaRect(corners);
    expect(r.w).toBeCloseTo(20);
    expect(r.h).toBeCloseTo(6);
    expect(r.cx).toBeCloseTo(50);
    expect(r.cy).toBeCloseTo(40);
    expect(r.angle).toBeCloseTo(Math.PI / 6);
    // Corners come clockwise from top-left in y-down coordinates.
    const [tl, tr] = rectCorners(r);
    expect(tr[0]).toBeGreaterThan(tl[0]);
  });
});

describe('unclipRect', () => {
  it('grows every side by area × ratio / perimeter', () => {
    // 100×10: D = 1000 × 1.5 / 220 = 6.818…
    const r = unclipRect({ cx: 0, cy: 0, w: 100, h: 10, angle: 0 }, 1.5);
    expect(r.w).toBeCloseTo(100 + 2 * (1500 / 220));
    expect(r.h).toBeCloseTo(10 + 2 * (1500 / 220));
  });
});
