// Rhythmic test signals synthesised in JS with a known tempo and known beat times (the generator
// is the ground truth), plus the MIREX-style scores used to judge a tempo/beat estimate.
import { writeFileSync } from 'node:fs';

/** A mono signal and its truth. */
export interface RhythmSignal {
  name: string;
  sampleRate: number;
  samples: Float32Array;
  bpm: number;
  /** Seconds of every beat (the tactus) the generator placed. */
  beatsSec: number[];
}

export interface RhythmOptions {
  bpm: number;
  seconds: number;
  sampleRate?: number;
  /** Seconds before the first beat. @defaultValue 0.3 */
  offsetSec?: number;
  /** White noise at this level in dB relative to the signal's RMS (e.g. −10), or null for none. */
  noiseDb?: number | null;
  seed?: number;
}

/** Deterministic PRNG (mulberry32) so every signal is the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function beatTimes(bpm: number, seconds: number, offsetSec: number): number[] {
  const beats: number[] = [];
  for (let t = offsetSec; t < seconds - 0.05; t += 60 / bpm) beats.push(t);
  return beats;
}

/** Adds `event(t)` (seconds since its start, for `lengthSec`) at `atSec` with gain `gain`. */
function addEvent(
  out: Float32Array,
  sampleRate: number,
  atSec: number,
  lengthSec: number,
  gain: number,
  event: (t: number, i: number) => number,
): void {
  const start = Math.round(atSec * sampleRate);
  const length = Math.round(lengthSec * sampleRate);
  for (let i = 0; i < length && start + i < out.length; i += 1) {
    if (start + i < 0) continue;
    out[start + i] = (out[start + i] as number) + gain * event(i / sampleRate, i);
  }
}

function addNoise(out: Float32Array, noiseDb: number | null | undefined, random: () => number): void {
  if (noiseDb === null || noiseDb === undefined) return;
  let energy = 0;
  for (const v of out) energy += v * v;
  const rms = Math.sqrt(energy / out.length) * 10 ** (noiseDb / 20);
  // Uniform white noise of that RMS (uniform on [−a, a] has RMS a/√3).
  const a = rms * Math.sqrt(3);
  for (let i = 0; i < out.length; i += 1) out[i] = (out[i] as number) + a * (2 * random() - 1);
}

/** A metronome: 5 ms 2 kHz clicks on every beat; `accents` scales beats cyclically (e.g. [1, .5, .5, .5]). */
export function clickTrack(options: RhythmOptions & { accents?: number[] }): RhythmSignal {
  const {
    bpm,
    seconds,
    sampleRate = 48000,
    offsetSec = 0.3,
    noiseDb = null,
    seed = 1,
    accents = [1],
  } = options;
  const samples = new Float32Array(Math.round(seconds * sampleRate));
  const beats = beatTimes(bpm, seconds, offsetSec);
  beats.forEach((at, k) =>
    addEvent(
      samples,
      sampleRate,
      at,
      0.03,
      0.5 * (accents[k % accents.length] as number),
      (t) => Math.sin(2 * Math.PI * 2000 * t) * Math.exp(-t / 0.005),
    ),
  );
  addNoise(samples, noiseDb, prng(seed));
  return { name: `clicks ${bpm.toFixed(1)}`, sampleRate, samples, bpm, beatsSec: beats };
}

/**
 * A drum pattern: kick (pitch-dropping sine with a beater click), snare (noise + 180 Hz body) and
 * closed hi-hat (differentiated noise). `rock`: kick on 1 and 3, snare on 2 and 4, hats on 8ths;
 * `four`: kick on every beat, hats on the off-beats. `swing` moves off-beat 8ths from 1/2 to 2/3 of
 * the beat (triplet swing); accents vary the hats' velocity.
 */
export function drumPattern(
  options: RhythmOptions & { pattern?: 'rock' | 'four'; swing?: boolean },
): RhythmSignal {
  const {
    bpm,
    seconds,
    sampleRate = 48000,
    offsetSec = 0.3,
    noiseDb = null,
    seed = 2,
    pattern = 'rock',
    swing = false,
  } = options;
  const random = prng(seed);
  const samples = new Float32Array(Math.round(seconds * sampleRate));
  const beats = beatTimes(bpm, seconds, offsetSec);
  const period = 60 / bpm;
  const noise = Float32Array.from({ length: Math.round(0.3 * sampleRate) }, () => 2 * random() - 1);
  const kick = (t: number, i: number): number => {
    // Pitch falls 130 → 45 Hz; phase is the integral of the frequency.
    const phase = 2 * Math.PI * (45 * t + 85 * 0.03 * (1 - Math.exp(-t / 0.03)));
    return Math.sin(phase) * Math.exp(-t / 0.15) + 0.4 * (noise[i] as number) * Math.exp(-t / 0.002);
  };
  const snare = (t: number, i: number): number =>
    0.6 * (noise[i] as number) * Math.exp(-t / 0.06) +
    0.5 * Math.sin(2 * Math.PI * 180 * t) * Math.exp(-t / 0.08);
  const hat = (t: number, i: number): number =>
    ((noise[i + 1] as number) - (noise[i] as number)) * 0.5 * Math.exp(-t / 0.012);
  beats.forEach((at, k) => {
    const inBar = k % 4;
    if (pattern === 'four' || inBar === 0 || inBar === 2) addEvent(samples, sampleRate, at, 0.3, 0.8, kick);
    if (pattern === 'rock' && (inBar === 1 || inBar === 3))
      addEvent(samples, sampleRate, at, 0.3, 0.6, snare);
    const off = at + period * (swing ? 2 / 3 : 1 / 2);
    if (pattern === 'rock') addEvent(samples, sampleRate, at, 0.1, 0.25, hat);
    addEvent(samples, sampleRate, off, 0.1, 0.15 + 0.1 * random(), hat);
  });
  addNoise(samples, noiseDb, random);
  const name = `drums ${pattern}${swing ? ' swing' : ''} ${bpm.toFixed(1)}`;
  return { name, sampleRate, samples, bpm, beatsSec: beats };
}

/**
 * Tonal notes with rhythm: a plucked harmonic tone (5 ms attack, 0.25 s decay, 4 partials) on
 * every beat, its pitch walking a pentatonic sequence, with accented down-beats; no percussion.
 */
export function noteSequence(options: RhythmOptions): RhythmSignal {
  const { bpm, seconds, sampleRate = 48000, offsetSec = 0.3, noiseDb = null, seed = 3 } = options;
  const samples = new Float32Array(Math.round(seconds * sampleRate));
  const beats = beatTimes(bpm, seconds, offsetSec);
  const scale = [0, 2, 4, 7, 9, 12, 9, 7];
  beats.forEach((at, k) => {
    const f0 = 220 * 2 ** ((scale[k % scale.length] as number) / 12);
    const gain = k % 4 === 0 ? 0.35 : 0.22;
    addEvent(samples, sampleRate, at, Math.min(1.2, 60 / bpm), gain, (t) => {
      const envelope = Math.min(1, t / 0.005) * Math.exp(-t / 0.25);
      let v = 0;
      for (let h = 1; h <= 4; h += 1) v += Math.sin(2 * Math.PI * f0 * h * t) / h;
      return envelope * v;
    });
  });
  addNoise(samples, noiseDb, prng(seed));
  return { name: `notes ${bpm.toFixed(1)}`, sampleRate, samples, bpm, beatsSec: beats };
}

/** White noise at `rms` (uniform), or digital silence when rms is 0. */
export function whiteNoise(seconds: number, rms: number, sampleRate = 48000, seed = 4): Float32Array {
  const random = prng(seed);
  const a = rms * Math.sqrt(3);
  return Float32Array.from({ length: Math.round(seconds * sampleRate) }, () =>
    rms === 0 ? 0 : a * (2 * random() - 1),
  );
}

/** Writes mono or multi-channel float32 samples as a 32-bit float WAV (as the Segmenter writes). */
export function writeFloatWav(path: string, channels: Float32Array[], sampleRate: number): void {
  const frames = channels[0]?.length ?? 0;
  const n = channels.length;
  const data = Buffer.alloc(frames * n * 4);
  for (let i = 0; i < frames; i += 1)
    for (let c = 0; c < n; c += 1)
      data.writeFloatLE((channels[c] as Float32Array)[i] as number, (i * n + c) * 4);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(3, 20); // WAVE_FORMAT_IEEE_FLOAT
  header.writeUInt16LE(n, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * n * 4, 28);
  header.writeUInt16LE(n * 4, 32);
  header.writeUInt16LE(32, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([header, data]));
}

/** Accuracy1: within ±4 % of the true tempo (MIREX). */
export function isAccuracy1(estimate: number | null, truth: number): boolean {
  return estimate !== null && Math.abs(estimate - truth) <= 0.04 * truth;
}

/** Accuracy2: within ±4 % of the true tempo or of ×2, ×3, ×½, ×⅓ of it (MIREX). */
export function isAccuracy2(estimate: number | null, truth: number): boolean {
  return [1, 2, 3, 1 / 2, 1 / 3].some((factor) => isAccuracy1(estimate, truth * factor));
}

/** Beat F-measure with a ±`toleranceSec` window, each annotation matched at most once (MIREX). */
export function beatFMeasure(
  estimated: ArrayLike<number>,
  truth: readonly number[],
  toleranceSec = 0.07,
): number {
  if (estimated.length === 0 || truth.length === 0) return 0;
  const used = new Array<boolean>(truth.length).fill(false);
  let hits = 0;
  for (let i = 0; i < estimated.length; i += 1) {
    const e = estimated[i] as number;
    let best = -1;
    for (let j = 0; j < truth.length; j += 1) {
      if (used[j]) continue;
      const distance = Math.abs((truth[j] as number) - e);
      if (distance <= toleranceSec && (best < 0 || distance < Math.abs((truth[best] as number) - e)))
        best = j;
    }
    if (best >= 0) {
      used[best] = true;
      hits += 1;
    }
  }
  const precision = hits / estimated.length;
  const recall = hits / truth.length;
  return hits === 0 ? 0 : (2 * precision * recall) / (precision + recall);
}
