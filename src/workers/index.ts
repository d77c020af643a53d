import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DataProcessorError, ERROR_CODES, type ErrorCode } from '../contracts/index.js';

/**
 * Runs `task(input, progress)` exported by the module at `moduleUrl` in a worker thread and
 * resolves with its result. Errors keep their DataProcessorError code across the thread boundary.
 * When running from TypeScript sources (tests), the worker loads them through tsx.
 */
export function runInWorker<T>(
  moduleUrl: URL,
  input: unknown,
  options: {
    onProgress?: (done: number, total: number) => void;
    signal?: AbortSignal;
    transferList?: ArrayBuffer[];
  } = {},
): Promise<T> {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './entry.ts' : './entry.js', import.meta.url);
  let taskUrl = moduleUrl;
  if (!fromSource && moduleUrl.pathname.endsWith('.ts'))
    taskUrl = new URL(moduleUrl.href.replace(/\.ts$/, '.js'));
  if (fromSource && !existsSync(fileURLToPath(taskUrl)) && taskUrl.pathname.endsWith('.js')) {
    taskUrl = new URL(taskUrl.href.replace(/\.js$/, '.ts'));
  }
  const workerOptions = {
    workerData: { moduleUrl: taskUrl.href, input },
    ...(options.transferList ? { transferList: options.transferList } : {}),
  };
  // From sources, a tiny bootstrap registers tsx's loader in the worker before importing the
  // TypeScript entry (`--import tsx` in execArgv does not reach a worker's entry on Node 20).
  const worker = fromSource
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`,
        { ...workerOptions, eval: true },
      )
    : new Worker(entry, workerOptions);
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const onAbort = (): void => {
      void worker.terminate();
      if (!settled) {
        settled = true;
        reject(new DataProcessorError('INTERNAL', 'worker task aborted'));
      }
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on(
      'message',
      (message: {
        type: string;
        done?: number;
        total?: number;
        result?: T;
        code?: string;
        message?: string;
        details?: Record<string, unknown>;
      }) => {
        if (message.type === 'progress') options.onProgress?.(message.done ?? 0, message.total ?? 0);
        else if (message.type === 'result' && !settled) {
          settled = true;
          resolve(message.result as T);
        } else if (message.type === 'error' && !settled) {
          settled = true;
          const code = message.code && message.code in ERROR_CODES ? (message.code as ErrorCode) : 'INTERNAL';
          reject(
            new DataProcessorError(code, message.message ?? 'worker task failed', {
              details: message.details ?? {},
            }),
          );
        }
      },
    );
    worker.on('error', (error) => {
      if (!settled) {
        settled = true;
        reject(error);
      }
    });
    worker.on('exit', (exitCode) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (!settled) {
        settled = true;
        reject(
          new DataProcessorError('INTERNAL', `worker exited with code ${exitCode} before returning a result`),
        );
      }
    });
  });
}
