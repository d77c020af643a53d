import type { Component } from '../../contracts/index.js';
import { coreClip } from './components/core/core_clip/index.js';
import { coreDepthMidas } from './components/core/core_depth_midas/index.js';
import { coreFaceLandmarks } from './components/core/core_face_landmarks/index.js';
import { coreObjectDetections } from './components/core/core_object_detections/index.js';
import { OCR_HANDOFF_DIR, OCR_HANDOFF_FILE, ocr } from './components/core/ocr/index.js';
import { cutDetection } from './components/modules/cut_detection/index.js';

export { coreClip, coreDepthMidas, coreFaceLandmarks, coreObjectDetections, cutDetection, ocr };
export { OCR_HANDOFF_DIR, OCR_HANDOFF_FILE };
// The core providers' building blocks (detectors, decoders, model loaders), for tests and benchmarks.
export * from './components/core/index.js';
export {
  detectTransitions,
  thumbsFromRgb,
  thumbsFromSignal,
  type DetectParams,
  type Detection,
} from './components/modules/cut_detection/detect.js';

/** Components of the Visual processor (core providers and modules). */
export const visualComponents: readonly Component[] = [
  coreFaceLandmarks,
  coreObjectDetections,
  ocr,
  coreClip,
  coreDepthMidas,
  cutDetection,
];
