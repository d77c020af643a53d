// Worker-thread task (run through src/workers' runInWorker): Whisper's input features — per
// 30 s window of the 16 kHz mono mix (decimated from the Segmenter's 48 kHz), the `[80, 3000]`
// log-mel of `WhisperFeatureExtractor` — computed off the event loop while the WAV streams.
import { LogMel, WHISPER_LOGMEL, whisperFeatures } from './logmel.js';
import { streamWindows } from './windows.js';

/** Input of the Whisper feature task (structured-cloned into the worker). */
export interface WhisperTaskInput {
  wavPath: string;
  /** 30 s: the encoder's fixed input. */
  windowSec: number;
}

/** Features of every window, row-major `[K, 80, 3000]`, and where each window lies. */
export interface WhisperTaskResult {
  features: Float32Array;
  windows: number;
  startSec: Float32Array;
  endSec: Float32Array;
  sampleRate: number;
  channels: number;
  durationSec: number;
  isDigitalSilence: boolean;
  nonFiniteSamples: number;
}

/** Progress is reported in windows. */
export async function task(
  input: WhisperTaskInput,
  progress: (done: number, total: number) => void = () => undefined,
): Promise<WhisperTaskResult> {
  const logmel = new LogMel(WHISPER_LOGMEL);
  const frames = Math.round((input.windowSec * WHISPER_LOGMEL.sampleRate) / WHISPER_LOGMEL.hop);
  const perWindow = WHISPER_LOGMEL.melBins * frames;
  let features = new Float32Array(0);
  const starts: number[] = [];
  const ends: number[] = [];
  const stats = await streamWindows(
    input.wavPath,
    WHISPER_LOGMEL.sampleRate,
    input.windowSec,
    input.windowSec,
    (w, total) => {
      if (features.length === 0) features = new Float32Array(total * perWindow);
      features.set(whisperFeatures(w.samples, logmel, frames), w.index * perWindow);
      starts.push(w.startSec);
      ends.push(w.endSec);
      progress(w.index + 1, total);
    },
  );
  return {
    features,
    windows: starts.length,
    startSec: Float32Array.from(starts),
    endSec: Float32Array.from(ends),
    sampleRate: stats.format.sampleRate,
    channels: stats.format.channels,
    durationSec: stats.format.frames / stats.format.sampleRate,
    isDigitalSilence: stats.isDigitalSilence,
    nonFiniteSamples: stats.nonFiniteSamples,
  };
}
