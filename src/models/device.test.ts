import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  parseDeviceRequest,
  resolveInprocessDevice,
  systemDevices,
  type DeviceEnvironment,
} from './index.js';

const env = (gpus: number, cudaEp: boolean): DeviceEnvironment => ({
  gpuCount: () => gpus,
  hasOrtCudaProvider: () => cudaEp,
});
const codeOf = (run: () => unknown): string => {
  try {
    run();
    return 'returned';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
};

describe('device policy (R-MOD-3)', () => {
  it('parses the accepted spellings and rejects others with INPUT_INVALID', () => {
    expect(parseDeviceRequest('cpu')).toBe('cpu');
    expect(parseDeviceRequest('auto')).toBe('auto');
    expect(parseDeviceRequest('cuda')).toBe('cuda:0');
    expect(parseDeviceRequest('cuda:3')).toBe('cuda:3');
    for (const bad of ['gpu', 'cuda:', 'cuda:x', 'CPU', ''])
      expect(codeOf(() => parseDeviceRequest(bad))).toBe('INPUT_INVALID');
  });

  it('uses a requested CUDA device only when the GPU and the CUDA EP both exist', () => {
    expect(resolveInprocessDevice('cuda:1', 'onnx', env(2, true))).toBe('cuda:1');
    expect(codeOf(() => resolveInprocessDevice('cuda:2', 'onnx', env(2, true)))).toBe('DEVICE_UNAVAILABLE');
    expect(codeOf(() => resolveInprocessDevice('cuda:0', 'onnx', env(1, false)))).toBe('DEVICE_UNAVAILABLE');
    expect(codeOf(() => resolveInprocessDevice('cuda:0', 'onnx', env(0, true)))).toBe('DEVICE_UNAVAILABLE');
    expect(codeOf(() => resolveInprocessDevice('cuda:0', 'tfjs', env(1, true)))).toBe('DEVICE_UNAVAILABLE');
  });

  it('auto resolves to a concrete device: cuda:0 where usable, else cpu', () => {
    expect(resolveInprocessDevice('auto', 'onnx', env(1, true))).toBe('cuda:0');
    expect(resolveInprocessDevice('auto', 'onnx', env(1, false))).toBe('cpu');
    expect(resolveInprocessDevice('auto', 'tfjs', env(1, true))).toBe('cpu');
    expect(resolveInprocessDevice('cpu', 'onnx', env(0, false))).toBe('cpu');
  });

  it('reads this machine honestly: GPUs from /dev/nvidiaN, the CUDA EP from the installed onnxruntime-node', () => {
    const gpus = existsSync('/dev') ? readdirSync('/dev').filter((n) => /^nvidia\d+$/.test(n)).length : 0;
    expect(systemDevices.gpuCount()).toBe(gpus);
    // installed with ONNXRUNTIME_NODE_INSTALL=skip: the CUDA provider library is never downloaded
    expect(systemDevices.hasOrtCudaProvider()).toBe(false);
    expect(codeOf(() => resolveInprocessDevice('cuda:0', 'onnx'))).toBe('DEVICE_UNAVAILABLE');
    expect(resolveInprocessDevice('auto', 'onnx')).toBe('cpu');
  });
});
