/**
 * Log-mel features for the audio models of the model system (CLAP, Whisper), as their reference
 * feature extractors compute them (Hugging Face `ClapFeatureExtractor` / `WhisperFeatureExtractor`,
 * both `transformers.audio_utils.spectrogram`): centred frames (reflect padding of n_fft / 2),
 * periodic Hann window, power spectrum, Slaney-normalised triangular mel filters on the Slaney mel
 * scale, then `10 · log10(max(mel, floor))` (CLAP) or `log10` (Whisper, see `whisperFeatures`). Pure (no I/O), so it runs as is in a worker thread.
 */
import FFT from 'fft.js';
import { hannWindow, hzToMel, melToHz } from './onset.js';

/** Parameters of one log-mel analysis. */
export interface LogMelParameters {
  sampleRate: number;
  nFft: number;
  hop: number;
  melBins: number;
  fminHz: number;
  fmaxHz: number;
  /** Power floor before the log (HF `mel_floor`). */
  melFloor: number;
  /** `db`: 10 · log10 (CLAP, HF `log_mel="dB"`); `log10`: log10 (Whisper). */
  log: 'db' | 'log10';
}

/** CLAP (laion/clap-htsat-unfused, `ClapFeatureExtractor`): 48 kHz, n_fft 1024, hop 480, 64 bins, 50–14000 Hz. */
export const CLAP_LOGMEL: LogMelParameters = {
  sampleRate: 48000,
  nFft: 1024,
  hop: 480,
  melBins: 64,
  fminHz: 50,
  fmaxHz: 14000,
  melFloor: 1e-10,
  log: 'db',
};

/** Whisper (`WhisperFeatureExtractor`): 16 kHz, n_fft 400, hop 160, 80 bins, 0–8000 Hz. */
export const WHISPER_LOGMEL: LogMelParameters = {
  sampleRate: 16000,
  nFft: 400,
  hop: 160,
  melBins: 80,
  fminHz: 0,
  fmaxHz: 8000,
  melFloor: 1e-10,
  log: 'log10',
};

/**
 * Dense Slaney mel filterbank `[melBins, nFft / 2 + 1]` (row-major): triangles between mel-spaced
 * edges over the linear FFT bin frequencies, each scaled by `2 / (f_right − f_left)` (librosa /
 * HF `norm="slaney"`).
 */
export function slaneyMelFilters(p: LogMelParameters): Float64Array {
  const bins = p.nFft / 2 + 1;
  const lo = hzToMel(p.fminHz);
  const hi = hzToMel(p.fmaxHz);
  const edges = Array.from({ length: p.melBins + 2 }, (_, i) =>
    melToHz(lo + ((hi - lo) * i) / (p.melBins + 1)),
  );
  const filters = new Float64Array(p.melBins * bins);
  for (let m = 0; m < p.melBins; m++) {
    const [left, centre, right] = [edges[m] as number, edges[m + 1] as number, edges[m + 2] as number];
    const norm = 2 / (right - left);
    for (let k = 0; k < bins; k++) {
      const f = (k * p.sampleRate) / 2 / (bins - 1);
      const w = Math.max(0, Math.min((f - left) / (centre - left), (right - f) / (right - centre)));
      filters[m * bins + k] = w * norm;
    }
  }
  return filters;
}

/** Reflect index into [0, n) as numpy's `pad(mode="reflect")` (edge not repeated). */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - j;
  return j;
}

/** A reusable log-mel analyser for one parameter set (FFT plan, window, filters). */
export class LogMel {
  readonly frames: (samples: number) => number;
  /** fft.js for power-of-two sizes; a direct DFT with cos/sin tables otherwise (Whisper's 400). */
  private readonly fft: FFT | null;
  private readonly cos: Float64Array | null = null;
  private readonly sin: Float64Array | null = null;
  private readonly window: Float64Array;
  private readonly filters: Float64Array;
  private readonly bins: number;

  constructor(readonly params: LogMelParameters) {
    const pow2 = (params.nFft & (params.nFft - 1)) === 0;
    this.fft = pow2 ? new FFT(params.nFft) : null;
    if (!pow2) {
      const bins = params.nFft / 2 + 1;
      this.cos = new Float64Array(bins * params.nFft);
      this.sin = new Float64Array(bins * params.nFft);
      for (let k = 0; k < bins; k++)
        for (let i = 0; i < params.nFft; i++) {
          const a = (2 * Math.PI * ((k * i) % params.nFft)) / params.nFft;
          this.cos[k * params.nFft + i] = Math.cos(a);
          this.sin[k * params.nFft + i] = Math.sin(a);
        }
    }
    this.window = hannWindow(params.nFft);
    this.filters = slaneyMelFilters(params);
    this.bins = params.nFft / 2 + 1;
    this.frames = (samples) => 1 + Math.floor(samples / params.hop);
  }

  private powerSpectrum(frame: Float64Array, spectrum: number[], power: Float64Array): void {
    if (this.fft) {
      this.fft.realTransform(spectrum, frame);
      for (let k = 0; k < this.bins; k++) {
        const re = spectrum[2 * k] as number;
        const im = spectrum[2 * k + 1] as number;
        power[k] = re * re + im * im;
      }
      return;
    }
    const n = this.params.nFft;
    const cos = this.cos as Float64Array;
    const sin = this.sin as Float64Array;
    for (let k = 0; k < this.bins; k++) {
      let re = 0;
      let im = 0;
      const row = k * n;
      for (let i = 0; i < n; i++) {
        const v = frame[i] as number;
        re += v * (cos[row + i] as number);
        im -= v * (sin[row + i] as number);
      }
      power[k] = re * re + im * im;
    }
  }

  /**
   * Log-mel of `samples` (centred frames), written time-major into `out[t · melBins + m]` for
   * the first `maxFrames` frames (default: all `1 + ⌊len / hop⌋`). Returns the frames written.
   */
  compute(samples: Float32Array, out: Float32Array, maxFrames = this.frames(samples.length)): number {
    const { nFft, hop, melBins, melFloor } = this.params;
    const gain = this.params.log === 'db' ? 10 : 1;
    const half = nFft / 2;
    const n = samples.length;
    const frame = new Float64Array(nFft);
    const spectrum = this.fft ? (this.fft.createComplexArray() as number[]) : [];
    const power = new Float64Array(this.bins);
    const frames = Math.min(maxFrames, this.frames(n));
    for (let t = 0; t < frames; t++) {
      const start = t * hop - half;
      for (let i = 0; i < nFft; i++) {
        const idx = start + i;
        const v = n === 0 ? 0 : (samples[idx >= 0 && idx < n ? idx : reflect(idx, n)] ?? 0);
        frame[i] = v * (this.window[i] as number);
      }
      this.powerSpectrum(frame, spectrum, power);
      for (let m = 0; m < melBins; m++) {
        let sum = 0;
        const row = m * this.bins;
        for (let k = 0; k < this.bins; k++) sum += (this.filters[row + k] as number) * (power[k] as number);
        out[t * melBins + m] = gain * Math.log10(Math.max(sum, melFloor));
      }
    }
    return frames;
  }
}

/**
 * CLAP's `repeatpad` for a clip shorter than the window: the clip tiled ⌊window / len⌋ times,
 * then zero-padded to the window (HF `ClapFeatureExtractor`, padding="repeatpad").
 */
export function repeatPad(clip: Float32Array, length: number): Float32Array {
  const out = new Float32Array(length);
  if (clip.length === 0) return out;
  if (clip.length >= length) return clip.slice(0, length);
  const repeats = Math.floor(length / clip.length);
  for (let r = 0; r < repeats; r++) out.set(clip, r * clip.length);
  return out;
}

/**
 * Integer-factor decimation (e.g. 48 kHz → 16 kHz for Whisper) with a Hann-windowed sinc low-pass
 * at the new Nyquist (63 taps per phase); factor 1 returns the input.
 */
export function decimate(samples: Float32Array, factor: number): Float32Array {
  if (!Number.isInteger(factor) || factor < 1) throw new RangeError(`decimation factor ${factor}`);
  if (factor === 1) return samples;
  const halfTaps = 31 * factor;
  const taps = new Float64Array(2 * halfTaps + 1);
  let sum = 0;
  for (let i = -halfTaps; i <= halfTaps; i++) {
    const x = i / factor;
    const sinc = i === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const w = 0.5 + 0.5 * Math.cos((Math.PI * i) / (halfTaps + 1));
    taps[i + halfTaps] = sinc * w;
    sum += sinc * w;
  }
  for (let i = 0; i < taps.length; i++) taps[i] = (taps[i] as number) / sum;
  const out = new Float32Array(Math.ceil(samples.length / factor));
  for (let o = 0; o < out.length; o++) {
    const c = o * factor;
    let acc = 0;
    for (let i = -halfTaps; i <= halfTaps; i++) {
      const idx = c + i;
      if (idx >= 0 && idx < samples.length) acc += (samples[idx] as number) * (taps[i + halfTaps] as number);
    }
    out[o] = acc;
  }
  return out;
}

/**
 * Whisper's input features for one 30 s window (`WhisperFeatureExtractor`): the 16 kHz samples
 * zero-padded to 30 s, log10-mel (3001 centred frames, the last dropped), clamped to
 * `max − 8`, then `(x + 4) / 4`. Returned bin-major `[80, 3000]`, the encoder's layout.
 */
export function whisperFeatures(samples: Float32Array, logmel: LogMel, frames = 3000): Float32Array {
  const p = logmel.params;
  const padded = new Float32Array(frames * p.hop);
  padded.set(samples.subarray(0, padded.length));
  const timeMajor = new Float32Array((frames + 1) * p.melBins);
  logmel.compute(padded, timeMajor, frames + 1);
  let max = -Infinity;
  for (let i = 0; i < frames * p.melBins; i++) max = Math.max(max, timeMajor[i] as number);
  const out = new Float32Array(p.melBins * frames);
  for (let t = 0; t < frames; t++)
    for (let m = 0; m < p.melBins; m++)
      out[m * frames + t] = (Math.max(timeMajor[t * p.melBins + m] as number, max - 8) + 4) / 4;
  return out;
}
