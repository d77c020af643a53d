// Worker-thread task (run through src/workers' runInWorker): the CLAP audio model's input
// features — per 10 s window, the log-mel `[1001, 64]` of `ClapFeatureExtractor` (repeat-padded
// when the window is shorter) — computed off the event loop while the WAV streams.
import { CLAP_LOGMEL, LogMel, repeatPad, type LogMelParameters } from './logmel.js';
import { streamWindows } from './windows.js';

/** Input of the CLAP feature task (structured-cloned into the worker). */
export interface ClapTaskInput {
  wavPath: string;
  /** Window length (the model's fixed input: 10 s) and hop, seconds. */
  windowSec: number;
  hopSec: number;
  /** Frames per window the model takes (1001 for 10 s at hop 480). */
  frames: number;
  params?: LogMelParameters;
}

/** What the task returns: features of every window, row-major `[K, frames, melBins]`. */
export interface ClapTaskResult {
  features: Float32Array;
  windows: number;
  startSec: Float32Array;
  endSec: Float32Array;
  /** The window held less than `windowSec` of audio and was repeat-padded. */
  padded: Uint8Array;
  sampleRate: number;
  channels: number;
  durationSec: number;
  isDigitalSilence: boolean;
  nonFiniteSamples: number;
}

/** Progress is reported in windows. */
export async function task(
  input: ClapTaskInput,
  progress: (done: number, total: number) => void = () => undefined,
): Promise<ClapTaskResult> {
  const params = input.params ?? CLAP_LOGMEL;
  const logmel = new LogMel(params);
  const windowSamples = Math.round(input.windowSec * params.sampleRate);
  const perWindow = input.frames * params.melBins;
  let features = new Float32Array(0);
  const starts: number[] = [];
  const ends: number[] = [];
  const padded: number[] = [];
  const stats = await streamWindows(
    input.wavPath,
    params.sampleRate,
    input.windowSec,
    input.hopSec,
    (w, total) => {
      if (features.length === 0) features = new Float32Array(total * perWindow);
      const short = w.samples.length < windowSamples;
      const clip = short ? repeatPad(w.samples, windowSamples) : w.samples;
      logmel.compute(clip, features.subarray(w.index * perWindow, (w.index + 1) * perWindow), input.frames);
      starts.push(w.startSec);
      ends.push(w.endSec);
      padded.push(short ? 1 : 0);
      progress(w.index + 1, total);
    },
  );
  return {
    features,
    windows: starts.length,
    startSec: Float32Array.from(starts),
    endSec: Float32Array.from(ends),
    padded: Uint8Array.from(padded),
    sampleRate: stats.format.sampleRate,
    channels: stats.format.channels,
    durationSec: stats.format.frames / stats.format.sampleRate,
    isDigitalSilence: stats.isDigitalSilence,
    nonFiniteSamples: stats.nonFiniteSamples,
  };
}
