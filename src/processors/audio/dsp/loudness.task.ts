// Worker-thread task (run through src/workers' runInWorker): streams a WAV through the loudness
// meter off the event loop. Memory stays at one block (1 s) of audio whatever the file length.
import { LoudnessMeter, type LoudnessResult } from './loudness.js';
import { readWavBlocks, readWavFormat } from './wav.js';

/** Input of the loudness task (structured-cloned into the worker). */
export interface LoudnessTaskInput {
  wavPath: string;
  /** Series hop in seconds (multiple of 0.01). */
  hopSec: number;
}

/** Progress is reported in frames (samples per channel), at most every ~10 s of audio. */
export async function task(
  input: LoudnessTaskInput,
  progress: (done: number, total: number) => void = () => undefined,
): Promise<LoudnessResult> {
  const format = await readWavFormat(input.wavPath);
  const meter = new LoudnessMeter(format.sampleRate, format.channels, { hopSec: input.hopSec });
  const reportEvery = format.sampleRate * 10;
  let lastReported = 0;
  progress(0, format.frames);
  for await (const { channels } of readWavBlocks(input.wavPath, format.sampleRate)) {
    meter.push(channels);
    if (meter.frames - lastReported >= reportEvery) {
      lastReported = meter.frames;
      progress(meter.frames, format.frames);
    }
  }
  progress(meter.frames, format.frames);
  return meter.finish();
}
