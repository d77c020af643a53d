import { resolveInprocessDevice, systemDevices, type DeviceEnvironment } from '../device.js';
import { openOnnxSession } from './onnx.js';
import { openTfjsSession } from './tfjs.js';
import { openTfjsPooledSession, tfjsWorkerCount } from './tfjs-pool.js';
import type { Runtime } from './types.js';

/** The in-process runtime: ONNX Runtime for `onnx` cards, TFJS (wasm) for `tfjs` cards. */
export function inprocessRuntime(devices: DeviceEnvironment = systemDevices): Runtime {
  return {
    kind: 'inprocess',
    cacheKey: 'inprocess',
    resolveDevice: (request, engine) => resolveInprocessDevice(request, engine, devices),
    open: (located, device, precision) =>
      located.card.engine === 'onnx'
        ? openOnnxSession(located, device, precision)
        : tfjsWorkerCount() > 0
          ? openTfjsPooledSession(located, device, precision)
          : openTfjsSession(located, device, precision),
    // ONNX Runtime spreads one call over its intra-op threads; TFJS-wasm is single-threaded, so
    // its pool serves one call per worker.
    concurrency: (engine) => (engine === 'tfjs' ? Math.max(1, tfjsWorkerCount()) : 1),
  };
}
