// Worker-thread side of the TFJS worker pool: opens TFJS (wasm) sessions on first use and runs
// `infer` requests one at a time. Each worker holds its own wasm instance, so two workers run two
// models (or two batches of one) at the same time, off the event loop.
import { serveRequests, type HandlerResult } from '../../workers/index.js';
import type { Precision } from '../card.js';
import type { Device } from '../device.js';
import type { LocatedModel } from '../store.js';
import type { Tensor } from '../tensor.js';
import { openTfjsSession } from './tfjs.js';
import type { EngineSession } from './types.js';

interface InferRequest {
  key: string;
  located: LocatedModel;
  device: Device;
  precision: Precision;
  inputs: Record<string, Tensor>;
}

const sessions = new Map<string, Promise<EngineSession>>();

/** A buffer that can be moved to the caller: one that the tensor owns whole. */
function ownedBuffer(t: Tensor): ArrayBuffer | null {
  const buffer = t.data.buffer;
  return buffer instanceof ArrayBuffer && t.data.byteOffset === 0 && t.data.byteLength === buffer.byteLength
    ? buffer
    : null;
}

function sessionOf(request: Omit<InferRequest, 'inputs'>): Promise<EngineSession> {
  let session = sessions.get(request.key);
  if (!session) {
    session = openTfjsSession(request.located, request.device, request.precision);
    sessions.set(request.key, session);
    session.catch(() => sessions.delete(request.key));
  }
  return session;
}

serveRequests({
  async load(payload): Promise<HandlerResult> {
    await sessionOf(payload as Omit<InferRequest, 'inputs'>);
    return { result: null };
  },
  async infer(payload): Promise<HandlerResult> {
    const request = payload as InferRequest;
    const out = await (await sessionOf(request)).infer(request.inputs);
    const transfer = Object.values(out)
      .map(ownedBuffer)
      .filter((b): b is ArrayBuffer => b !== null);
    return { result: out, transfer };
  },
  async dispose(payload): Promise<HandlerResult> {
    const { key } = payload as { key: string };
    const session = sessions.get(key);
    sessions.delete(key);
    if (session) await (await session.catch(() => null))?.dispose();
    return { result: null };
  },
});
