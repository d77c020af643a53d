// Worker-thread entry: imports a task module and runs its exported `task(input, progress)`.
// Heavy CPU work (DSP, pixel loops) runs here so the event loop only coordinates.
import { parentPort, workerData } from 'node:worker_threads';

interface TaskModule {
  task(input: unknown, progress: (done: number, total: number) => void): unknown;
}

const { moduleUrl, input } = workerData as { moduleUrl: string; input: unknown };
const port = parentPort;
if (!port) throw new Error('entry.ts must run in a worker thread');
try {
  const mod = (await import(moduleUrl)) as TaskModule;
  const result = await mod.task(input, (done, total) => port.postMessage({ type: 'progress', done, total }));
  port.postMessage({ type: 'result', result });
} catch (error) {
  const e = error as Error & { code?: string; details?: unknown };
  port.postMessage({
    type: 'error',
    name: e.name,
    message: e.message,
    code: e.code ?? null,
    details: e.details ?? null,
    stack: e.stack,
  });
}
