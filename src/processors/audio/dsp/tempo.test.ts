// Tempo estimation and beat tracking on synthetic onset envelopes with known periods (impulse
// trains at 100 frames/s), independent of the onset detector; the audio-level accuracy figures are
// in test/tempo-accuracy.test.ts.
import { describe, expect, it } from 'vitest';
import {
  autocorrelation,
  estimateTempo,
  highPass,
  minimumFrames,
  resolveTempoOptions,
  trackBeats,
} from './tempo.js';

const FPS = 100;

/** Impulses (a 3-frame bump) every `period` frames from `offset`, with optional sub-pulses. */
function pulses(
  frames: number,
  period: number,
  offset = 10,
  sub: { at: number; gain: number } | null = null,
): Float64Array {
  const x = new Float64Array(frames);
  const bump = (centre: number, gain: number): void => {
    const c = Math.round(centre);
    for (const [d, w] of [
      [-1, 0.5],
      [0, 1],
      [1, 0.5],
    ] as const)
      if (c + d >= 0 && c + d < frames) x[c + d] = (x[c + d] as number) + gain * w;
  };
  for (let t = offset; t < frames; t += period) {
    bump(t, 1);
    if (sub) bump(t + sub.at * period, sub.gain);
  }
  return x;
}

describe('estimateTempo', () => {
  it.each([60, 90, 120, 150, 180, 200])('reads an impulse train at %d BPM within 1 %%', (bpm) => {
    const estimate = estimateTempo(pulses(1200, (60 * FPS) / bpm), FPS);
    expect(estimate.nullReason).toBeNull();
    expect(Math.abs((estimate.bpm as number) / bpm - 1)).toBeLessThan(0.01);
    expect(estimate.confidence).toBeGreaterThan(0.5);
  });

  it('keeps the beat, not the subdivision, when off-beats are weaker (90 BPM with 8ths at 0.3)', () => {
    const estimate = estimateTempo(pulses(1200, (60 * FPS) / 90, 10, { at: 0.5, gain: 0.3 }), FPS);
    expect(Math.abs((estimate.bpm as number) / 90 - 1)).toBeLessThan(0.02);
  });

  it('is too_short below two periods of min_bpm, and the limit follows min_bpm', () => {
    expect(minimumFrames(FPS)).toBe(301);
    expect(estimateTempo(pulses(300, 50), FPS)).toMatchObject({
      bpm: null,
      nullReason: 'too_short',
      confidence: null,
    });
    expect(estimateTempo(pulses(300, 50), FPS, { minBpm: 60 }).bpm).toBeCloseTo(120, 0);
  });

  it('gives no_periodicity (with its low confidence) on a random envelope and on a flat one', () => {
    let seed = 3;
    const random = Float64Array.from({ length: 1500 }, () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    });
    const noisy = estimateTempo(random, FPS);
    expect(noisy).toMatchObject({ bpm: null, nullReason: 'no_periodicity' });
    expect(noisy.confidence).toBeLessThan(resolveTempoOptions().minConfidence);
    expect(estimateTempo(new Float64Array(1500).fill(2), FPS)).toMatchObject({ bpm: null, confidence: 0 });
  });

  it('rejects an empty or inverted tempo range', () => {
    expect(() => resolveTempoOptions({ minBpm: 200, maxBpm: 100 })).toThrow(RangeError);
    expect(() => estimateTempo(new Float64Array(10), FPS, { minBpm: 0 })).toThrow(RangeError);
  });
});

describe('trackBeats', () => {
  it('puts one beat on every impulse of a train (within one frame), trimming nothing real', () => {
    const period = (60 * FPS) / 128;
    const envelope = pulses(1000, period, 23);
    const beats = Array.from(trackBeats(envelope, period));
    const truth: number[] = [];
    for (let t = 23; t < 1000; t += period) truth.push(Math.round(t));
    expect(beats.length).toBeGreaterThanOrEqual(truth.length - 1);
    for (const b of beats) expect(Math.min(...truth.map((t) => Math.abs(t - b)))).toBeLessThanOrEqual(1);
  });

  it('follows the impulses across a gap, and returns nothing for a flat envelope', () => {
    const envelope = pulses(1000, 50, 10);
    envelope.fill(0, 400, 600);
    const beats = Array.from(trackBeats(envelope, 50));
    expect(
      beats.filter((b) => b > 400 && b < 600).every((b) => (b - 10) % 50 <= 1 || (b - 10) % 50 >= 49),
    ).toBe(true);
    expect(trackBeats(new Float64Array(500).fill(1), 50)).toHaveLength(0);
    expect(trackBeats(new Float64Array(0), 50)).toHaveLength(0);
  });
});

describe('helpers', () => {
  it('highPass removes a constant and autocorrelation is unbiased', () => {
    expect(Array.from(highPass(new Float64Array(50).fill(3), 11)).every((v) => Math.abs(v) < 1e-12)).toBe(
      true,
    );
    const r = autocorrelation(Float64Array.of(1, -1, 1, -1), 3);
    expect(Array.from(r)).toEqual([1, -1, 1, -1]);
  });
});
