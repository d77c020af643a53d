import { existsSync, readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { DataProcessorError, type ResourceProfile } from '../contracts/index.js';
import { isOutOfMemory } from './oom.js';

/**
 * Memory this process may still allocate: the lower of the machine's free memory and the
 * cgroup v2 limit minus current usage (containers report the host's free memory otherwise).
 */
export function availableMemoryBytes(): number {
  let available = freemem();
  try {
    const max = '/sys/fs/cgroup/memory.max';
    const current = '/sys/fs/cgroup/memory.current';
    if (existsSync(max) && existsSync(current)) {
      const limit = readFileSync(max, 'utf8').trim();
      if (limit !== 'max')
        available = Math.min(available, Number(limit) - Number(readFileSync(current, 'utf8').trim()));
    }
  } catch (error) {
    // Unreadable cgroup files (another cgroup layout): freemem alone is still a valid bound.
    void error;
  }
  return Math.max(0, available);
}

/** Inputs of the batch planner. */
export interface BatchPlanInput {
  /** Units waiting (the plan never exceeds it). */
  units: number;
  /** @defaultValue `availableMemoryBytes()` */
  availableBytes?: number;
  /** Share of the available memory one component may plan for (others run beside it). @defaultValue 0.5 */
  memoryShare?: number;
}

/**
 * R-BAT-2 batch planner: the largest batch within the component's `[minBatch, maxBatch]` whose
 * memory (`memoryMbPerUnit` × batch) fits into its share of the available memory, never more
 * than the units waiting. Returns at least 1 (the OOM policy handles a bad estimate).
 */
export function planBatchSize(profile: ResourceProfile, input: BatchPlanInput): number {
  const share = input.memoryShare ?? 0.5;
  const availableMb = (input.availableBytes ?? availableMemoryBytes()) / (1024 * 1024);
  const byMemory =
    profile.memoryMbPerUnit > 0
      ? Math.floor((availableMb * share) / profile.memoryMbPerUnit)
      : profile.maxBatch;
  const size = Math.min(profile.maxBatch, byMemory, Math.max(1, input.units));
  return Math.max(1, Math.min(Math.max(size, profile.minBatch), profile.maxBatch, Math.max(1, input.units)));
}

/** Options of `runBatches`. */
export interface RunBatchesOptions {
  /** First batch size (from `planBatchSize`). */
  batchSize: number;
  /** R-BAT-3: retries after an OOM, each with a smaller batch, the last at 1. @defaultValue 3 */
  maxRetries?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /**
   * Batches in flight at once: consecutive batches start together and their results still come
   * back in unit order. Worth more than 1 only where the runtime serves calls side by side (the
   * TFJS worker pool: one call per worker). @defaultValue 1
   */
  concurrency?: number;
}

/** What `runBatches` returns: results in unit order, and the batching that produced them. */
export interface BatchRun<R> {
  results: R[];
  /** The batch size the run finished with (after any OOM reductions); what meta records as `batch_size`. */
  batchSize: number;
  /** OOM retries spent. */
  retries: number;
  batches: number;
}

/** The next batch size after an OOM at `current`: halve, and the last allowed retry goes to 1. */
function shrink(current: number, retriesLeftAfter: number): number {
  return retriesLeftAfter === 0 ? 1 : Math.max(1, Math.floor(current / 2));
}

/**
 * R-BAT-1/3 batch runner. Cuts `units` into consecutive batches, calls `runBatch` on each and
 * maps its results back to the units by index (a batch must return one result per unit, in
 * order). On an out-of-memory error the same units are retried with a smaller batch on the same
 * runtime and device — up to `maxRetries` times in the whole run, the last at batch size 1 — and
 * later batches keep the reduced size. OOM once the retries are spent (or at size 1) is an `OOM` error.
 */
export async function runBatches<U, R>(
  units: readonly U[],
  runBatch: (batch: readonly U[], offset: number) => Promise<readonly R[]>,
  options: RunBatchesOptions,
): Promise<BatchRun<R>> {
  const maxRetries = options.maxRetries ?? 3;
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new DataProcessorError(
      'CONTRACT_VIOLATION',
      `batch size must be a positive integer, got ${options.batchSize}`,
    );
  }
  let size = options.batchSize;
  let retries = 0;
  let batches = 0;
  const results: R[] = [];
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
  let offset = 0;
  while (offset < units.length) {
    if (options.signal?.aborted) throw new DataProcessorError('INTERNAL', 'batch run aborted');
    // One wave: up to `concurrency` consecutive batches at the current size, started together.
    const wave: { start: number; batch: readonly U[] }[] = [];
    for (let start = offset; start < units.length && wave.length < concurrency; start += size)
      wave.push({ start, batch: units.slice(start, start + size) });
    const outcomes = await Promise.allSettled(wave.map(({ batch, start }) => runBatch(batch, start)));
    for (const [w, outcome] of outcomes.entries()) {
      const { batch } = wave[w] as { batch: readonly U[] };
      if (outcome.status === 'rejected') {
        const error: unknown = outcome.reason;
        if (!isOutOfMemory(error)) throw error;
        if (retries >= maxRetries || batch.length === 1) {
          throw new DataProcessorError(
            'OOM',
            `out of memory at batch size ${batch.length} after ${retries} ${retries === 1 ? 'retry' : 'retries'}`,
            { cause: error, details: { batch_size: batch.length, retries } },
          );
        }
        // The rest of the wave is run again from here at the smaller size.
        retries += 1;
        size = Math.min(shrink(size, maxRetries - retries), batch.length - 1 || 1);
        break;
      }
      const out = outcome.value;
      if (out.length !== batch.length) {
        throw new DataProcessorError(
          'CONTRACT_VIOLATION',
          `a batch of ${batch.length} units returned ${out.length} results (results must map 1:1 to units)`,
        );
      }
      results.push(...out);
      offset += batch.length;
      batches += 1;
      options.onProgress?.(offset, units.length);
    }
  }
  return { results, batchSize: units.length === 0 ? size : Math.min(size, units.length), retries, batches };
}
