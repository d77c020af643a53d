import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResourceProfile } from '../contracts/index.js';
import {
  MIN_GAIN,
  ThroughputStore,
  defaultThroughputFile,
  measuredBatches,
  planMeasuredBatchSize,
  throughputKey,
  type RateSample,
} from './throughput.js';

const MB = 1024 * 1024;
const profile: ResourceProfile = { memoryMbPerUnit: 1, devices: ['cpu'], minBatch: 1, maxBatch: 16 };
const input = { units: 1000, availableBytes: 100_000 * MB };
const rates = (entries: [number, number][]): Map<number, RateSample> =>
  new Map(entries.map(([size, unitsPerSec]) => [size, { unitsPerSec, samples: 1 }]));

describe('planMeasuredBatchSize', () => {
  it('starts at the memory cap, then measures batch 1', () => {
    expect(planMeasuredBatchSize(profile, input, rates([]))).toBe(16);
    expect(planMeasuredBatchSize(profile, input, rates([[16, 50]]))).toBe(1);
  });

  it('climbs by powers of two while the next size is untried and stops at the fastest', () => {
    expect(
      planMeasuredBatchSize(
        profile,
        input,
        rates([
          [16, 50],
          [1, 100],
        ]),
      ),
    ).toBe(2);
    expect(
      planMeasuredBatchSize(
        profile,
        input,
        rates([
          [16, 50],
          [1, 100],
          [2, 120],
        ]),
      ),
    ).toBe(4);
    // 4 was slower than 2: 2 stays the choice.
    expect(
      planMeasuredBatchSize(
        profile,
        input,
        rates([
          [16, 50],
          [1, 100],
          [2, 120],
          [4, 110],
        ]),
      ),
    ).toBe(2);
  });

  it('never picks a size slower than batch 1 (a size above 1 must beat it by MIN_GAIN)', () => {
    // Batching below batch 1 on this CPU (the recogniser's case): stay at 1.
    expect(
      planMeasuredBatchSize(
        profile,
        input,
        rates([
          [16, 40],
          [1, 100],
          [2, 93],
        ]),
      ),
    ).toBe(1);
    // A gain inside the noise margin is not taken.
    expect(
      planMeasuredBatchSize(
        profile,
        input,
        rates([
          [16, 40],
          [1, 100],
          [2, 100 * MIN_GAIN - 1],
        ]),
      ),
    ).toBe(1);
    // The memory cap measured fastest: keep it.
    expect(
      planMeasuredBatchSize(
        profile,
        input,
        rates([
          [16, 300],
          [1, 100],
          [2, 150],
          [4, 200],
          [8, 250],
        ]),
      ),
    ).toBe(16);
  });

  it('stays within the memory cap whatever was measured', () => {
    const small = { units: 1000, availableBytes: 8 * MB }; // 8 MB × 0.5 / 1 MB → cap 4
    expect(
      planMeasuredBatchSize(
        profile,
        small,
        rates([
          [16, 900],
          [1, 100],
          [2, 150],
          [4, 200],
        ]),
      ),
    ).toBe(4);
    expect(
      planMeasuredBatchSize(
        profile,
        { ...input, units: 3 },
        rates([
          [1, 100],
          [2, 200],
        ]),
      ),
    ).toBe(3);
  });
});

describe('ThroughputStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dp-throughput-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('persists rates per key so that the next process starts from them', () => {
    const file = join(dir, 'sub', 'batch-throughput.json');
    const key = throughputKey([
      { model_name: 'emotion', model_version: '1', device: 'cpu', precision: 'fp32' as const },
    ]);
    const a = new ThroughputStore(file);
    a.record(key, 4, 40, 2); // 20 units/s
    a.record(key, 4, 40, 1); // 40 units/s → EWMA 30
    a.record('other', 1, 10, 1);
    const b = new ThroughputStore(file);
    expect(b.rates(key).get(4)).toEqual({ unitsPerSec: 30, samples: 2 });
    expect([...b.rates(key).keys()]).toEqual([4]);
    expect(b.rates('other').get(1)?.unitsPerSec).toBe(10);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toHaveProperty([key, '4']);
  });

  it('keys by models (order-free), device, precision and machine', () => {
    const m = (name: string, device = 'cpu', precision: 'fp32' | 'fp16' = 'fp32') => ({
      model_name: name,
      model_version: '1',
      device,
      precision,
    });
    expect(throughputKey([m('a'), m('b')])).toBe(throughputKey([m('b'), m('a')]));
    expect(throughputKey([m('a')])).not.toBe(throughputKey([m('a', 'cuda:0')]));
    expect(throughputKey([m('a')])).not.toBe(throughputKey([m('a', 'cpu', 'fp16')]));
    expect(throughputKey([m('a')])).toMatch(/×\d+$/);
  });

  it('reads a torn file as nothing measured, and a memory-only store writes nothing', () => {
    const file = join(dir, 'batch-throughput.json');
    writeFileSync(file, '{"torn');
    expect(new ThroughputStore(file).rates('k').size).toBe(0);
    const memory = new ThroughputStore(null);
    memory.record('k', 1, 5, 1);
    expect(memory.rates('k').get(1)?.unitsPerSec).toBe(5);
  });

  it('defaults to a file beside the model store, or $DATAPROCESSOR_THROUGHPUT_FILE', () => {
    expect(defaultThroughputFile({ DATAPROCESSOR_MODEL_DIR: '/m/models' })).toBe('/m/batch-throughput.json');
    expect(defaultThroughputFile({ DATAPROCESSOR_THROUGHPUT_FILE: '/x.json' })).toBe('/x.json');
  });

  it('measuredBatches reports each batch at its size and passes results through', async () => {
    const store = new ThroughputStore(null);
    const run = measuredBatches(
      (batch: readonly number[]) => Promise.resolve(batch.map((u) => u * 2)),
      store,
      () => 'k',
    );
    expect(await run([1, 2, 3], 0)).toEqual([2, 4, 6]);
    expect(await run([4], 3)).toEqual([8]);
    expect([...store.rates('k').keys()].sort()).toEqual([1, 3]);
    const none = new ThroughputStore(null);
    await measuredBatches(
      (b: readonly number[]) => Promise.resolve(b),
      none,
      () => null,
    )([1], 0);
    expect(none.rates('k').size).toBe(0);
  });
});
