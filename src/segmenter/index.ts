export { segmenterConfigSchema, type SegmenterConfig } from './config.js';
export { probeVideo, checkInputFile, checkDuration, type VideoProbe, type ProbeLimits } from './probe.js';
export {
  resolveTool,
  inputArgs,
  runTool,
  spawnTool,
  resetToolCache,
  INPUT_FORMAT_WHITELIST,
} from './ffmpeg.js';
export {
  SAMPLING_POLICY_VERSION,
  DEFAULT_FRAME_BUDGETS,
  frameCount,
  sampleSourceIndices,
  planUnion,
} from './sampling.js';
export {
  FfmpegFileFrameSource,
  FfmpegPipeFrameSource,
  FfmpegSeekingFrameSource,
  defaultFrameSource,
  selectExpression,
  filterGraph,
  type FrameSource,
  type BucketRequest,
} from './frame-source.js';
export {
  readFramesMetadata,
  readAudioMetadata,
  parseFramesMetadata,
  parseAudioMetadata,
  frameAccessFor,
  type FileLocator,
} from './frames-dir.js';
export { runSegmenter, analysisSize, SEGMENTER_VERSION, type SegmenterResult } from './segmenter.js';
export { planSeeks, type SeekPlan, type SeekSegment } from './seek-plan.js';
