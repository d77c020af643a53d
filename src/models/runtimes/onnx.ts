import * as ort from 'onnxruntime-node';
import { DataProcessorError } from '../../contracts/index.js';
import type { Precision } from '../card.js';
import type { Device } from '../device.js';
import { currentCpuPlan } from '../cpu-budget.js';
import { classifyEngineError } from '../oom.js';
import type { LocatedModel } from '../store.js';
import type { Tensor, TensorDtype } from '../tensor.js';
import type { EngineSession } from './types.js';

const ORT_DTYPES: Record<string, TensorDtype> = {
  float32: 'float32',
  int32: 'int32',
  int64: 'int64',
  uint8: 'uint8',
  bool: 'bool',
};

function toOrt(t: Tensor): ort.Tensor {
  return new ort.Tensor(t.dtype, t.data, t.dims);
}

function fromOrt(name: string, t: ort.Tensor): Tensor {
  const dtype = ORT_DTYPES[t.type];
  if (dtype === undefined)
    throw new DataProcessorError('CONTRACT_VIOLATION', `output ${name} has unsupported dtype ${t.type}`);
  return { dtype, dims: [...t.dims], data: t.data as Tensor['data'] };
}

/** In-process ONNX Runtime (onnxruntime-node): CPU EP, or the CUDA EP for `cuda:N`. */
export async function openOnnxSession(
  located: LocatedModel,
  device: Device,
  _precision: Precision,
): Promise<EngineSession> {
  const executionProviders: ort.InferenceSession.ExecutionProviderConfig[] =
    device === 'cpu' ? ['cpu'] : [{ name: 'cuda', deviceId: Number(device.slice('cuda:'.length)) }];
  // Threads from the run's CPU plan when there is one (cpu-budget.ts); ORT's defaults otherwise.
  const plan = currentCpuPlan();
  const threads: ort.InferenceSession.SessionOptions = plan
    ? {
        intraOpNumThreads: plan.ortIntraOpThreads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        // The CPU arena stays on: without it every buffer of a run is a fresh malloc that the OS
        // pages in again, and a call at a new input shape (OCR recogniser widths) cost 1–5 s instead
        // of 0.1–0.5 s (19.1 s vs 2.2 s CPU for six widths, measured). No memory pattern: it is
        // planned per shape, and OCR's shapes change with every batch.
        enableCpuMemArena: true,
        enableMemPattern: false,
        extra: { session: { intra_op: { allow_spinning: plan.ortSpinning ? '1' : '0' } } },
      }
    : {};
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(located.entryPath, {
      executionProviders,
      graphOptimizationLevel: 'all',
      ...threads,
    });
  } catch (error) {
    throw classifyEngineError(
      error,
      `ONNX Runtime could not load ${located.card.name} (${located.entryPath})`,
    );
  }
  return {
    async infer(inputs) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(inputs)) feeds[name] = toOrt(t);
      let results: ort.InferenceSession.OnnxValueMapType;
      try {
        results = await session.run(feeds);
      } catch (error) {
        throw classifyEngineError(error, `ONNX Runtime failed running ${located.card.name}`);
      }
      const out: Record<string, Tensor> = {};
      for (const [name, value] of Object.entries(results)) out[name] = fromOrt(name, value);
      return out;
    },
    async dispose() {
      await session.release();
    },
  };
}
