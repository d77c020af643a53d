import type { Component } from '../../contracts/index.js';
import { coreClip } from './components/core/core_clip/index.js';
import { coreDepthMidas } from './components/core/core_depth_midas/index.js';
import { coreFaceLandmarks } from './components/core/core_face_landmarks/index.js';
import { coreObjectDetections } from './components/core/core_object_detections/index.js';
import { OCR_HANDOFF_DIR, OCR_HANDOFF_FILE, ocr } from './components/core/ocr/index.js';
import { cutDetection } from './components/modules/cut_detection/index.js';
import { emotionFace } from './components/modules/emotion_face/index.js';
import { highLevelSemantic } from './components/modules/high_level_semantic/index.js';
import { shotQuality } from './components/modules/shot_quality/index.js';

export {
  coreClip,
  coreDepthMidas,
  coreFaceLandmarks,
  coreObjectDetections,
  cutDetection,
  emotionFace,
  highLevelSemantic,
  ocr,
  shotQuality,
};
export { OCR_HANDOFF_DIR, OCR_HANDOFF_FILE };
// The core providers' building blocks (detectors, decoders, model loaders), for tests and benchmarks.
export * from './components/core/index.js';
export {
  detectTransitions,
  thumbsFromRgb,
  thumbsFromSignal,
  DEFAULT_DETECT_PARAMS,
  type DetectParams,
  type Detection,
} from './components/modules/cut_detection/detect.js';
export { task as detectTask } from './components/modules/cut_detection/detect-task.js';
export { EMOTION_CLASSES, classifyEmotions, emotionCrop } from './components/modules/emotion_face/emotion.js';
export { labelEmbeddingCalls } from './components/modules/high_level_semantic/zero-shot.js';

/** Components of the Visual processor (core providers and modules). */
export const visualComponents: readonly Component[] = [
  coreFaceLandmarks,
  coreObjectDetections,
  ocr,
  coreClip,
  coreDepthMidas,
  cutDetection,
  shotQuality,
  emotionFace,
  highLevelSemantic,
];
