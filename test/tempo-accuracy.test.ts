// Tempo and beat accuracy of the Audio processor's DSP on generated rhythmic signals whose tempo
// and beat times are known from the generator (MIREX measures: Accuracy1 = within ±4 %,
// Accuracy2 = also at ×2, ×3, ×½, ×⅓; beat F-measure with a ±70 ms window). The analysis runs
// in this thread on in-memory 48 kHz signals pushed in 1 s blocks (the same code the worker runs
// on the WAV); the component and the real decode path are tested in test/tempo.test.ts.
import { describe, expect, it } from 'vitest';
import { TempoAnalyzer, type TempoResult } from '../src/processors/audio/index.js';
import {
  beatFMeasure,
  clickTrack,
  drumPattern,
  isAccuracy1,
  isAccuracy2,
  noteSequence,
  whiteNoise,
  type RhythmSignal,
} from './support/audio-signals.js';

const SECONDS = 10;

function analyse(samples: Float32Array, sampleRate = 48000): TempoResult {
  const analyzer = new TempoAnalyzer(sampleRate, 1);
  for (let i = 0; i < samples.length; i += sampleRate) analyzer.push([samples.subarray(i, i + sampleRate)]);
  return analyzer.finish();
}

// 60–198.6 BPM, steps of 10 BPM less 0, 0.7 or 1.4: mostly off the integer-lag grid of the
// 100 frame/s envelope, so no tempo is read right by luck.
const TEMPI = Array.from({ length: 15 }, (_, i) => Math.round(10 * (60 + 10 * i - 0.7 * (i % 3))) / 10);

const FAMILIES: [string, (bpm: number, seed: number) => RhythmSignal][] = [
  ['clicks', (bpm) => clickTrack({ bpm, seconds: SECONDS })],
  [
    'clicks, accents, noise −6 dB',
    (bpm, seed) => clickTrack({ bpm, seconds: SECONDS, accents: [1, 0.5, 0.7, 0.5], noiseDb: -6, seed }),
  ],
  ['kick + off-beat hats', (bpm, seed) => drumPattern({ bpm, seconds: SECONDS, pattern: 'four', seed })],
  [
    'kick + hats, swing, noise −15 dB',
    (bpm, seed) => drumPattern({ bpm, seconds: SECONDS, pattern: 'four', swing: true, noiseDb: -15, seed }),
  ],
  ['backbeat (kick 1+3, snare 2+4, 8th hats)', (bpm, seed) => drumPattern({ bpm, seconds: SECONDS, seed })],
  ['backbeat, noise −10 dB', (bpm, seed) => drumPattern({ bpm, seconds: SECONDS, noiseDb: -10, seed })],
  ['tonal notes', (bpm) => noteSequence({ bpm, seconds: SECONDS })],
  ['tonal notes, noise −15 dB', (bpm, seed) => noteSequence({ bpm, seconds: SECONDS, noiseDb: -15, seed })],
];

interface Case {
  family: string;
  bpm: number;
  estimate: number | null;
  confidence: number | null;
  f: number;
}

describe('tempo accuracy on generated rhythms, 60–200 BPM', () => {
  const cases: Case[] = [];
  FAMILIES.forEach(([family, make], f) => {
    TEMPI.forEach((bpm, i) => {
      const signal = make(bpm, 100 * f + i + 1);
      const result = analyse(signal.samples);
      cases.push({
        family,
        bpm,
        estimate: result.bpm,
        confidence: result.confidence,
        f: beatFMeasure(result.beatTimesSec, signal.beatsSec),
      });
    });
  });
  const inRange = cases.filter((c) => c.bpm <= 180);
  const accuracy1 = inRange.filter((c) => isAccuracy1(c.estimate, c.bpm)).length / inRange.length;
  const accuracy2 = cases.filter((c) => isAccuracy2(c.estimate, c.bpm)).length / cases.length;
  const meanF = cases.reduce((a, c) => a + c.f, 0) / cases.length;

  it('prints the figures per family and in all', () => {
    const lines = FAMILIES.map(([family]) => {
      const own = cases.filter((c) => c.family === family);
      const a1 = own.filter((c) => c.bpm <= 180 && isAccuracy1(c.estimate, c.bpm)).length;
      const misses = own
        .filter((c) => !isAccuracy1(c.estimate, c.bpm))
        .map((c) => `${c.bpm}→${c.estimate?.toFixed(1) ?? 'null'}`);
      const f = own.reduce((a, c) => a + c.f, 0) / own.length;
      return `  ${family.padEnd(42)} A1(≤180) ${a1}/${own.filter((c) => c.bpm <= 180).length}  F ${f.toFixed(3)}  ${misses.join(' ')}`;
    });
    console.log(
      [
        `tempo accuracy: ${cases.length} signals of ${SECONDS} s, ${TEMPI[0]}–${TEMPI.at(-1)} BPM`,
        ...lines,
        `  Accuracy1 (±4 %, 60–180 BPM): ${(100 * accuracy1).toFixed(1)} % of ${inRange.length}`,
        `  Accuracy2 (×1, ×2, ×3, ×½, ×⅓): ${(100 * accuracy2).toFixed(1)} % of ${cases.length}`,
        `  beat F-measure (±70 ms), mean: ${meanF.toFixed(3)}`,
      ].join('\n'),
    );
    expect(cases).toHaveLength(FAMILIES.length * TEMPI.length);
  });

  it('Accuracy1 ≥ 95 % over 60–180 BPM', () => expect(accuracy1).toBeGreaterThanOrEqual(0.95));
  it('Accuracy2 = 100 % over 60–200 BPM', () => expect(accuracy2).toBe(1));
  it('mean beat F-measure ≥ 0.95', () => expect(meanF).toBeGreaterThanOrEqual(0.95));
  it('every correct tempo comes with a confidence of at least 0.3', () => {
    for (const c of cases.filter((x) => isAccuracy1(x.estimate, x.bpm)))
      expect(c.confidence).toBeGreaterThanOrEqual(0.3);
  });
});

describe('no rhythm, no tempo', () => {
  it('digital silence: null tempo (silent_audio), no beats, no confidence', () => {
    const result = analyse(whiteNoise(6, 0));
    expect(result).toMatchObject({
      bpm: null,
      confidence: null,
      nullReason: 'silent_audio',
      isDigitalSilence: true,
    });
    expect(result.beatTimesSec).toHaveLength(0);
  });

  it.each([
    [4, 11],
    [8, 12],
    [15, 13],
  ])(
    'white noise of %d s (seed %d): null tempo (no_periodicity) with a confidence below 0.25',
    (seconds, seed) => {
      const result = analyse(whiteNoise(seconds, 0.1, 48000, seed));
      expect(result).toMatchObject({ bpm: null, nullReason: 'no_periodicity' });
      expect(result.confidence).toBeLessThan(0.25);
      expect(result.beatTimesSec).toHaveLength(0);
    },
  );

  it('a 2 s click track is too_short: null tempo, but the onset envelope at its shape', () => {
    const result = analyse(clickTrack({ bpm: 120, seconds: 2 }).samples);
    expect(result).toMatchObject({ bpm: null, confidence: null, nullReason: 'too_short' });
    expect(result.onsetStrength).toHaveLength(201);
    expect(result.onsetTimesSec[200]).toBeCloseTo(2, 5);
  });

  it('two analyses of the same signal give identical arrays (deterministic)', () => {
    const samples = drumPattern({ bpm: 133.3, seconds: 6, swing: true, noiseDb: -12 }).samples;
    const [a, b] = [analyse(samples), analyse(samples)];
    expect(b.onsetStrength).toEqual(a.onsetStrength);
    expect(b.beatTimesSec).toEqual(a.beatTimesSec);
    expect(b.bpm).toBe(a.bpm);
    expect(b.confidence).toBe(a.confidence);
  });
});
