// Worker task: measures a WAV file with the streaming meter (runs off the event loop).
import { LoudnessMeter, type LoudnessResult } from './loudness.js';
import { readWavBlocks } from './wav.js';

export async function task(
  input: { wavPath: string; hopMs: number },
  progress: (done: number, total: number) => void,
): Promise<LoudnessResult | null> {
  let meter: LoudnessMeter | null = null;
  let done = 0;
  let last = 0;
  for await (const { format, channels } of readWavBlocks(input.wavPath)) {
    meter ??= new LoudnessMeter(format.sampleRate, format.channels, input.hopMs);
    meter.push(channels);
    done += channels[0]?.length ?? 0;
    if (done - last >= format.sampleRate * 10) {
      last = done;
      progress(done, format.frames);
    }
  }
  return meter ? meter.finish() : null;
}
