// Worker-thread task (src/workers): the detector over a whole video's thumbnails runs here, so a
// 20-minute signal (36k frames, seconds of CPU) never blocks the event loop.
import {
  changeScores,
  detectGradualTransitions,
  detectHardCuts,
  type DetectParams,
  type GradualTransition,
  type HardCut,
  type Thumbs,
} from './detect.js';

export interface DetectTaskInput {
  thumbs: Thumbs;
  sourceFrameIndices: Int32Array;
  params: DetectParams;
  /**
   * Hard-cut candidates are searched with `localRatio / candidateBand`; those below `localRatio`
   * (or below `localRatio × candidateBand`, "ambiguous") are returned for a second opinion (CLIP).
   * 1 = the plain detector.
   */
  candidateBand: number;
}

export interface DetectTaskOutput {
  scores: Float32Array;
  /** Every candidate (see `candidateBand`), ascending. */
  candidates: HardCut[];
  /** Gradual transitions, found with the candidates that pass the plain detector as barriers. */
  gradual: GradualTransition[];
}

export function task(input: DetectTaskInput): DetectTaskOutput {
  const { thumbs, sourceFrameIndices, params, candidateBand } = input;
  const scores = changeScores(thumbs);
  const candidates = detectHardCuts(thumbs, scores, sourceFrameIndices, {
    ...params,
    localRatio: params.localRatio / candidateBand,
  });
  const plain = candidates.filter((c) => c.ratio >= params.localRatio).map((c) => c.position);
  const gradual = detectGradualTransitions(thumbs, plain, params);
  return { scores, candidates, gradual };
}
