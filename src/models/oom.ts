import { DataProcessorError } from '../contracts/index.js';

// Messages the engines use when an allocation fails: ONNX Runtime's CPU/CUDA allocators
// ("Failed to allocate memory", "bad_alloc", CUDA "out of memory"), V8 ("Array buffer allocation
// failed"), emscripten/wasm ("Cannot enlarge memory", "Out of memory") and Triton's error text.
const OOM_PATTERN =
  /out of memory|bad_alloc|failed to allocate|allocation failed|cannot enlarge memory|CUDNN_STATUS_ALLOC_FAILED|CUBLAS_STATUS_ALLOC_FAILED|\bOOM\b/i;

/** Whether an error thrown by a runtime means "out of memory" (R-BAT-3 retries only those). */
export function isOutOfMemory(error: unknown): boolean {
  if (error instanceof DataProcessorError) return error.code === 'OOM';
  if (error instanceof RangeError && /allocation failed|invalid array length/i.test(error.message))
    return true;
  return error instanceof Error && OOM_PATTERN.test(error.message);
}

/** Wraps an engine error: OOM when it is one (retryable), else INTERNAL with the cause kept. */
export function classifyEngineError(error: unknown, what: string): DataProcessorError {
  if (error instanceof DataProcessorError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DataProcessorError(isOutOfMemory(error) ? 'OOM' : 'INTERNAL', `${what}: ${message}`, {
    cause: error,
  });
}
