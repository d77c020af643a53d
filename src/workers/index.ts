import { DataProcessorError, ERROR_CODES, type ErrorCode } from '../contracts/index.js';
import { resolveTaskUrl, spawnWorker } from './spawn.js';

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
  const worker = spawnWorker(
    new URL(import.meta.url.endsWith('.ts') ? './entry.ts' : './entry.js', import.meta.url),
    { moduleUrl: resolveTaskUrl(moduleUrl).href, input },
    options.transferList,
  );
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

export { resolveTaskUrl, spawnWorker } from './spawn.js';
export { WorkerChannel, serveRequests, workerError, type HandlerResult } from './channel.js';
