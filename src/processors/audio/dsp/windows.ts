// Fixed-length analysis windows over a streamed track, for the window-based audio models (CLAP,
// Whisper): the mono mix, brought to the model's rate by integer decimation, cut into windows of
// `windowSamples` every `hopSamples`. Memory stays at about one window of source audio.
import { ContractViolationError } from '../../../contracts/index.js';
import { decimate } from './logmel.js';
import { readWavBlocks, readWavFormat, type WavFormat } from './wav.js';

/** One window: model-rate samples and where it lies in the track. */
export interface AudioWindow {
  index: number;
  /** Model-rate samples of the window (shorter than the window for the last one, or a short track). */
  samples: Float32Array;
  startSec: number;
  endSec: number;
}

/** Number of windows over `n` samples: 0 for none, 1 up to one window, then one per hop until the end is covered. */
export function windowCount(n: number, windowSamples: number, hopSamples: number): number {
  if (n <= 0) return 0;
  if (n <= windowSamples) return 1;
  return 1 + Math.ceil((n - windowSamples) / hopSamples);
}

/** What streaming the track found besides the windows. */
export interface TrackStats {
  format: WavFormat;
  /** Samples of the mono mix at the model rate. */
  samples: number;
  isDigitalSilence: boolean;
  nonFiniteSamples: number;
}

/**
 * Streams `wavPath` as windows at `modelRate` (the track's rate must be an integer multiple of
 * it: the Segmenter's 48 kHz serves 48 kHz and 16 kHz models). Calls `onWindow` in order; returns
 * the stats once the track is read.
 */
export async function streamWindows(
  wavPath: string,
  modelRate: number,
  windowSec: number,
  hopSec: number,
  onWindow: (w: AudioWindow, total: number) => void,
): Promise<TrackStats> {
  const format = await readWavFormat(wavPath);
  const factor = format.sampleRate / modelRate;
  if (!Number.isInteger(factor) || factor < 1)
    throw new ContractViolationError(
      `audio track is ${format.sampleRate} Hz; this model needs ${modelRate} Hz or an integer multiple (the Segmenter writes 48 kHz)`,
    );
  const windowSamples = Math.round(windowSec * modelRate);
  const hopSamples = Math.round(hopSec * modelRate);
  const totalModel = Math.ceil(format.frames / factor);
  const total = windowCount(totalModel, windowSamples, hopSamples);
  const margin = factor === 1 ? 0 : 31 * factor;
  // Source-rate mono buffer holding absolute samples [bufStart, bufStart + bufLen).
  let buf = new Float32Array(Math.max(1, (windowSamples + hopSamples) * factor + 2 * margin));
  let bufStart = 0;
  let bufLen = 0;
  let next = 0;
  let silent = true;
  let nonFinite = 0;

  const emit = (eof: boolean): void => {
    while (next < total) {
      const startModel = next * hopSamples;
      const endModel = Math.min(startModel + windowSamples, totalModel);
      const needEnd = Math.min(endModel * factor + margin, format.frames);
      if (!eof && bufStart + bufLen < needEnd) return;
      const from = Math.max(0, startModel * factor - margin);
      const slice = buf.subarray(from - bufStart, Math.min(needEnd, bufStart + bufLen) - bufStart);
      const decimated = decimate(slice, factor);
      const offset = (startModel * factor - from) / factor;
      const samples = decimated.slice(offset, offset + (endModel - startModel));
      onWindow(
        { index: next, samples, startSec: startModel / modelRate, endSec: endModel / modelRate },
        total,
      );
      next += 1;
      // Drop what no later window needs.
      const keepFrom = Math.max(0, next * hopSamples * factor - margin);
      if (keepFrom > bufStart) {
        const drop = Math.min(keepFrom - bufStart, bufLen);
        buf.copyWithin(0, drop, bufLen);
        bufLen -= drop;
        bufStart += drop;
      }
    }
  };

  for await (const { channels } of readWavBlocks(wavPath, format.sampleRate)) {
    const length = channels[0]?.length ?? 0;
    if (bufLen + length > buf.length) {
      const grown = new Float32Array(Math.max(buf.length * 2, bufLen + length));
      grown.set(buf.subarray(0, bufLen));
      buf = grown;
    }
    for (let i = 0; i < length; i++) {
      let sum = 0;
      for (const ch of channels) {
        const v = ch[i] as number;
        if (Number.isFinite(v)) {
          sum += v;
          if (v !== 0) silent = false;
        } else nonFinite += 1;
      }
      buf[bufLen + i] = sum / channels.length;
    }
    bufLen += length;
    emit(false);
  }
  emit(true);
  return { format, samples: totalModel, isDigitalSilence: silent, nonFiniteSamples: nonFinite };
}
