// A long-lived worker thread that answers requests (the streaming counterpart of the one-shot
// `runInWorker`): the caller sends `{ id, method, payload }` messages as work arrives and each
// resolves with its own reply, so a component can keep one model or one pixel pipeline warm in a
// worker and feed it batch after batch while the event loop only coordinates. The worker holds the
// process open only while requests are in flight (it is unref'd when idle).
import { parentPort, type Worker } from 'node:worker_threads';
import { DataProcessorError, ERROR_CODES, type ErrorCode } from '../contracts/index.js';
import { spawnWorker } from './spawn.js';

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  code?: string | null;
  message?: string;
  details?: Record<string, unknown> | null;
}

/** The error a worker reported, with its DataProcessorError code kept across the thread boundary. */
export function workerError(reply: { code?: string | null; message?: string; details?: unknown }): Error {
  const code = reply.code && reply.code in ERROR_CODES ? (reply.code as ErrorCode) : null;
  if (code === null) return new Error(reply.message ?? 'worker request failed');
  return new DataProcessorError(code, reply.message ?? 'worker request failed', {
    details: (reply.details as Record<string, unknown> | null) ?? {},
  });
}

/** The calling side of a worker started on an entry that runs `serveRequests`. */
export class WorkerChannel {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  #failure: Error | null = null;

  constructor(entryUrl: URL, workerData: unknown = null) {
    this.#worker = spawnWorker(entryUrl, workerData);
    this.#worker.on('message', (reply: Reply) => {
      const waiter = this.#pending.get(reply.id);
      if (!waiter) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) this.#worker.unref();
      if (reply.ok) waiter.resolve(reply.result);
      else waiter.reject(workerError(reply));
    });
    const fail = (error: Error): void => {
      this.#failure = error;
      for (const waiter of this.#pending.values()) waiter.reject(error);
      this.#pending.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) =>
      fail(new DataProcessorError('INTERNAL', `a worker thread exited (code ${code})`)),
    );
    // After the listeners: adding a 'message' listener refs the worker's port again, and an idle
    // pool (e.g. every model failed before its first request) must not keep the process alive.
    this.#worker.unref();
  }

  /** Requests in flight. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Sends one request; `transfer` moves buffers instead of copying them. */
  call<T>(method: string, payload: unknown, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#worker.ref();
      this.#worker.postMessage({ id, method, payload }, transfer);
    });
  }

  async close(): Promise<void> {
    this.#failure ??= new DataProcessorError('INTERNAL', 'the worker channel is closed');
    await this.#worker.terminate();
  }
}

/** What a request handler returns: a result, and buffers to move (not copy) back to the caller. */
export interface HandlerResult {
  result: unknown;
  transfer?: ArrayBuffer[];
}

/**
 * The worker side: answers each request with `handlers[method](payload)`. Requests are handled
 * one at a time, in arrival order (one thread, one model at a time: no interleaving inside a model).
 */
export function serveRequests(
  handlers: Record<string, (payload: unknown) => Promise<HandlerResult> | HandlerResult>,
): void {
  const port = parentPort;
  if (!port) throw new Error('serveRequests must run in a worker thread');
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (message: { id: number; method: string; payload: unknown }) => {
    queue = queue.then(async () => {
      try {
        const handler = handlers[message.method];
        if (!handler) throw new DataProcessorError('INTERNAL', `unknown worker method ${message.method}`);
        const out = await handler(message.payload);
        port.postMessage({ id: message.id, ok: true, result: out.result }, out.transfer ?? []);
      } catch (error) {
        const e = error as Error & { code?: string; details?: unknown };
        port.postMessage({
          id: message.id,
          ok: false,
          code: e.code ?? null,
          message: e.message,
          details: e.details ?? null,
        });
      }
    });
  });
}
