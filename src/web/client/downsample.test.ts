import { describe, expect, it } from 'vitest';
import { MAX_DISPLAY_POINTS, displayIndices, pick } from './downsample.js';

/** A deterministic 10k-point random walk with a few spikes, dips and a gap (NaN). */
function series(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed;
  let value = 0;
  for (let i = 0; i < length; i += 1) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    value += (state / 2 ** 31 - 0.5) * 0.2;
    out[i] = value;
  }
  out[1234] = 50;
  out[7777] = -50;
  for (let i = 4000; i < 4010; i += 1) out[i] = Number.NaN;
  return out;
}

describe('display downsampling', () => {
  it('draws short series as they are', () => {
    expect(displayIndices(MAX_DISPLAY_POINTS, [new Float32Array(MAX_DISPLAY_POINTS)])).toBeNull();
    expect(pick(Float32Array.from([1, Number.NaN, 3]), null)).toEqual([1, null, 3]);
  });

  it('keeps a subset of the original samples of 10k-point series: ends, extremes and gaps', () => {
    const n = 10_000;
    const a = series(n, 1);
    const b = series(n, 2);
    const started = performance.now();
    const indices = displayIndices(n, [a, b]);
    const elapsedMs = performance.now() - started;
    expect(indices).not.toBeNull();
    const kept = Array.from(indices ?? []);
    expect(kept.length).toBeLessThanOrEqual(MAX_DISPLAY_POINTS);
    expect(kept.length).toBeGreaterThan(MAX_DISPLAY_POINTS / 4);
    expect(kept).toEqual([...kept].sort((x, y) => x - y));
    expect(new Set(kept).size).toBe(kept.length);
    expect(kept[0]).toBe(0);
    expect(kept[kept.length - 1]).toBe(n - 1);
    // The spike, the dip and the gap survive.
    expect(kept).toContain(1234);
    expect(kept).toContain(7777);
    expect(kept.some((i) => i >= 4000 && i < 4010)).toBe(true);
    // Drawn values are the originals at those indices, never averages.
    const drawn = pick(a, indices);
    kept.forEach((index, k) => {
      const original = a[index] as number;
      expect(drawn[k]).toBe(Number.isNaN(original) ? null : original);
    });
    const finite = Array.from(a).filter((v) => !Number.isNaN(v));
    const drawnFinite = drawn.filter((v): v is number => v !== null);
    expect(Math.max(...drawnFinite)).toBe(Math.max(...finite));
    expect(Math.min(...drawnFinite)).toBe(Math.min(...finite));
    console.log(`downsample 2 × 10k points → ${kept.length} in ${elapsedMs.toFixed(2)} ms`);
    expect(elapsedMs).toBeLessThan(200);
  });
});
