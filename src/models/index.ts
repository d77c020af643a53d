// Public surface of the model system (R-MOD, R-BAT): registry, store, runtimes, device policy,
// signatures, batching, synthetic test models. Components receive a `ModelAccess`.
export {
  modelCardSchema,
  tensorSpecSchema,
  type Engine,
  type ModelCard,
  type ModelFile,
  type ModelSource,
  type Precision,
  type Preprocessing,
  type TensorSpec,
} from './card.js';
export { ModelRegistry, builtinCards, createRegistry } from './registry.js';
export {
  ModelStore,
  defaultModelDir,
  findPackageDir,
  parseSha256Sums,
  type LocatedFile,
  type LocatedModel,
  type VerifyReport,
} from './store.js';
export { sha256File, weightsDigest } from './digest.js';
export {
  parseDeviceRequest,
  resolveInprocessDevice,
  systemDevices,
  type Device,
  type DeviceEnvironment,
  type DeviceRequest,
} from './device.js';
export type { EngineSession, Runtime } from './runtimes/types.js';
export { inprocessRuntime } from './runtimes/inprocess.js';
export { tritonRuntime, type TritonOptions } from './runtimes/triton.js';
export { ensureTfjsWasm } from './runtimes/tfjs.js';
export { tfjsWorkersStarted } from './runtimes/tfjs-pool.js';
export { applyCpuPlan, currentCpuPlan, planCpu, type CpuPlan } from './cpu-budget.js';
export {
  MIN_GAIN,
  ThroughputStore,
  defaultThroughputFile,
  measuredBatches,
  planMeasuredBatchSize,
  setThroughputStore,
  sharedThroughputStore,
  throughputKey,
  type RateSample,
} from './throughput.js';
export { classifyEngineError, isOutOfMemory } from './oom.js';
export {
  availableMemoryBytes,
  planBatchSize,
  runBatches,
  type BatchPlanInput,
  type BatchRun,
  type RunBatchesOptions,
} from './batching.js';
export {
  cachedSessionCount,
  clearModelSessions,
  createModelAccess,
  modelsOf,
  modelSessions,
  loadModel,
  modelSignatureOf,
  plannedModelSignature,
  sortModelsUsed,
  type LoadOptions,
  type LoadedModel,
  type ModelAccess,
  type ModelMapping,
  type ModelSystemOptions,
} from './access.js';
export {
  BatchCoalescer,
  hasSharedBatchAxis,
  type BatchCoalescerOptions,
  type BatchGroup,
  type CoalescedBatch,
} from './coalescer.js';
export {
  SessionCache,
  defaultSessionCacheBytes,
  type SessionCacheOptions,
  type SessionCacheStats,
} from './session-cache.js';
export {
  elementCount,
  float32Tensor,
  stackTensors,
  tensor,
  unstackTensor,
  type Tensor,
  type TensorData,
  type TensorDtype,
} from './tensor.js';
export { ClipTokenizer, bytesToUnicode, type TokenBatch } from './clip-tokenizer.js';
export {
  SYNTHETIC_CLIP_TEXT_COLOURS,
  SYNTHETIC_KINDS,
  buildSyntheticModel,
  syntheticClipColourEmbedding,
  syntheticClipTextTokenizerJson,
  syntheticClipTextVocab,
  syntheticClapWeight,
  syntheticClipWeight,
  syntheticWhisperEncoderScale,
  syntheticWhisperEncoderWeight,
  syntheticWhisperTokenizerJson,
  syntheticWhisperTransitions,
  SYNTHETIC_WHISPER_VOCAB,
  writeSyntheticModel,
  type SyntheticKind,
  type SyntheticModel,
} from './synthetic.js';
export { UnigramTokenizer, type UnigramVocabulary } from './tokenizers/sentencepiece-unigram.js';
