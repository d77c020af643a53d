// The onset envelope's parts against known transforms and known signals: fft.js' real transform
// against a direct DFT, the mel scale against Slaney's published break points, frame counts and
// timing against the framing rule, and block-size independence of the streaming detector.
import { describe, expect, it } from 'vitest';
import {
  OnsetStrength,
  PowerSpectrum,
  hannWindow,
  hzToMel,
  melFilterbank,
  melToHz,
  onsetParameters,
} from './onset.js';

/** |X_k|² by the DFT's definition, in float64 (the independent reference). */
function directPower(x: Float64Array): Float64Array {
  const n = x.length;
  return Float64Array.from({ length: n / 2 + 1 }, (_, k) => {
    let re = 0;
    let im = 0;
    for (let t = 0; t < n; t += 1) {
      re += (x[t] as number) * Math.cos((2 * Math.PI * k * t) / n);
      im -= (x[t] as number) * Math.sin((2 * Math.PI * k * t) / n);
    }
    return re * re + im * im;
  });
}

function envelopeOf(samples: Float32Array, blockFrames: number, sampleRate = 48000): Float32Array {
  const detector = new OnsetStrength(sampleRate, 1);
  for (let i = 0; i < samples.length; i += blockFrames) detector.push([samples.subarray(i, i + blockFrames)]);
  return detector.finish().envelope;
}

describe('PowerSpectrum (fft.js real transform)', () => {
  it('matches a direct DFT on a pseudo-random frame to 1e-9 relative', () => {
    let seed = 7;
    const x = Float64Array.from({ length: 256 }, () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648 - 0.5;
    });
    const fast = new PowerSpectrum(256).compute(x, new Float64Array(129));
    const slow = directPower(x);
    const peak = Math.max(...slow);
    fast.forEach((v, k) => expect(Math.abs(v - (slow[k] as number)) / peak).toBeLessThan(1e-9));
  });

  it('puts a bin-centred cosine of amplitude A at |X_k|² = (A·N/2)² and nothing elsewhere', () => {
    const n = 2048;
    const k = 100;
    const x = Float64Array.from({ length: n }, (_, t) => 0.5 * Math.cos((2 * Math.PI * k * t) / n));
    const power = new PowerSpectrum(n).compute(x, new Float64Array(n / 2 + 1));
    expect(power[k]).toBeCloseTo((0.5 * n * 0.5) ** 2, 3);
    expect(Math.max(...Array.from(power).filter((_, i) => i !== k))).toBeLessThan(
      1e-12 * (power[k] as number),
    );
  });
});

describe('mel filterbank', () => {
  it("uses Slaney's scale: linear to 1 kHz (15 mel), log above, and inverts exactly", () => {
    expect(hzToMel(1000)).toBeCloseTo(15, 12);
    expect(hzToMel(200)).toBeCloseTo(3, 12);
    expect(hzToMel(6400)).toBeCloseTo(15 + 27, 12); // 27 steps per factor 6.4
    for (const hz of [30, 440, 999, 1000, 4000, 11000]) expect(melToHz(hzToMel(hz))).toBeCloseTo(hz, 9);
  });

  it('covers 30 Hz–11 kHz with 64 triangles peaking at 1 whose centres rise', () => {
    const bank = melFilterbank(48000, 2048, 64, 30, 11000);
    expect(bank).toHaveLength(64);
    const centres = bank.map((f) => f.firstBin + f.weights.indexOf(Math.max(...f.weights)));
    for (let i = 1; i < centres.length; i += 1)
      expect(centres[i]).toBeGreaterThanOrEqual(centres[i - 1] as number);
    expect((bank.at(-1)?.firstBin ?? 0) + (bank.at(-1)?.weights.length ?? 0)).toBeLessThanOrEqual(
      Math.ceil((11000 / 48000) * 2048) + 1,
    );
    for (const f of bank) expect(Math.max(...f.weights)).toBeGreaterThan(0.3);
  });
});

describe('OnsetStrength', () => {
  it('frames 48 kHz audio at 10 ms with a 2048-point window: 1 + ⌊n/480⌋ frames', () => {
    expect(onsetParameters(48000)).toMatchObject({ hopLength: 480, frameLength: 2048, melBands: 64 });
    expect(onsetParameters(44100)).toMatchObject({ hopLength: 441, frameLength: 2048 });
    expect(envelopeOf(new Float32Array(48000 * 2 + 100).fill(0.1), 48000)).toHaveLength(1 + 200);
    expect(() => new OnsetStrength(4000, 1)).toThrow(RangeError);
  });

  it('peaks within 30 ms of a click and is zero on a steady tone', () => {
    const sampleRate = 48000;
    const samples = Float32Array.from(
      { length: sampleRate * 2 },
      (_, i) => 0.1 * Math.sin((2 * Math.PI * 440 * i) / sampleRate),
    );
    const clickAt = 1.2;
    const at = Math.round(clickAt * sampleRate);
    for (let i = 0; i < 240; i += 1) samples[at + i] = (samples[at + i] as number) + 0.5 * Math.exp(-i / 48);
    const envelope = envelopeOf(samples, 4800);
    const peak = envelope.indexOf(Math.max(...envelope));
    expect(Math.abs(peak * 0.01 - clickAt)).toBeLessThanOrEqual(0.03);
    // Away from the start (the tone's own onset) and the click, the steady tone gives no rise.
    const quiet = Array.from(envelope.subarray(20, 90));
    expect(Math.max(...quiet)).toBeLessThan(0.05 * (envelope[peak] as number));
  });

  it('gives the same envelope whatever the block size (streaming is exact)', () => {
    const samples = Float32Array.from(
      { length: 48000 * 3 },
      (_, i) => (i % 24000 < 200 ? 0.5 : 0) * Math.sin(i),
    );
    const whole = envelopeOf(samples, samples.length);
    expect(envelopeOf(samples, 1000)).toEqual(whole);
    expect(envelopeOf(samples, 333)).toEqual(whole);
  });

  it('reports digital silence and counts NaN/Infinity samples (analysed as 0)', () => {
    const silence = new OnsetStrength(48000, 2);
    silence.push([new Float32Array(48000), new Float32Array(48000)]);
    const quiet = silence.finish();
    expect(quiet.isDigitalSilence).toBe(true);
    expect(quiet.envelope.every((v) => v === 0)).toBe(true);
    const bad = new OnsetStrength(48000, 1);
    bad.push([Float32Array.of(Number.NaN, Number.POSITIVE_INFINITY, 0.5, ...new Float32Array(1000))]);
    const result = bad.finish();
    expect(result.nonFiniteSamples).toBe(2);
    expect(result.isDigitalSilence).toBe(false);
    expect(result.envelope.every(Number.isFinite)).toBe(true);
    expect(() => bad.push([new Float32Array(3), new Float32Array(3)])).toThrow(RangeError);
  });

  it('uses a periodic Hann window (sums to N/2)', () => {
    const w = hannWindow(2048);
    expect(w[0]).toBe(0);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1024, 9);
  });
});
