// Public surface of the Visual core providers' model code (the components themselves are in each
// provider's index.ts and registered in ../../index.ts). Tests and benches import from here;
// `_local-runtime.ts` (direct model-file loading) is for the unit tests only.
export {
  float32Tensor,
  loadOnnxModel,
  loadTfjsGraphModel,
  packageFile,
  tfjs,
  type LoadedModel,
  type Tensor,
} from './_local-runtime.js';
export {
  affine,
  iou,
  letterboxRect,
  meanStd,
  nonMaxSuppression,
  sampleRect,
  sampleRotatedSquare,
  toSource,
  type Normalisation,
  type Rect,
  type RotatedSquare,
} from './image-ops.js';
export type { InferModel } from './model-types.js';
export {
  DEFAULT_FACE_PARAMS,
  detectFaceLandmarks,
  type FaceLandmarkArrays,
  type FaceLandmarksParams,
  type FaceModels,
} from './core_face_landmarks/faces.js';
export { COCO_CLASSES } from './core_object_detections/coco-classes.js';
export { type DetectorName, type ObjectParams } from './core_object_detections/decode.js';
export {
  DEFAULT_OBJECT_PARAMS,
  DETECTOR_OUTPUTS,
  detectObjects,
  type ObjectArrays,
} from './core_object_detections/objects.js';
export {
  DEFAULT_OCR_PARAMS,
  OCR_MIN_HEIGHT,
  readText,
  type OcrArrays,
  type OcrModels,
  type OcrParams,
  type OcrResult,
} from './ocr/ocr.js';
export { ctcAlphabet } from './ocr/recognise.js';
export {
  REUSE_ARRAYS,
  ReusePlanner,
  frameThumbnail,
  reuseConfigShape,
  thumbnailSimilarity,
  type ReuseDecision,
  type ReuseParams,
} from './reuse.js';
