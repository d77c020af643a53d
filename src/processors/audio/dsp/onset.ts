/**
 * Onset strength envelope, streaming: `push` deinterleaved blocks of any length, then `finish`.
 * Pure (no I/O), so it runs as is in a worker thread.
 *
 * The envelope is the log-magnitude mel spectral flux of Ellis (2007, §3.1, "Beat Tracking by
 * Dynamic Programming", JNMR 36(1)) as librosa's `onset_strength` also computes it: the mono mix
 * is cut into centred Hann frames (≈ 43 ms) every 10 ms, each frame's power spectrum is pooled into
 * 64 mel bands (Slaney's mel scale, 30 Hz–11 kHz) and taken in dB (clipped 50 dB below a peak
 * hold, see RANGE_DB), and the envelope at frame t is
 * the mean over bands of the half-wave rectified rise `max(0, L[t] − L[t−1])`. A rise in any part
 * of the spectrum — a drum hit, a plucked note, a chord change — shows as a peak; steady tones and
 * decays give nothing.
 */
import FFT from 'fft.js';

/** Fixed analysis parameters of the onset envelope (recorded in the artifact's meta). */
export interface OnsetParameters {
  sampleRate: number;
  /** Samples between frames: round(sampleRate / 100), i.e. 10 ms. */
  hopLength: number;
  /** FFT size = window length: the power of two nearest 42.7 ms (2048 at 48 kHz, 44.1 kHz). */
  frameLength: number;
  melBands: number;
  fminHz: number;
  fmaxHz: number;
  /** dB floor of a band (power relative to a full-scale sine), so digital silence is finite. */
  floorDb: number;
  /** Band levels are clipped to this many dB below the decaying peak of the loudest band. */
  rangeDb: number;
  /** Decay of that peak hold in dB per second. */
  peakDecayDbPerSec: number;
}

/** What an OnsetStrength detector measured. */
export interface OnsetResult {
  parameters: OnsetParameters;
  /** Frames per second of the envelope (sampleRate / hopLength). */
  frameRate: number;
  /** Onset strength per frame (dB rise averaged over mel bands); frame t is centred at t·hop. */
  envelope: Float32Array;
  /** Samples per channel pushed. */
  samples: number;
  channels: number;
  /** Every sample was exactly zero (or there were none). */
  isDigitalSilence: boolean;
  /** NaN/±Infinity samples, counted and analysed as 0. */
  nonFiniteSamples: number;
}

/** Below this rate the 30 Hz–11 kHz bands and the 10 ms hop make no sense. */
export const MIN_SAMPLE_RATE = 8000;
const MEL_BANDS = 64;
const FMIN_HZ = 30;
const FMAX_HZ = 11000;
const FLOOR_DB = -100;
/**
 * Band levels are clipped to 50 dB below a peak hold of the loudest band (decaying 2 dB/s), the
 * streaming form of librosa's `top_db` clip: a log spectrum with a −100 dB floor makes a quiet
 * hi-hat over silence rise as many dB as a kick, and the envelope then follows the subdivisions.
 */
const RANGE_DB = 50;
const PEAK_DECAY_DB_PER_FRAME = 0.02;

/** Analysis parameters for a sample rate (see OnsetParameters). */
export function onsetParameters(sampleRate: number): OnsetParameters {
  if (!Number.isFinite(sampleRate) || sampleRate < MIN_SAMPLE_RATE)
    throw new RangeError(`onset analysis needs a sample rate ≥ ${MIN_SAMPLE_RATE} Hz, got ${sampleRate}`);
  return {
    sampleRate,
    hopLength: Math.round(sampleRate / 100),
    frameLength: 2 ** Math.round(Math.log2(sampleRate * 0.0427)),
    melBands: MEL_BANDS,
    fminHz: FMIN_HZ,
    fmaxHz: Math.min(FMAX_HZ, sampleRate / 2),
    floorDb: FLOOR_DB,
    rangeDb: RANGE_DB,
    peakDecayDbPerSec: PEAK_DECAY_DB_PER_FRAME * 100,
  };
}

/** Slaney's mel scale (Auditory Toolbox; librosa's default): linear below 1 kHz, log above. */
export function hzToMel(hz: number): number {
  const linear = 200 / 3;
  const breakHz = 1000;
  const logStep = Math.log(6.4) / 27;
  return hz < breakHz ? hz / linear : breakHz / linear + Math.log(hz / breakHz) / logStep;
}

export function melToHz(mel: number): number {
  const linear = 200 / 3;
  const breakMel = 1000 / linear;
  const logStep = Math.log(6.4) / 27;
  return mel < breakMel ? mel * linear : 1000 * Math.exp(logStep * (mel - breakMel));
}

/** One triangular mel filter as a run of weights over FFT bins [firstBin, firstBin + weights.length). */
export interface MelFilter {
  firstBin: number;
  weights: Float64Array;
}

/**
 * Triangular filters with edges equally spaced on the mel scale, peak weight 1 (energy pooling,
 * not area-normalised: the flux is a difference of dB values, so a per-band gain cancels).
 */
export function melFilterbank(
  sampleRate: number,
  fftSize: number,
  bands: number,
  fminHz: number,
  fmaxHz: number,
): MelFilter[] {
  const lo = hzToMel(fminHz);
  const hi = hzToMel(fmaxHz);
  const edges = Array.from({ length: bands + 2 }, (_, i) => melToHz(lo + ((hi - lo) * i) / (bands + 1)));
  const binHz = sampleRate / fftSize;
  const filters: MelFilter[] = [];
  for (let b = 0; b < bands; b += 1) {
    const [left, centre, right] = [edges[b] as number, edges[b + 1] as number, edges[b + 2] as number];
    const first = Math.max(0, Math.ceil(left / binHz));
    const last = Math.min(fftSize / 2, Math.floor(right / binHz));
    const weights: number[] = [];
    for (let k = first; k <= last; k += 1) {
      const f = k * binHz;
      weights.push(Math.max(0, f <= centre ? (f - left) / (centre - left) : (right - f) / (right - centre)));
    }
    // A band narrower than a bin (low bands of a short FFT) takes its nearest bin whole.
    if (!weights.some((w) => w > 0))
      filters.push({ firstBin: Math.round(centre / binHz), weights: Float64Array.of(1) });
    else filters.push({ firstBin: first, weights: Float64Array.from(weights) });
  }
  return filters;
}

/** Periodic Hann window (the DFT-even form used for STFT analysis). */
export function hannWindow(length: number): Float64Array {
  return Float64Array.from({ length }, (_, n) => Math.sin((Math.PI * n) / length) ** 2);
}

/**
 * Power spectrum |X_k|² for k = 0..N/2 of a real frame through fft.js' real transform, scaled by
 * `scale` (fft.js returns the unnormalised DFT X_k = Σ x_n e^{−2πikn/N}).
 */
export class PowerSpectrum {
  readonly size: number;
  private readonly fft: FFT;
  private readonly out: number[];

  constructor(size: number) {
    this.size = size;
    this.fft = new FFT(size);
    this.out = this.fft.createComplexArray() as number[];
  }

  compute(frame: ArrayLike<number>, into: Float64Array, scale = 1): Float64Array {
    this.fft.realTransform(this.out, frame);
    const out = this.out;
    for (let k = 0; k <= this.size / 2; k += 1) {
      const re = out[2 * k] as number;
      const im = out[2 * k + 1] as number;
      into[k] = (re * re + im * im) * scale;
    }
    return into;
  }
}

/** Streaming log-mel spectral-flux onset detector (see the file comment). */
export class OnsetStrength {
  readonly parameters: OnsetParameters;
  readonly channels: number;
  private readonly window: Float64Array;
  private readonly filters: MelFilter[];
  private readonly spectrum: PowerSpectrum;
  /** Power of a full-scale sine at its bin is 1 after this scale: (2 / Σw)². */
  private readonly powerScale: number;
  /** Mono samples from absolute index `bufferStart` (negative at first: the centring pad). */
  private buffer: Float32Array;
  private bufferStart: number;
  private samples = 0;
  private nextFrame = 0;
  private readonly frame: Float64Array;
  private readonly power: Float64Array;
  private previousDb: Float64Array | null = null;
  private currentDb: Float64Array;
  private readonly envelope: number[] = [];
  private anyNonZero = false;
  private peakDb = FLOOR_DB;
  private nonFinite = 0;

  constructor(sampleRate: number, channels: number) {
    if (!Number.isInteger(channels) || channels < 1)
      throw new RangeError(`channels must be a positive integer, got ${channels}`);
    this.parameters = onsetParameters(sampleRate);
    this.channels = channels;
    const { frameLength, melBands, fminHz, fmaxHz } = this.parameters;
    this.window = hannWindow(frameLength);
    this.filters = melFilterbank(sampleRate, frameLength, melBands, fminHz, fmaxHz);
    this.spectrum = new PowerSpectrum(frameLength);
    this.powerScale = (2 / this.window.reduce((a, b) => a + b, 0)) ** 2;
    // Frames are centred (frame t covers [t·hop − N/2, t·hop + N/2)), so start with N/2 zeros.
    this.buffer = new Float32Array(frameLength / 2);
    this.bufferStart = -frameLength / 2;
    this.frame = new Float64Array(frameLength);
    this.power = new Float64Array(frameLength / 2 + 1);
    this.currentDb = new Float64Array(melBands);
  }

  /** Adds a block of deinterleaved channels (equal lengths); they are mixed to mono. */
  push(block: readonly Float32Array[]): void {
    if (block.length !== this.channels)
      throw new RangeError(`expected ${this.channels} channels, got ${block.length}`);
    const length = block[0]?.length ?? 0;
    const mono = new Float32Array(length);
    const gain = 1 / this.channels;
    for (const channel of block) {
      if (channel.length !== length) throw new RangeError('channels of a block differ in length');
      for (let i = 0; i < length; i += 1) {
        let v = channel[i] as number;
        if (!Number.isFinite(v)) {
          this.nonFinite += 1;
          v = 0;
        }
        if (v !== 0) this.anyNonZero = true;
        mono[i] = (mono[i] as number) + v * gain;
      }
    }
    this.append(mono);
    this.samples += length;
    this.drain();
  }

  /** Flushes the last frames (zero padding past the end, as the start) and returns the envelope. */
  finish(): OnsetResult {
    const { hopLength, frameLength, sampleRate } = this.parameters;
    // librosa's centred framing: 1 + ⌊n / hop⌋ frames for n samples.
    const total = this.samples === 0 ? 0 : 1 + Math.floor(this.samples / hopLength);
    const needEnd = (total - 1) * hopLength + frameLength / 2;
    const have = this.bufferStart + this.buffer.length;
    if (needEnd > have) this.append(new Float32Array(needEnd - have));
    this.drain(total);
    return {
      parameters: this.parameters,
      frameRate: sampleRate / hopLength,
      envelope: Float32Array.from(this.envelope.slice(0, total)),
      samples: this.samples,
      channels: this.channels,
      isDigitalSilence: !this.anyNonZero,
      nonFiniteSamples: this.nonFinite,
    };
  }

  private append(samples: Float32Array): void {
    const joined = new Float32Array(this.buffer.length + samples.length);
    joined.set(this.buffer);
    joined.set(samples, this.buffer.length);
    this.buffer = joined;
  }

  /** Analyses every frame whose window is complete (up to `limit` frames in all). */
  private drain(limit = Number.POSITIVE_INFINITY): void {
    const { hopLength, frameLength, melBands, floorDb } = this.parameters;
    const half = frameLength / 2;
    while (this.nextFrame < limit) {
      const start = this.nextFrame * hopLength - half;
      const offset = start - this.bufferStart;
      if (offset + frameLength > this.buffer.length) break;
      for (let i = 0; i < frameLength; i += 1)
        this.frame[i] = (this.buffer[offset + i] as number) * (this.window[i] as number);
      this.spectrum.compute(this.frame, this.power, this.powerScale);
      for (let b = 0; b < melBands; b += 1) {
        const { firstBin, weights } = this.filters[b] as MelFilter;
        let energy = 0;
        for (let j = 0; j < weights.length; j += 1)
          energy += (weights[j] as number) * (this.power[firstBin + j] as number);
        this.currentDb[b] = Math.max(floorDb, 10 * Math.log10(energy > 0 ? energy : 1e-30));
      }
      // Dynamic range below a slowly decaying peak (RANGE_DB).
      let frameMax = floorDb;
      for (let b = 0; b < melBands; b += 1) frameMax = Math.max(frameMax, this.currentDb[b] as number);
      this.peakDb = Math.max(frameMax, this.peakDb - PEAK_DECAY_DB_PER_FRAME);
      const relativeFloor = this.peakDb - RANGE_DB;
      for (let b = 0; b < melBands; b += 1)
        this.currentDb[b] = Math.max(relativeFloor, this.currentDb[b] as number);
      let flux = 0;
      if (this.previousDb) {
        for (let b = 0; b < melBands; b += 1)
          flux += Math.max(0, (this.currentDb[b] as number) - (this.previousDb[b] as number));
        flux /= melBands;
      }
      this.envelope.push(flux);
      const swap = this.previousDb ?? new Float64Array(melBands);
      this.previousDb = this.currentDb;
      this.currentDb = swap;
      this.nextFrame += 1;
    }
    // Keep only what the next frame needs.
    const keepFrom = this.nextFrame * hopLength - half - this.bufferStart;
    if (keepFrom > 0 && keepFrom <= this.buffer.length) {
      this.buffer = this.buffer.slice(keepFrom);
      this.bufferStart += keepFrom;
    }
  }
}
