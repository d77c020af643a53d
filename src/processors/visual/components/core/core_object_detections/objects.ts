// The core_object_detections pipeline for a batch of frames, against the minimal `LoadedModel`.
import type { InferModel as LoadedModel, Tensor } from '../model-types.js';
import {
  DETECTORS,
  decodeCenterNet,
  decodeNanoDet,
  preprocessObjects,
  type DetectorName,
  type Detections,
  type ObjectParams,
} from './decode.js';

export const DEFAULT_OBJECT_PARAMS: ObjectParams = {
  scoreThreshold: 0.3,
  iouThreshold: 0.5,
  maxDetections: 20,
};

/** Output names to fetch from each graph. */
export const DETECTOR_OUTPUTS: Record<DetectorName, string[] | undefined> = {
  // Only the in-graph decoded detections; the heatmaps are not needed.
  centernet: ['tower_0/detections'],
  nanodet: undefined,
};

/** Per-frame detections for N frames padded to D = maxDetections (NaN boxes/scores, class −1). */
export interface ObjectArrays {
  counts: Int32Array; // [N]
  boxes: Float32Array; // [N,D,4]
  classIds: Int32Array; // [N,D]
  scores: Float32Array; // [N,D]
}

function nanoDetLevels(out: Record<string, Tensor>): Parameters<typeof decodeNanoDet>[0] {
  const tensors = Object.values(out);
  return [13, 26, 52].map((grid) => {
    const cells = grid * grid;
    const scores = tensors.find((t) => t.dims[1] === cells && t.dims[2] === 80);
    const regression = tensors.find((t) => t.dims[1] === cells && t.dims[2] !== 80);
    if (!scores || !regression) throw new Error(`nanodet: no outputs for grid ${grid}`);
    return { grid, scores: scores.data as Float32Array, regression: regression.data as Float32Array };
  });
}

/** Runs one detector over `count` RGB uint8 frames `[count, height, width, 3]`. */
export async function detectObjects(
  detector: DetectorName,
  model: LoadedModel,
  pixels: Uint8Array,
  width: number,
  height: number,
  count: number,
  params: ObjectParams = DEFAULT_OBJECT_PARAMS,
): Promise<ObjectArrays> {
  const D = params.maxDetections;
  const result: ObjectArrays = {
    counts: new Int32Array(count),
    boxes: new Float32Array(count * D * 4).fill(NaN),
    classIds: new Int32Array(count * D).fill(-1),
    scores: new Float32Array(count * D).fill(NaN),
  };
  const spec = DETECTORS[detector];
  const frameBytes = width * height * 3;
  const input = new Float32Array(spec.inputSize * spec.inputSize * 3);
  const dims =
    spec.layout === 'nhwc' ? [1, spec.inputSize, spec.inputSize, 3] : [1, 3, spec.inputSize, spec.inputSize];
  for (let n = 0; n < count; n++) {
    const frame = pixels.subarray(n * frameBytes, (n + 1) * frameBytes);
    const { rect } = preprocessObjects(detector, frame, width, height, input);
    // Both shipped graphs have a fixed batch of 1.
    const out = await model.infer({ [spec.inputName]: { dtype: 'float32', dims, data: input } });
    let found: Detections;
    if (detector === 'centernet') {
      const detections = out['tower_0/detections'];
      if (!detections) throw new Error('centernet: no detections output');
      found = decodeCenterNet(detections.data as Float32Array, rect, params, width, height);
    } else {
      found = decodeNanoDet(nanoDetLevels(out), rect, params, width, height);
    }
    const k = found.scores.length;
    result.counts[n] = k;
    result.boxes.set(found.boxes, n * D * 4);
    result.classIds.set(found.classIds, n * D);
    result.scores.set(found.scores, n * D);
  }
  return result;
}
