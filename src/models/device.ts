import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataProcessorError } from '../contracts/index.js';
import type { Engine } from './card.js';
import { findPackageDir } from './store.js';

/** A concrete device a model runs on (what `models_used[].device` records). */
export type Device = 'cpu' | `cuda:${number}`;
/** A device as requested in a profile or on the command line; `auto` resolves to a concrete one. */
export type DeviceRequest = Device | 'auto';

/** What the machine offers; a port so tests can describe a GPU machine without having one. */
export interface DeviceEnvironment {
  /** Number of NVIDIA GPUs visible to this process. */
  gpuCount(): number;
  /** Whether onnxruntime-node's CUDA execution provider library is installed. */
  hasOrtCudaProvider(): boolean;
}

/** Reads the real machine: `/dev/nvidiaN` device nodes and onnxruntime-node's provider libraries. */
export const systemDevices: DeviceEnvironment = {
  gpuCount() {
    if (!existsSync('/dev')) return 0;
    return readdirSync('/dev').filter((name) => /^nvidia\d+$/.test(name)).length;
  },
  hasOrtCudaProvider() {
    const pkg = findPackageDir('onnxruntime-node');
    if (pkg === null) return false;
    // The CUDA EP ships as a separate shared library next to the binding (the install script
    // downloads it; with ONNXRUNTIME_NODE_INSTALL=skip it is absent).
    const binDir = join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
    return existsSync(join(binDir, 'libonnxruntime_providers_cuda.so'));
  },
};

/** Parses `cpu`, `cuda`, `cuda:N` or `auto`; anything else is INPUT_INVALID. */
export function parseDeviceRequest(text: string): DeviceRequest {
  if (text === 'cpu' || text === 'auto') return text;
  if (text === 'cuda') return 'cuda:0';
  const match = /^cuda:(\d{1,2})$/.exec(text);
  if (match?.[1] !== undefined) return `cuda:${Number(match[1])}`;
  throw new DataProcessorError(
    'INPUT_INVALID',
    `device must be cpu, cuda, cuda:N or auto, got ${JSON.stringify(text)}`,
  );
}

/**
 * R-MOD-3 in-process device policy: a requested device is used or the call fails with
 * DEVICE_UNAVAILABLE — never a silent switch to CPU. `auto` picks `cuda:0` when the engine can
 * use it here, else `cpu`, and the resolved device is what gets recorded.
 */
export function resolveInprocessDevice(
  request: DeviceRequest,
  engine: Engine,
  env: DeviceEnvironment = systemDevices,
): Device {
  const cudaReason = (index: number): string | null => {
    if (engine === 'tfjs') return 'the TFJS runtime here is the wasm backend, which runs on the CPU only';
    const gpus = env.gpuCount();
    if (gpus <= index) return gpus === 0 ? 'no NVIDIA GPU is visible' : `only ${gpus} GPU(s) are visible`;
    if (!env.hasOrtCudaProvider()) return "onnxruntime-node's CUDA execution provider is not installed";
    return null;
  };
  if (request === 'cpu') return 'cpu';
  if (request === 'auto') return cudaReason(0) === null ? 'cuda:0' : 'cpu';
  const index = Number(request.slice('cuda:'.length));
  const reason = cudaReason(index);
  if (reason !== null) {
    throw new DataProcessorError(
      'DEVICE_UNAVAILABLE',
      `device ${request} is not available for ${engine}: ${reason}`,
      {
        details: { requested: request, engine },
      },
    );
  }
  return request;
}
