/**
 * ITU-R BS.1770-4 / EBU R128 loudness, written for this project (streaming: feed blocks, then
 * finish). Energies are kept per 100 ms sub-block and channel; every measure is derived from them:
 * momentary = 4 sub-blocks (400 ms), short-term = 30 (3 s), gating blocks = momentary blocks
 * (75 % overlap), loudness range from short-term values (EBU Tech 3342).
 */

export interface LoudnessResult {
  sampleRate: number;
  channels: number;
  /** Integrated loudness (LUFS); null when no block passes the gates. */
  integratedLufs: number | null;
  integratedNullReason: 'silent_audio' | 'too_short' | null;
  /** Loudness range (LU); null when fewer than two short-term values pass the gates. */
  loudnessRangeLu: number | null;
  truePeakDbtp: number | null;
  samplePeakDbfs: number | null;
  /** Series on the `hopMs` grid: value at index k covers the window ending at (k+1)·hop. */
  timesSec: Float32Array;
  momentaryLufs: Float32Array;
  shortTermLufs: Float32Array;
  /** Whole-file: true when every sample is exactly zero. */
  isDigitalSilence: boolean;
  durationSec: number;
}

const SUB_BLOCK_SEC = 0.1;
const MOMENTARY_SUBBLOCKS = 4;
const SHORT_TERM_SUBBLOCKS = 30;
/** BS.1770-4 §2.8 absolute gate */
const ABSOLUTE_GATE_LUFS = -70;
/** BS.1770-4 §2.8 relative gate for integrated loudness */
const RELATIVE_GATE_LU = -10;
/** EBU Tech 3342 relative gate for loudness range */
const LRA_RELATIVE_GATE_LU = -20;

/** Biquad coefficients, normalised so a0 = 1. */
interface Biquad {
  b0: number;
  b1: number;
  b2: number;
  a1: number;
  a2: number;
}

/**
 * K-weighting (BS.1770-4 §2.1) for any sample rate, from the analog prototypes (as libebur128 does):
 * stage 1 a high-shelf (+4 dB above ~1.5 kHz, head effects), stage 2 the RLB high-pass (~38 Hz).
 * At 48 kHz these reproduce the coefficients published in BS.1770-4 Tables 1 and 2.
 */
export function kWeightingFilters(sampleRate: number): [Biquad, Biquad] {
  let f0 = 1681.974450955533;
  const gainDb = 3.999843853973347;
  let q = 0.7071752369554196;
  let k = Math.tan((Math.PI * f0) / sampleRate);
  const vh = 10 ** (gainDb / 20);
  const vb = vh ** 0.4996667741545416;
  let a0 = 1 + k / q + k * k;
  const shelf: Biquad = {
    b0: (vh + (vb * k) / q + k * k) / a0,
    b1: (2 * (k * k - vh)) / a0,
    b2: (vh - (vb * k) / q + k * k) / a0,
    a1: (2 * (k * k - 1)) / a0,
    a2: (1 - k / q + k * k) / a0,
  };
  f0 = 38.13547087602444;
  q = 0.5003270373238773;
  k = Math.tan((Math.PI * f0) / sampleRate);
  a0 = 1 + k / q + k * k;
  const highPass: Biquad = { b0: 1, b1: -2, b2: 1, a1: (2 * (k * k - 1)) / a0, a2: (1 - k / q + k * k) / a0 };
  return [shelf, highPass];
}

/**
 * True-peak interpolator (BS.1770-4 Annex 2): 4× oversampling below 96 kHz (2× up to 192 kHz)
 * with a polyphase windowed-sinc low-pass, 12 taps per phase as in the Annex's example filter.
 */
function truePeakPhases(sampleRate: number): { factor: number; phases: Float64Array[] } {
  const factor = sampleRate < 96000 ? 4 : sampleRate < 192000 ? 2 : 1;
  const tapsPerPhase = 12;
  const length = tapsPerPhase * factor;
  const center = (length - 1) / 2;
  const phases = Array.from({ length: factor }, () => new Float64Array(tapsPerPhase));
  for (let i = 0; i < length; i += 1) {
    const x = (i - center) / factor;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    // Blackman-Harris-like Kaiser window keeps the passband flat to ~0.1 dB.
    const w = kaiser(i, length, 6);
    (phases[i % factor] as Float64Array)[Math.floor(i / factor)] = sinc * w;
  }
  return { factor, phases };
}

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 30; k += 1) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
  }
  return sum;
}

function kaiser(i: number, length: number, beta: number): number {
  const r = (2 * i) / (length - 1) - 1;
  return besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / besselI0(beta);
}

/** BS.1770-4 channel weights: 1.0 for L, R, C; 1.41 for surrounds (channels 4 and 5 of 5.1). */
function channelWeight(index: number, channels: number): number {
  if (channels === 6 && (index === 4 || index === 5)) return 1.41;
  if (channels === 6 && index === 3) return 0; // LFE is not measured
  return 1;
}

function lufs(weightedMeanSquare: number): number {
  return -0.691 + 10 * Math.log10(weightedMeanSquare);
}

/** Streaming loudness meter: `push` deinterleaved blocks of any length, then `finish`. */
export class LoudnessMeter {
  private readonly filters: [Biquad, Biquad];
  /** Filter state per channel: [x1, x2, y1, y2] for each stage. */
  private readonly state: Float64Array[];
  private readonly subBlockFrames: number;
  private readonly weights: number[];
  /** Weighted energy (sum over channels of G·Σy²) per completed sub-block. */
  private readonly subBlockEnergy: number[] = [];
  private currentEnergy = 0;
  private currentFrames = 0;
  private totalFrames = 0;
  private samplePeak = 0;
  private truePeak = 0;
  private readonly tp: { factor: number; phases: Float64Array[] };
  private readonly tpHistory: Float64Array[];
  private allZero = true;

  constructor(
    readonly sampleRate: number,
    readonly channels: number,
    private readonly hopMs = 100,
  ) {
    this.filters = kWeightingFilters(sampleRate);
    this.state = Array.from({ length: channels }, () => new Float64Array(8));
    this.subBlockFrames = Math.round(sampleRate * SUB_BLOCK_SEC);
    this.weights = Array.from({ length: channels }, (_, c) => channelWeight(c, channels));
    this.tp = truePeakPhases(sampleRate);
    this.tpHistory = Array.from({ length: channels }, () => new Float64Array(12));
  }

  push(block: readonly Float32Array[]): void {
    const frames = block[0]?.length ?? 0;
    let offset = 0;
    while (offset < frames) {
      const take = Math.min(frames - offset, this.subBlockFrames - this.currentFrames);
      for (let c = 0; c < this.channels; c += 1) {
        const x = block[c] as Float32Array;
        this.currentEnergy += this.weights[c]! * this.filterChannel(c, x, offset, take);
        this.peaks(c, x, offset, take);
      }
      this.currentFrames += take;
      offset += take;
      if (this.currentFrames === this.subBlockFrames) {
        this.subBlockEnergy.push(this.currentEnergy / this.subBlockFrames);
        this.currentEnergy = 0;
        this.currentFrames = 0;
      }
    }
    this.totalFrames += frames;
  }

  /** Runs both K-weighting biquads over x[offset, offset+n) and returns Σy². */
  private filterChannel(c: number, x: Float32Array, offset: number, n: number): number {
    const s = this.state[c] as Float64Array;
    const [f1, f2] = this.filters;
    let [x1, x2, y1, y2, u1, u2, v1, v2] = s as unknown as number[] as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    let sum = 0;
    for (let i = offset; i < offset + n; i += 1) {
      const xi = x[i] as number;
      const y = f1.b0 * xi + f1.b1 * x1 + f1.b2 * x2 - f1.a1 * y1 - f1.a2 * y2;
      x2 = x1;
      x1 = xi;
      y2 = y1;
      y1 = y;
      const v = f2.b0 * y + f2.b1 * u1 + f2.b2 * u2 - f2.a1 * v1 - f2.a2 * v2;
      u2 = u1;
      u1 = y;
      v2 = v1;
      v1 = v;
      sum += v * v;
    }
    s[0] = x1;
    s[1] = x2;
    s[2] = y1;
    s[3] = y2;
    s[4] = u1;
    s[5] = u2;
    s[6] = v1;
    s[7] = v2;
    return sum;
  }

  private peaks(c: number, x: Float32Array, offset: number, n: number): void {
    const history = this.tpHistory[c] as Float64Array;
    const taps = history.length;
    const { factor, phases } = this.tp;
    let sp = this.samplePeak;
    let tp = this.truePeak;
    for (let i = offset; i < offset + n; i += 1) {
      const xi = x[i] as number;
      const a = Math.abs(xi);
      if (a > sp) sp = a;
      if (xi !== 0) this.allZero = false;
      history.copyWithin(1, 0, taps - 1);
      history[0] = xi;
      for (let p = 0; p < factor; p += 1) {
        const h = phases[p] as Float64Array;
        let acc = 0;
        for (let t = 0; t < taps; t += 1) acc += (h[t] as number) * (history[t] as number);
        const m = Math.abs(acc);
        if (m > tp) tp = m;
      }
    }
    this.samplePeak = sp;
    this.truePeak = Math.max(tp, sp);
  }

  finish(): LoudnessResult {
    const e = this.subBlockEnergy;
    const windowMean = (end: number, size: number): number => {
      let sum = 0;
      for (let j = end - size + 1; j <= end; j += 1) sum += e[j] as number;
      return sum / size;
    };
    // Gating blocks: every 100 ms, 400 ms long (BS.1770-4 §2.8, 75 % overlap).
    const blocks: number[] = [];
    for (let end = MOMENTARY_SUBBLOCKS - 1; end < e.length; end += 1)
      blocks.push(windowMean(end, MOMENTARY_SUBBLOCKS));
    const integrated = gatedLoudness(blocks);
    let integratedNullReason: LoudnessResult['integratedNullReason'] = null;
    if (integrated === null) integratedNullReason = blocks.length === 0 ? 'too_short' : 'silent_audio';

    const shortTerm: number[] = [];
    for (let end = SHORT_TERM_SUBBLOCKS - 1; end < e.length; end += 1)
      shortTerm.push(windowMean(end, SHORT_TERM_SUBBLOCKS));
    const loudnessRange = loudnessRangeLu(shortTerm);

    const hopSub = Math.max(1, Math.round(this.hopMs / 100));
    const count = Math.floor(e.length / hopSub);
    const timesSec = new Float32Array(count);
    const momentaryLufs = new Float32Array(count);
    const shortTermLufs = new Float32Array(count);
    for (let k = 0; k < count; k += 1) {
      const end = (k + 1) * hopSub - 1;
      timesSec[k] = (end + 1) * SUB_BLOCK_SEC;
      momentaryLufs[k] =
        end >= MOMENTARY_SUBBLOCKS - 1 ? toLufsOrNaN(windowMean(end, MOMENTARY_SUBBLOCKS)) : Number.NaN;
      shortTermLufs[k] =
        end >= SHORT_TERM_SUBBLOCKS - 1 ? toLufsOrNaN(windowMean(end, SHORT_TERM_SUBBLOCKS)) : Number.NaN;
    }
    const db = (v: number): number | null => (v > 0 ? 20 * Math.log10(v) : null);
    return {
      sampleRate: this.sampleRate,
      channels: this.channels,
      integratedLufs: integrated,
      integratedNullReason,
      loudnessRangeLu: loudnessRange,
      truePeakDbtp: db(this.truePeak),
      samplePeakDbfs: db(this.samplePeak),
      timesSec,
      momentaryLufs,
      shortTermLufs,
      isDigitalSilence: this.allZero,
      durationSec: this.totalFrames / this.sampleRate,
    };
  }
}

function toLufsOrNaN(meanSquare: number): number {
  return meanSquare > 0 ? lufs(meanSquare) : Number.NaN;
}

/** Integrated loudness: absolute gate, then relative gate at −10 LU (BS.1770-4 §2.8). */
export function gatedLoudness(blockMeanSquares: readonly number[]): number | null {
  const absGated = blockMeanSquares.filter((z) => z > 0 && lufs(z) > ABSOLUTE_GATE_LUFS);
  if (absGated.length === 0) return null;
  const relativeGate = lufs(mean(absGated)) + RELATIVE_GATE_LU;
  const gated = absGated.filter((z) => lufs(z) > relativeGate);
  return gated.length === 0 ? null : lufs(mean(gated));
}

/** Loudness range (EBU Tech 3342): short-term values, gates −70 LUFS and −20 LU, P95 − P10. */
export function loudnessRangeLu(shortTermMeanSquares: readonly number[]): number | null {
  const absGated = shortTermMeanSquares.filter((z) => z > 0 && lufs(z) > ABSOLUTE_GATE_LUFS);
  if (absGated.length < 2) return null;
  const relativeGate = lufs(mean(absGated)) + LRA_RELATIVE_GATE_LU;
  const values = absGated
    .map(lufs)
    .filter((l) => l > relativeGate)
    .sort((a, b) => a - b);
  if (values.length < 2) return null;
  return percentile(values, 0.95) - percentile(values, 0.1);
}

function mean(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Linear-interpolated percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  const position = (sorted.length - 1) * p;
  const lo = Math.floor(position);
  const hi = Math.min(sorted.length - 1, lo + 1);
  const a = sorted[lo] as number;
  return a + ((sorted[hi] as number) - a) * (position - lo);
}
