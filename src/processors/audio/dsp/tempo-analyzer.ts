/**
 * The whole tempo analysis, streaming: onset envelope (`onset.ts`) while blocks arrive, then the
 * tempo estimate and the beat tracker (`tempo.ts`) on the envelope at `finish`. Memory: one block
 * of audio plus the envelope (4 bytes per 10 ms, ≈ 0.5 MB for 20 min).
 */
import { OnsetStrength, type OnsetParameters } from './onset.js';
import {
  estimateTempo,
  resolveTempoOptions,
  trackBeats,
  type ResolvedTempoOptions,
  type TempoNullReason,
  type TempoOptions,
} from './tempo.js';

/** What a TempoAnalyzer measured. Scalars are null (never NaN) when undefined. */
export interface TempoResult {
  sampleRate: number;
  channels: number;
  /** Samples per channel analysed. */
  samples: number;
  onset: OnsetParameters;
  options: ResolvedTempoOptions;
  /** Envelope frames per second (100 at 48 kHz). */
  frameRate: number;
  /** Seconds between envelope frames (hop / sample rate). */
  hopSec: number;
  onsetStrength: Float32Array;
  /** Centre of each envelope frame: t · hop / sample rate. */
  onsetTimesSec: Float32Array;
  bpm: number | null;
  confidence: number | null;
  nullReason: TempoNullReason | null;
  beatTimesSec: Float32Array;
  isDigitalSilence: boolean;
  nonFiniteSamples: number;
}

export class TempoAnalyzer {
  private readonly onset: OnsetStrength;
  private readonly options: ResolvedTempoOptions;

  constructor(sampleRate: number, channels: number, options: TempoOptions = {}) {
    this.options = resolveTempoOptions(options);
    this.onset = new OnsetStrength(sampleRate, channels);
  }

  push(block: readonly Float32Array[]): void {
    this.onset.push(block);
  }

  finish(): TempoResult {
    const onset = this.onset.finish();
    const { hopLength, sampleRate } = onset.parameters;
    const n = onset.envelope.length;
    const onsetTimesSec = Float32Array.from({ length: n }, (_, t) => (t * hopLength) / sampleRate);
    const base = {
      sampleRate,
      channels: onset.channels,
      samples: onset.samples,
      onset: onset.parameters,
      options: this.options,
      frameRate: onset.frameRate,
      hopSec: hopLength / sampleRate,
      onsetStrength: onset.envelope,
      onsetTimesSec,
      isDigitalSilence: onset.isDigitalSilence,
      nonFiniteSamples: onset.nonFiniteSamples,
    };
    if (onset.isDigitalSilence)
      return {
        ...base,
        bpm: null,
        confidence: null,
        nullReason: 'silent_audio',
        beatTimesSec: new Float32Array(0),
      };
    const tempo = estimateTempo(onset.envelope, onset.frameRate, this.options);
    const beats =
      tempo.periodFrames === null
        ? new Int32Array(0)
        : trackBeats(onset.envelope, tempo.periodFrames, this.options.tightness);
    return {
      ...base,
      bpm: tempo.bpm,
      confidence: tempo.confidence,
      nullReason: tempo.nullReason,
      beatTimesSec: Float32Array.from(beats, (t) => (t * hopLength) / sampleRate),
    };
  }
}
