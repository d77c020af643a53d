// Worker-thread task (run through src/workers' runInWorker): streams a WAV through the tempo
// analyzer off the event loop. Memory stays at one block (1 s) of audio plus the onset envelope.
import { ContractViolationError } from '../../../contracts/index.js';
import { MIN_SAMPLE_RATE } from './onset.js';
import { TempoAnalyzer, type TempoResult } from './tempo-analyzer.js';
import type { TempoOptions } from './tempo.js';
import { readWavBlocks, readWavFormat } from './wav.js';

/** Input of the tempo task (structured-cloned into the worker). */
export interface TempoTaskInput {
  wavPath: string;
  options: TempoOptions;
}

/** Progress is reported in frames (samples per channel), at most every ~10 s of audio. */
export async function task(
  input: TempoTaskInput,
  progress: (done: number, total: number) => void = () => undefined,
): Promise<TempoResult> {
  const format = await readWavFormat(input.wavPath);
  if (format.sampleRate < MIN_SAMPLE_RATE)
    throw new ContractViolationError(
      `audio track is ${format.sampleRate} Hz; tempo analysis needs ≥ ${MIN_SAMPLE_RATE} Hz (the Segmenter writes 48 kHz)`,
    );
  const analyzer = new TempoAnalyzer(format.sampleRate, format.channels, input.options);
  const reportEvery = format.sampleRate * 10;
  let done = 0;
  let lastReported = 0;
  progress(0, format.frames);
  for await (const { channels } of readWavBlocks(input.wavPath, format.sampleRate)) {
    analyzer.push(channels);
    done += channels[0]?.length ?? 0;
    if (done - lastReported >= reportEvery) {
      lastReported = done;
      progress(done, format.frames);
    }
  }
  const result = analyzer.finish();
  progress(done, format.frames);
  return result;
}
