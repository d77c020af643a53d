// Worker task: reads the component's frames from frames_dir, extracts features, detects transitions.
import { frameAccessFor, readFramesMetadata } from '../../../../../segmenter/index.js';
import {
  detectTransitions,
  frameFeatures,
  type DetectParams,
  type Detection,
  type FrameFeatures,
} from './detect.js';

export async function task(
  input: { runDir: string; component: string; params: DetectParams; batchSize: number },
  progress: (done: number, total: number) => void,
): Promise<Detection> {
  const metadata = await readFramesMetadata(input.runDir);
  const access = frameAccessFor(input.runDir, metadata, input.component);
  const features: FrameFeatures[] = [];
  const frameBytes = access.width * access.height * 3;
  for await (const batch of access.batches(input.batchSize)) {
    for (let i = 0; i < batch.unionIndices.length; i += 1)
      features.push(frameFeatures(batch.pixels, i * frameBytes, batch.width, batch.height));
    progress(features.length, access.frameIndices.length);
  }
  return detectTransitions(features, access.timestampsSec, input.params);
}
