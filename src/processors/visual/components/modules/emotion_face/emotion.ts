// emotion_face's per-face work: the face crop (from core_face_landmarks' box and eye landmarks),
// the Human emotion model's input (64×64 grey, (g − 0.5) × 2 as in @vladmandic/human
// gear/emotion.ts) and its 7 class probabilities. Pure functions over typed arrays plus one model
// call per batch of faces, written against the minimal `InferModel` so tests can pass a model
// loaded from the package file and the component the model system's.
import { ContractViolationError } from '../../../../../contracts/index.js';
import { affine, sampleRotatedSquare, type InferModel, type RotatedSquare } from '../../core/index.js';

/** The model's classes in its output order (oarriaga/face_classification, FER-2013). */
export const EMOTION_CLASSES = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;
export const EMOTION_INPUT_SIZE = 64;
/** Weights of Human's grey conversion (its `constants.rgb`, MATLAB rgb2gray). */
const GREY = [0.2989, 0.587, 0.114] as const;
/**
 * The face crop is a square of the box's longer side × this around the box centre: Human's
 * detector box enlargement (`face.detector.scale` 1.4), so the model sees the face with its
 * margin as in the package the weights come from.
 */
export const DEFAULT_CROP_SCALE = 1.4;
/** FaceMesh landmark ids of the outer eye corners (subject's right, left): the eye line. */
const RIGHT_EYE_OUTER = 33;
const LEFT_EYE_OUTER = 263;

/**
 * The square crop the emotion model sees for a face box (x0, y0, x1, y1 frame pixels), turned
 * by the eye line of its 468 FaceMesh landmarks (`landmarks[p*3 + 0|1]`) when given and finite,
 * so a tilted face is upright in the crop.
 */
export function emotionCrop(
  box: ArrayLike<number>,
  landmarks?: ArrayLike<number>,
  scale = DEFAULT_CROP_SCALE,
): RotatedSquare {
  const x0 = box[0] ?? 0;
  const y0 = box[1] ?? 0;
  const x1 = box[2] ?? 0;
  const y1 = box[3] ?? 0;
  let angle = 0;
  if (landmarks) {
    const rx = landmarks[RIGHT_EYE_OUTER * 3] ?? Number.NaN;
    const ry = landmarks[RIGHT_EYE_OUTER * 3 + 1] ?? Number.NaN;
    const lx = landmarks[LEFT_EYE_OUTER * 3] ?? Number.NaN;
    const ly = landmarks[LEFT_EYE_OUTER * 3 + 1] ?? Number.NaN;
    const a = Math.atan2(ly - ry, lx - rx);
    if (Number.isFinite(a)) angle = a;
  }
  return { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, size: Math.max(x1 - x0, y1 - y0) * scale, angle };
}

/**
 * Writes the model input of one face into `out` at `offset` (64×64×1 floats): bilinear RGB crop
 * in 0..1, grey = 0.2989 R + 0.587 G + 0.114 B, then (grey − 0.5) × 2. Outside the frame reads 0.
 */
export function preprocessEmotion(
  pixels: Uint8Array,
  width: number,
  height: number,
  roi: RotatedSquare,
  out: Float32Array,
  offset = 0,
): void {
  const size = EMOTION_INPUT_SIZE;
  const rgb = sampleRotatedSquare(pixels, width, height, roi, size, affine(1 / 255, 0));
  for (let i = 0; i < size * size; i++) {
    const grey =
      GREY[0] * (rgb[3 * i] ?? 0) + GREY[1] * (rgb[3 * i + 1] ?? 0) + GREY[2] * (rgb[3 * i + 2] ?? 0);
    out[offset + i] = (grey - 0.5) * 2;
  }
}

/** One face to classify: the frame it is on (pixels of a batch) and its crop. */
export interface FaceCrop {
  pixels: Uint8Array;
  width: number;
  height: number;
  roi: RotatedSquare;
}

/**
 * Class probabilities `[faces.length × 7]` (rows in `EMOTION_CLASSES` order; the model ends in a
 * softmax) for the faces, in one model call.
 */
export async function classifyEmotions(model: InferModel, faces: readonly FaceCrop[]): Promise<Float32Array> {
  const classes = EMOTION_CLASSES.length;
  if (faces.length === 0) return new Float32Array(0);
  const plane = EMOTION_INPUT_SIZE * EMOTION_INPUT_SIZE;
  const input = new Float32Array(faces.length * plane);
  faces.forEach((f, i) => preprocessEmotion(f.pixels, f.width, f.height, f.roi, input, i * plane));
  const out = await model.infer({
    input_1: {
      dtype: 'float32',
      dims: [faces.length, EMOTION_INPUT_SIZE, EMOTION_INPUT_SIZE, 1],
      data: input,
    },
  });
  const t = Object.values(out)[0];
  if (!t || !(t.data instanceof Float32Array) || t.data.length !== faces.length * classes) {
    throw new ContractViolationError(`emotion model returned no [${faces.length}, ${classes}] probabilities`);
  }
  return Float32Array.from(t.data);
}
