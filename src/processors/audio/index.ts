import type { Component } from '../../contracts/index.js';
import { loudnessExtractor } from './components/loudness_extractor.js';

export { loudnessExtractor };
export {
  LoudnessMeter,
  kWeightingFilters,
  gatedLoudness,
  loudnessRangeLu,
  type LoudnessResult,
} from './dsp/loudness.js';
export { readWavBlocks, parseWavHeader, type WavFormat } from './dsp/wav.js';

/** Components of the Audio processor. */
export const audioComponents: readonly Component[] = [loudnessExtractor];
