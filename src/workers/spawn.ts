import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** A task module's URL as this build loads it: `.js` from dist, `.ts` (when present) from sources. */
export function resolveTaskUrl(moduleUrl: URL): URL {
  const fromSource = import.meta.url.endsWith('.ts');
  if (!fromSource && moduleUrl.pathname.endsWith('.ts'))
    return new URL(moduleUrl.href.replace(/\.ts$/, '.js'));
  if (fromSource && !existsSync(fileURLToPath(moduleUrl)) && moduleUrl.pathname.endsWith('.js'))
    return new URL(moduleUrl.href.replace(/\.js$/, '.ts'));
  return moduleUrl;
}

/**
 * Starts a worker thread on the module at `entryUrl` (resolved like a task module). From
 * TypeScript sources (tests), a tiny bootstrap registers tsx's loader in the worker before
 * importing the entry (`--import tsx` in execArgv does not reach a worker's entry on Node 20).
 */
export function spawnWorker(entryUrl: URL, workerData: unknown, transferList?: ArrayBuffer[]): Worker {
  const entry = resolveTaskUrl(entryUrl);
  const workerOptions = { workerData, ...(transferList ? { transferList } : {}) };
  return entry.pathname.endsWith('.ts')
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`,
        { ...workerOptions, eval: true },
      )
    : new Worker(entry, workerOptions);
}
