// Readiness (R-SVC-4): `/health` runs every check (queue, storage, model store, and Redis/Triton
// when configured) with a timeout and answers 503 naming the failing ones; `/health/live` only
// says the process serves requests.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { ModelStore, builtinCards } from '../models/index.js';
import type { JobQueue } from './queue/port.js';

export interface HealthCheck {
  name: string;
  /** Resolves when healthy; the rejection's message is reported (never secrets). */
  run(): Promise<void>;
}

export interface HealthReport {
  status: 'ok' | 'fail';
  checks: Record<string, { ok: boolean; duration_ms: number; error?: string }>;
}

/** Runs the checks in parallel, each bounded by `timeoutMs`. */
export async function runHealthChecks(
  checks: readonly HealthCheck[],
  timeoutMs = 2000,
): Promise<HealthReport> {
  const results = await Promise.all(
    checks.map(async (check) => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check.run(),
          new Promise(
            (_, reject) =>
              (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)),
          ),
        ]);
        return [check.name, { ok: true, duration_ms: Math.round(performance.now() - started) }] as const;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return [
          check.name,
          { ok: false, duration_ms: Math.round(performance.now() - started), error: message },
        ] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const report: HealthReport['checks'] = {};
  for (const [name, result] of results) report[name] = result;
  return { status: results.every(([, r]) => r.ok) ? 'ok' : 'fail', checks: report };
}

export function queueCheck(queue: JobQueue): HealthCheck {
  return { name: 'queue', run: () => queue.ping() };
}

/** The result store's root exists and is writable. */
export function storageCheck(root: string): HealthCheck {
  return {
    name: 'storage',
    run: async () => {
      if (!(await stat(root)).isDirectory()) throw new Error('the result store root is not a directory');
      await access(root, constants.W_OK);
    },
  };
}

/** Every packaged model can be located (installed models are checked when a run loads them). */
export function modelStoreCheck(dir?: string): HealthCheck {
  return {
    name: 'model_store',
    run: async () => {
      const store = new ModelStore(dir);
      const packaged = builtinCards().filter((card) => card.source.kind === 'npm');
      const missing: string[] = [];
      for (const card of packaged) if ((await store.locate(card)) === null) missing.push(card.name);
      if (missing.length > 0) throw new Error(`packaged models not found: ${missing.join(', ')}`);
    },
  };
}

/** Triton's own readiness endpoint (`/v2/health/ready`), when a Triton server is configured. */
export function tritonCheck(baseUrl: string): HealthCheck {
  return {
    name: 'triton',
    run: () =>
      new Promise((resolve, reject) => {
        const req = request(new URL('/v2/health/ready', baseUrl), { timeout: 1500 }, (res) => {
          res.resume();
          if (res.statusCode === 200) resolve();
          else reject(new Error(`Triton answered HTTP ${res.statusCode}`));
        });
        req.on('timeout', () => req.destroy(new Error('Triton did not answer')));
        req.on('error', reject);
        req.end();
      }),
  };
}
