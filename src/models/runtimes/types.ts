import type { ModelUsed } from '../../contracts/index.js';
import type { Engine, Precision } from '../card.js';
import type { Device, DeviceRequest } from '../device.js';
import type { LocatedModel } from '../store.js';
import type { Tensor } from '../tensor.js';

/** An opened model inside one runtime: runs a batch, frees itself. */
export interface EngineSession {
  infer(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>>;
  dispose(): Promise<void>;
}

/**
 * R-MOD-5: where models run. `inprocess` (ONNX Runtime, TFJS wasm) and `triton` (a KServe v2
 * server) implement the same port; the model system never branches on which one it holds.
 */
export interface Runtime {
  readonly kind: ModelUsed['runtime'];
  /** Distinguishes two runtimes of one kind in the session cache (e.g. two Triton servers). */
  readonly cacheKey: string;
  /** The device policy of this runtime (R-MOD-3): a concrete device, or DEVICE_UNAVAILABLE. */
  resolveDevice(request: DeviceRequest, engine: Engine): Device;
  open(located: LocatedModel, device: Device, precision: Precision): Promise<EngineSession>;
  /**
   * How many calls of one session are worth having in flight at once (the TFJS worker pool serves
   * one call per worker). @defaultValue 1
   */
  concurrency?(engine: Engine, device: Device): number;
}
