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

let workers: WorkerChannel[] = [];
let nextKey = 1;

/** Starts (or stops) the pool's workers; 0 runs TFJS in-process (on the event loop). */
export async function configureTfjsWorkers(count: number): Promise<void> {
  if (count === workers.length) return;
  const old = workers;
  workers = Array.from(
    { length: count },
    () => new WorkerChannel(new URL('./tfjs-worker.task.js', import.meta.url)),
  );
  await Promise.all(old.map((w) => w.close()));
}

/** Workers in the pool now (0: TFJS runs in-process). */
export function tfjsWorkerCount(): number {
  return workers.length;
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
  const pool = workers;
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
