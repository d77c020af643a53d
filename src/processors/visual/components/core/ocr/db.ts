// PP-OCRv4 DB text detector: pre-processing and post-processing (PaddleOCR's DBPostProcess with
// its default parameters). Pure functions over typed arrays (worker-safe).
import { meanStd, sampleRect } from '../image-ops.js';
import { connectedComponents, minAreaRect, rectCorners, unclipRect, type Quad } from './geometry.js';

/** ImageNet mean/std; PaddleOCR applies them to the BGR image as OpenCV reads it. */
export const DB_NORM = meanStd([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);

/** Detector input size: longer side ≤ `maxSide` (never upscaled), both sides multiples of 32. */
export function dbInputSize(width: number, height: number, maxSide = 960): { w: number; h: number } {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  const round32 = (v: number): number => Math.max(32, Math.round(v / 32) * 32);
  return { w: round32(width * scale), h: round32(height * scale) };
}

/** `[1, 3, h, w]` BGR mean/std input for one frame; stretch-resized like PaddleOCR (aspect ≈ kept). */
export function preprocessDb(
  pixels: Uint8Array,
  width: number,
  height: number,
  maxSide = 960,
): { data: Float32Array; w: number; h: number } {
  const { w, h } = dbInputSize(width, height, maxSide);
  const data = sampleRect(
    pixels,
    width,
    height,
    { x0: 0, y0: 0, x1: width, y1: height },
    { dstW: w, dstH: h, norm: DB_NORM, layout: 'nchw', order: 'bgr' },
  );
  return { data, w, h };
}

/** DBPostProcess parameters (PaddleOCR defaults). */
export interface DbParams {
  /** Binarisation threshold on the probability map. @defaultValue 0.3 */
  threshold: number;
  /** Minimum mean probability inside a component. @defaultValue 0.6 */
  boxThreshold: number;
  /** Growth of the shrunk kernel back to the text extent. @defaultValue 1.5 */
  unclipRatio: number;
  /** Shorter side (map pixels) below which a box is dropped. @defaultValue 3 */
  minSize: number;
  /** @defaultValue 1000 */
  maxCandidates: number;
}

export const DEFAULT_DB_PARAMS: DbParams = {
  threshold: 0.3,
  boxThreshold: 0.6,
  unclipRatio: 1.5,
  minSize: 3,
  maxCandidates: 1000,
};

/** A detected text line: rotated box corners in frame pixels and the DB box score. */
export interface TextBox {
  quad: Quad;
  score: number;
}

/**
 * Probability map `[h, w]` → text boxes in frame pixels (`frameW`×`frameH`): binarise,
 * 8-connected components, minimum-area rectangle per component, score = mean probability over
 * the component, unclip, size filter, scale back. Boxes are ordered top-to-bottom, left-to-right.
 */
export function postprocessDb(
  probability: Float32Array,
  w: number,
  h: number,
  frameW: number,
  frameH: number,
  params: DbParams = DEFAULT_DB_PARAMS,
): TextBox[] {
  const mask = new Uint8Array(w * h);
  for (let i = 0; i < mask.length; i++) mask[i] = (probability[i] ?? 0) > params.threshold ? 1 : 0;
  const { labels, count } = connectedComponents(mask, w, h);
  const points: number[][] = Array.from({ length: count }, () => []);
  const sums = new Float64Array(count);
  const areas = new Int32Array(count);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let x = 0;
    while (x < w) {
      const label = labels[row + x] ?? 0;
      if (label === 0) {
        x++;
        continue;
      }
      // A run of one label: only its two end pixels can be on the hull, so only their corners
      // are kept (pixel corners, so a one-pixel-wide line still has an area, like OpenCV's contours).
      const start = x;
      while (x < w && labels[row + x] === label) {
        sums[label - 1] = (sums[label - 1] ?? 0) + (probability[row + x] ?? 0);
        x++;
      }
      areas[label - 1] = (areas[label - 1] ?? 0) + (x - start);
      points[label - 1]?.push(start, y, start, y + 1, x, y, x, y + 1);
    }
  }
  const sx = frameW / w;
  const sy = frameH / h;
  const boxes: TextBox[] = [];
  for (let k = 0; k < Math.min(count, params.maxCandidates); k++) {
    const pts = points[k] ?? [];
    const rect = minAreaRect(pts);
    if (Math.min(rect.w, rect.h) < params.minSize) continue;
    const score = (sums[k] ?? 0) / Math.max(1, areas[k] ?? 0);
    if (score < params.boxThreshold) continue;
    const grown = unclipRect(rect, params.unclipRatio);
    if (Math.min(grown.w, grown.h) < params.minSize + 2) continue;
    const quad = rectCorners(grown).map(([x, y]): [number, number] => [
      Math.min(frameW, Math.max(0, x * sx)),
      Math.min(frameH, Math.max(0, y * sy)),
    ]) as Quad;
    boxes.push({ quad, score });
  }
  boxes.sort((a, b) => {
    const ay = a.quad[0][1];
    const by = b.quad[0][1];
    // Same line when the tops are within 10 px (PaddleOCR's sorted_boxes rule).
    return Math.abs(ay - by) < 10 ? a.quad[0][0] - b.quad[0][0] : ay - by;
  });
  return boxes;
}
