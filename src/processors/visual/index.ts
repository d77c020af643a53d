import type { Component } from '../../contracts/index.js';
import { cutDetection } from './components/modules/cut_detection/index.js';

export { cutDetection };
export {
  detectTransitions,
  frameFeatures,
  transitionScore,
  type DetectParams,
  type Detection,
} from './components/modules/cut_detection/detect.js';

/** Components of the Visual processor (core providers and modules). */
export const visualComponents: readonly Component[] = [cutDetection];
