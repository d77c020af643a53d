// R-BAT-4 feedback: the batch planner fed by measured throughput. Memory alone picks the largest
// batch that fits (batching.ts), but on a CPU a larger batch is often slower per unit (the
// PaddleOCR recogniser at batch 32 ran at about half the units/s of batch 1 here). So every batch
// a component runs reports units/s for its (models, device, precision) and batch size, and the
// planner picks the fastest measured batch within the memory cap:
//  - nothing measured yet: batch 1 (it can never be slower than batch 1);
//  - while the largest measured size is also the fastest, the next power of two (≤ the memory
//    cap) is tried once (one batch of exploration);
//  - otherwise the fastest measured size; a size above 1 must beat batch 1 by `MIN_GAIN`.
// Rates are exponential moving averages, persisted as JSON next to the model store (keyed also by
// the CPU model and core count: a measurement of one machine says nothing about another), so the
// next run starts from what this one learned. Batch sizes never change results beyond float
// rounding of the engines' kernels; each artifact records the batch size it ran with.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import type { ModelUsed, ResourceProfile } from '../contracts/index.js';
import { planBatchSize, type BatchPlanInput } from './batching.js';
import { defaultModelDir } from './store.js';

/** A size above batch 1 is chosen only when it measured this much faster than batch 1. */
export const MIN_GAIN = 1.05;
/** Weight of a new measurement in the moving average. */
const EWMA = 0.5;

/** One measured rate: units per second at one batch size. */
export interface RateSample {
  unitsPerSec: number;
  samples: number;
}

type Table = Record<string, Record<string, RateSample>>;

/** Where throughput measurements are persisted: `$DATAPROCESSOR_THROUGHPUT_FILE`, else beside the model store. */
export function defaultThroughputFile(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.DATAPROCESSOR_THROUGHPUT_FILE;
  return fromEnv !== undefined && fromEnv !== ''
    ? fromEnv
    : join(dirname(defaultModelDir(env)), 'batch-throughput.json');
}

/** The machine part of a key: CPU model and cores (throughput is a property of the machine). */
function machineKey(): string {
  return `${cpus()[0]?.model.trim() ?? 'cpu'} ×${availableParallelism()}`;
}

/** The key of what was measured: the models (name@version, device, precision) of a component, and the machine. */
export function throughputKey(
  models: readonly Pick<ModelUsed, 'model_name' | 'model_version' | 'device' | 'precision'>[],
): string {
  const parts = models.map((m) => `${m.model_name}@${m.model_version}/${m.device}/${m.precision}`).sort();
  return `${parts.join('+')} | ${machineKey()}`;
}

/** Measured units/s per key and batch size, persisted to a JSON file (null: memory only). */
export class ThroughputStore {
  #table: Table;

  constructor(readonly file: string | null = defaultThroughputFile()) {
    this.#table = file ? readTable(file) : {};
  }

  /** Rates measured for `key`, by batch size. */
  rates(key: string): Map<number, RateSample> {
    return new Map(Object.entries(this.#table[key] ?? {}).map(([size, s]) => [Number(size), s]));
  }

  /** Records `units` units done in `seconds` at `batchSize`; persists the table. */
  record(key: string, batchSize: number, units: number, seconds: number): void {
    if (!(seconds > 0) || units <= 0) return;
    const rate = units / seconds;
    const row = (this.#table[key] ??= {});
    const old = row[String(batchSize)];
    row[String(batchSize)] = old
      ? { unitsPerSec: old.unitsPerSec * (1 - EWMA) + rate * EWMA, samples: old.samples + 1 }
      : { unitsPerSec: rate, samples: 1 };
    this.#persist();
  }

  #persist(): void {
    if (!this.file) return;
    // Atomic replace. The table is a cache of measurements: a store that cannot be written (a
    // read-only home) costs the next run its head start, never this run its results.
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(this.#table, null, 1)}\n`);
      renameSync(tmp, this.file);
    } catch (error) {
      void error;
    }
  }
}

function readTable(file: string): Table {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    void error; // No file yet: nothing measured.
    return {};
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed !== null && typeof parsed === 'object' ? (parsed as Table) : {};
  } catch (error) {
    void error; // A torn or foreign file is a cache miss; the next record rewrites it.
    return {};
  }
}

/** Candidate batch sizes: powers of two from `minBatch` up to `cap`, and `cap` itself. */
function candidates(minBatch: number, cap: number): number[] {
  const out: number[] = [];
  for (let size = Math.max(1, minBatch); size < cap; size *= 2) out.push(size);
  out.push(cap);
  return [...new Set(out)];
}

/**
 * R-BAT-2 + R-BAT-4 feedback: the batch size to run next, from the rates measured so far for the
 * component's models. `planBatchSize` (memory) gives the cap. Nothing measured: the cap (what the
 * memory planner always chose); then batch 1 (the baseline); then a climb by powers of two from
 * the fastest size while the next size up is untried; in the end the fastest measured size, where
 * a size above 1 counts only if it beat batch 1 by `MIN_GAIN` (so the choice is never slower than 1).
 */
export function planMeasuredBatchSize(
  profile: ResourceProfile,
  input: BatchPlanInput,
  rates: ReadonlyMap<number, RateSample>,
): number {
  const cap = planBatchSize(profile, input);
  const sizes = candidates(profile.minBatch, cap);
  const first = sizes[0] ?? 1;
  const rateOf = (size: number): number | undefined => rates.get(size)?.unitsPerSec;
  if (sizes.every((s) => rateOf(s) === undefined)) return cap;
  const base = rateOf(first);
  if (base === undefined) return first;
  let best = first;
  for (const size of sizes) {
    const rate = rateOf(size);
    if (rate !== undefined && rate > (rateOf(best) ?? 0) && rate >= base * MIN_GAIN) best = size;
  }
  const next = sizes.find((s) => s > best);
  if (next !== undefined && rateOf(next) === undefined) return next;
  return best;
}

let shared: ThroughputStore | null = null;

/** The process's throughput store (persisted at `defaultThroughputFile()`), created on first use. */
export function sharedThroughputStore(): ThroughputStore {
  return (shared ??= new ThroughputStore());
}

/** Replaces the process's throughput store (benches, tests); null goes back to the default file. */
export function setThroughputStore(store: ThroughputStore | null): void {
  shared = store;
}

/**
 * Wraps a batch function so that each call reports its units/s at its batch size to `store`
 * under `key()` (read at call time: models load before the first batch).
 */
export function measuredBatches<U, R>(
  runBatch: (batch: readonly U[], offset: number) => Promise<readonly R[]>,
  store: ThroughputStore,
  key: () => string | null,
): (batch: readonly U[], offset: number) => Promise<readonly R[]> {
  return async (batch, offset) => {
    const t0 = performance.now();
    const out = await runBatch(batch, offset);
    const k = key();
    if (k !== null) store.record(k, batch.length, batch.length, (performance.now() - t0) / 1000);
    return out;
  };
}
