// TFJS in worker threads. TFJS's wasm backend runs single-threaded and synchronously: in-process,
// every TFJS model of a run (BlazeFace, FaceMesh, CenterNet, the emotion classifier) shares the
// event loop, so components cannot overlap and the loop stalls for a whole batch. With a pool, a
// session's `infer` goes to the least busy worker (each loads the model on first use: the packaged
// TFJS models are a few MB), so two components' batches run on two cores at once. The same wasm
// kernels run on the same inputs in any worker, so the results do not depend on the worker.
import { WorkerChannel } from '../../workers/index.js';
import type { Precision } from '../card.js';
import type { Device } from '../device.js';
import type { LocatedModel } from '../store.js';
import type { Tensor } from '../tensor.js';
import type { EngineSession } from './types.js';

/** Workers the pool is configured for (0: TFJS runs in-process). */
let wanted = 0;
/** The started workers: none until a TFJS session opens or `startTfjsWorkers` is called. */
let workers: WorkerChannel[] = [];
let nextKey = 1;

/**
 * Sizes the pool; 0 runs TFJS in-process (on the event loop). Workers start lazily — each imports
 * TFJS and its wasm (≈ 1.2 s of CPU), which a run without TFJS models must not pay — or at once
 * with `startTfjsWorkers`. A new size stops the old workers.
 */
export async function configureTfjsWorkers(count: number): Promise<void> {
  if (count === wanted) return;
  wanted = count;
  const old = workers;
  workers = [];
  await Promise.all(old.map((w) => w.close()));
}

/** Starts the configured workers now (a run that will call TFJS models warms them up early). */
export function startTfjsWorkers(): readonly WorkerChannel[] {
  if (workers.length !== wanted)
    workers = Array.from(
      { length: wanted },
      () => new WorkerChannel(new URL('./tfjs-worker.task.js', import.meta.url)),
    );
  return workers;
}

/** Workers started now (≤ the configured count). */
export function tfjsWorkersStarted(): number {
  return workers.length;
}

/** Workers the pool is configured for (0: TFJS runs in-process); started or not. */
export function tfjsWorkerCount(): number {
  return wanted;
}

/** A copy of a tensor whose buffer can be moved to a worker (views are copied, never their whole buffer). */
function movable(t: Tensor): { tensor: Tensor; buffer: ArrayBuffer } {
  // slice() always allocates a fresh (non-shared) ArrayBuffer that the copy owns whole.
  const tensor = { ...t, data: t.data.slice() } as Tensor;
  return { tensor, buffer: tensor.data.buffer as ArrayBuffer };
}

/** The worker with the fewest requests in flight (the first on a tie). */
function leastBusy(pool: readonly WorkerChannel[]): WorkerChannel {
  let worker = pool[0] as WorkerChannel;
  for (const w of pool) if (w.inFlight < worker.inFlight) worker = w;
  return worker;
}

/**
 * A TFJS session served by the pool: the model is loaded in one worker now (a load that fails
 * fails here, as in-process), then each `infer` runs on the least busy worker.
 */
export async function openTfjsPooledSession(
  located: LocatedModel,
  device: Device,
  precision: Precision,
): Promise<EngineSession> {
  const key = `${located.card.name}@${located.card.version}#${nextKey++}`;
  const pool = startTfjsWorkers();
  const first = leastBusy(pool);
  await first.call('load', { key, located, device, precision });
  const used = new Set<WorkerChannel>([first]);
  return {
    async infer(inputs) {
      const worker = leastBusy(pool);
      used.add(worker);
      const moved = Object.entries(inputs).map(([name, t]) => [name, movable(t)] as const);
      return worker.call<Record<string, Tensor>>(
        'infer',
        { key, located, device, precision, inputs: Object.fromEntries(moved.map(([n, m]) => [n, m.tensor])) },
        moved.map(([, m]) => m.buffer),
      );
    },
    async dispose() {
      await Promise.all([...used].map((w) => w.call('dispose', { key }).catch(() => undefined)));
    },
  };
}
