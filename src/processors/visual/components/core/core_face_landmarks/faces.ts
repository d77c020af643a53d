// The core_face_landmarks pipeline for a batch of frames: BlazeFace per frame, then one FaceMesh
// call for all faces of the batch. Written against the minimal `LoadedModel` interface so the
// model system can supply the models later; the pixel work is in pure functions.
import type { InferModel as LoadedModel, Tensor } from '../model-types.js';
import {
  BLAZEFACE_INPUT_SIZE,
  blazefaceAnchors,
  decodeBlazeface,
  preprocessFaceDetector,
} from './blazeface.js';
import {
  FACEMESH_INPUT_SIZE,
  FACEMESH_POINTS,
  decodeFaceMesh,
  faceMeshRoi,
  preprocessFaceMesh,
} from './facemesh.js';

/** Config of core_face_landmarks (thresholds are the component's config keys). */
export interface FaceLandmarksParams {
  /** Faces kept per frame (the F of the arrays). @defaultValue 4 */
  maxFaces: number;
  /** BlazeFace score threshold. @defaultValue 0.5 */
  scoreThreshold: number;
  /** NMS IoU threshold. @defaultValue 0.3 */
  iouThreshold: number;
  /** Smallest face side in frame pixels. @defaultValue 8 */
  minSizePx: number;
  /** FaceMesh face-presence score below which a detection is dropped. @defaultValue 0.5 */
  meshMinScore: number;
  /** Turn each face crop upright by its eye line (MediaPipe's ROI rotation). @defaultValue true */
  alignToEyes: boolean;
}

export const DEFAULT_FACE_PARAMS: FaceLandmarksParams = {
  maxFaces: 4,
  scoreThreshold: 0.5,
  iouThreshold: 0.3,
  minSizePx: 8,
  meshMinScore: 0.5,
  alignToEyes: true,
};

/** Per-frame face arrays for N frames, padded to F = maxFaces with NaN (counts say how many are real). */
export interface FaceLandmarkArrays {
  facePresent: Uint8Array; // [N] bool
  faceCount: Int32Array; // [N]
  boxes: Float32Array; // [N,F,4] x0,y0,x1,y1 frame pixels
  scores: Float32Array; // [N,F] detector score
  meshScores: Float32Array; // [N,F] FaceMesh face-presence score
  landmarks: Float32Array; // [N,F,468,3] x,y frame pixels, z same scale
}

/** The two models of the provider. */
export interface FaceModels {
  detector: LoadedModel;
  mesh: LoadedModel;
}

const ANCHORS = blazefaceAnchors();

/** Splits BlazeFace's four outputs by size: scores [512],[384] and regressors [512,16],[384,16]. */
function detectorOutputs(out: Record<string, Tensor>): { logits: Float32Array; regressors: Float32Array } {
  const list = Object.values(out).sort((a, b) => a.data.length - b.data.length);
  const [s384, s512, r384, r512] = list.map((t) => t.data as Float32Array);
  if (!s384 || !s512 || !r384 || !r512 || s384.length !== 384 || r512.length !== 512 * 16)
    throw new Error('blazeface: unexpected outputs');
  const logits = new Float32Array(896);
  logits.set(s512);
  logits.set(s384, 512);
  const regressors = new Float32Array(896 * 16);
  regressors.set(r512);
  regressors.set(r384, 512 * 16);
  return { logits, regressors };
}

/** Runs the face pipeline on `count` RGB uint8 frames `[count, height, width, 3]`. */
export async function detectFaceLandmarks(
  models: FaceModels,
  pixels: Uint8Array,
  width: number,
  height: number,
  count: number,
  params: FaceLandmarksParams = DEFAULT_FACE_PARAMS,
): Promise<FaceLandmarkArrays> {
  const F = params.maxFaces;
  const frameBytes = width * height * 3;
  const result: FaceLandmarkArrays = {
    facePresent: new Uint8Array(count),
    faceCount: new Int32Array(count),
    boxes: new Float32Array(count * F * 4).fill(NaN),
    scores: new Float32Array(count * F).fill(NaN),
    meshScores: new Float32Array(count * F).fill(NaN),
    landmarks: new Float32Array(count * F * FACEMESH_POINTS * 3).fill(NaN),
  };
  const size = BLAZEFACE_INPUT_SIZE;
  const candidates: { frame: number; box: Float32Array; eyes: Float32Array; score: number }[] = [];
  const input = new Float32Array(size * size * 3);
  for (let n = 0; n < count; n++) {
    const frame = pixels.subarray(n * frameBytes, (n + 1) * frameBytes);
    const { rect } = preprocessFaceDetector(frame, width, height, input);
    // The shipped detector graph has a fixed batch of 1.
    const out = await models.detector.infer({
      input: { dtype: 'float32', dims: [1, size, size, 3], data: input },
    });
    const { logits, regressors } = detectorOutputs(out);
    const faces = decodeBlazeface(logits, regressors, ANCHORS, rect, params);
    for (let f = 0; f < faces.scores.length; f++)
      candidates.push({
        frame: n,
        box: faces.boxes.slice(4 * f, 4 * f + 4),
        // Keypoints 0 and 1: right eye, left eye (the ROI is turned by the line between them).
        eyes: faces.keypoints.slice(12 * f, 12 * f + 4),
        score: faces.scores[f] ?? 0,
      });
  }
  if (candidates.length === 0) return result;
  // One FaceMesh call for every face of the batch (the graph takes a dynamic batch).
  const meshSize = FACEMESH_INPUT_SIZE;
  const meshInput = new Float32Array(candidates.length * meshSize * meshSize * 3);
  const rois = candidates.map((c, i) => {
    const roi = faceMeshRoi(c.box, params.alignToEyes ? c.eyes : undefined);
    const frame = pixels.subarray(c.frame * frameBytes, (c.frame + 1) * frameBytes);
    preprocessFaceMesh(frame, width, height, roi, meshInput, i * meshSize * meshSize * 3);
    return roi;
  });
  const meshOut = await models.mesh.infer({
    input_1: { dtype: 'float32', dims: [candidates.length, meshSize, meshSize, 3], data: meshInput },
  });
  const mesh = Object.values(meshOut).find((t) => t.dims[1] === FACEMESH_POINTS * 3)?.data as Float32Array;
  const flags = Object.values(meshOut).find((t) => t.dims[1] === 1)?.data as Float32Array;
  if (!mesh || !flags) throw new Error('facemesh: unexpected outputs');
  candidates.forEach((c, i) => {
    const meshScore = flags[i] ?? 0;
    if (meshScore < params.meshMinScore) return;
    const f = result.faceCount[c.frame] ?? 0;
    if (f >= F) return;
    const slot = c.frame * F + f;
    result.boxes.set(c.box, slot * 4);
    result.scores[slot] = c.score;
    result.meshScores[slot] = meshScore;
    const roi = rois[i];
    if (roi)
      decodeFaceMesh(
        mesh.subarray(i * FACEMESH_POINTS * 3, (i + 1) * FACEMESH_POINTS * 3),
        roi,
        result.landmarks,
        slot * FACEMESH_POINTS * 3,
      );
    result.faceCount[c.frame] = f + 1;
    result.facePresent[c.frame] = 1;
  });
  return result;
}
