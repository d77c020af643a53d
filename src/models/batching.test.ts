import { describe, expect, it, afterEach } from 'vitest';
import { DataProcessorError, type ResourceProfile } from '../contracts/index.js';
import {
  expectedClipEmbedding,
  installSynthetic,
  tempModelSystem,
} from '../../test/support/models/fixtures.js';
import {
  clearModelSessions,
  createModelAccess,
  float32Tensor,
  inprocessRuntime,
  isOutOfMemory,
  planBatchSize,
  runBatches,
  stackTensors,
  unstackTensor,
  type Runtime,
  type Tensor,
} from './index.js';

afterEach(async () => {
  await clearModelSessions();
});

const MB = 1024 * 1024;
const profile = (over: Partial<ResourceProfile> = {}): ResourceProfile => ({
  memoryMbPerUnit: 100,
  devices: ['cpu'],
  minBatch: 1,
  maxBatch: 64,
  ...over,
});

describe('batch planner (R-BAT-2)', () => {
  it('takes the largest batch whose memory fits its share, within [minBatch, maxBatch] and the units waiting', () => {
    expect(planBatchSize(profile(), { units: 1000, availableBytes: 2000 * MB })).toBe(10); // 2000 MB × 0.5 / 100
    expect(planBatchSize(profile(), { units: 1000, availableBytes: 2000 * MB, memoryShare: 1 })).toBe(20);
    expect(planBatchSize(profile(), { units: 1000, availableBytes: 100_000 * MB })).toBe(64);
    expect(planBatchSize(profile(), { units: 7, availableBytes: 100_000 * MB })).toBe(7);
    expect(planBatchSize(profile({ minBatch: 4 }), { units: 100, availableBytes: 300 * MB })).toBe(4);
    expect(planBatchSize(profile(), { units: 100, availableBytes: 0 })).toBe(1);
    expect(planBatchSize(profile({ maxBatch: 1 }), { units: 100, availableBytes: 100_000 * MB })).toBe(1);
  });

  it('defaults to the memory this process can still use', () => {
    const size = planBatchSize(profile({ memoryMbPerUnit: 1 }), { units: 1_000_000 });
    expect(size).toBeGreaterThanOrEqual(1);
    expect(size).toBeLessThanOrEqual(64);
  });
});

/** Wraps a runtime so that any batch above `limit` fails the way ONNX Runtime reports an allocation failure. */
function oomAbove(limit: number, inner: Runtime, seen: number[]): Runtime {
  return {
    ...inner,
    async open(located, device, precision) {
      const session = await inner.open(located, device, precision);
      return {
        async infer(inputs) {
          const n = Object.values(inputs)[0]?.dims[0] ?? 0;
          seen.push(n);
          if (n > limit) {
            throw new Error(
              `[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Failed to allocate memory for requested buffer of size ${n * 602112}`,
            );
          }
          return session.infer(inputs);
        },
        dispose: () => session.dispose(),
      };
    },
  };
}

function units(n: number): Tensor<'float32'>[] {
  return Array.from({ length: n }, (_, u) => {
    const x = new Float32Array(3 * 224 * 224);
    for (let i = 0; i < x.length; i++) x[i] = ((i * 31 + u * 977) % 255) / 255 - 0.5;
    return float32Tensor(x, [3, 224, 224]);
  });
}

describe('OOM policy (R-BAT-3) with a real ORT session behind a failing wrapper', () => {
  async function setup(limit: number) {
    const system = tempModelSystem(['clip-vision']);
    await installSynthetic(system.store, system.registry, 'clip-vision');
    const seen: number[] = [];
    const access = createModelAccess({ ...system, runtime: oomAbove(limit, inprocessRuntime(), seen) });
    const model = await access.load('synthetic-clip-vision');
    const run = (batch: readonly Tensor<'float32'>[]) =>
      model
        .infer({ pixel_values: stackTensors(batch) })
        .then((out) => unstackTensor(out.image_embeds as Tensor));
    return { access, run, seen };
  }

  it('forced OOM above 4: completes at batch ≤ 4, retries recorded, every unit mapped to its own result', async () => {
    const { access, run, seen } = await setup(4);
    const input = units(21);
    const result = await access.runBatches(input, run, { batchSize: 16 });
    expect(result.batchSize).toBe(4);
    expect(result.retries).toBe(2); // 16 → 8 → 4
    expect(seen.slice(0, 3)).toEqual([16, 8, 4]);
    expect(Math.max(...seen.slice(2))).toBeLessThanOrEqual(4);
    expect(result.results).toHaveLength(21);
    for (const [i, out] of result.results.entries()) {
      const expected = expectedClipEmbedding(input[i]?.data ?? new Float32Array(), 224, 224);
      expect(out.data[0]).toBeCloseTo(expected[0] ?? Number.NaN, 4);
      expect(out.data[511]).toBeCloseTo(expected[511] ?? Number.NaN, 4);
    }
  });

  it('a batch shorter than the planned size shrinks below its own length', async () => {
    const { access, run, seen } = await setup(1);
    const result = await access.runBatches(units(3), run, { batchSize: 64 });
    expect(seen).toEqual([3, 2, 1, 1, 1]);
    expect(result).toMatchObject({ batchSize: 1, retries: 2 });
    expect(result.results).toHaveLength(3);
  });

  it('64 → 32 → 16 → 1: three retries, the last at 1', async () => {
    const { access, run, seen } = await setup(2);
    const result = await access.runBatches(units(64), run, { batchSize: 64 });
    expect(seen.slice(0, 4)).toEqual([64, 32, 16, 1]);
    expect(result).toMatchObject({ batchSize: 1, retries: 3 });
    expect(result.results).toHaveLength(64);
  });

  it('OOM even at batch size 1 fails with OOM', async () => {
    const { access, run } = await setup(0);
    const error = await access.runBatches(units(5), run, { batchSize: 4 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataProcessorError);
    expect((error as DataProcessorError).code).toBe('OOM');
    expect((error as DataProcessorError).details).toMatchObject({ batch_size: 1 });
  });
});

describe('batch runner contract', () => {
  it('maps results to units by index across batches and reports progress', async () => {
    const progress: number[] = [];
    const r = await runBatches([1, 2, 3, 4, 5, 6, 7], (b) => Promise.resolve(b.map((x) => x * 10)), {
      batchSize: 3,
      onProgress: (done) => progress.push(done),
    });
    expect(r).toEqual({ results: [10, 20, 30, 40, 50, 60, 70], batchSize: 3, retries: 0, batches: 3 });
    expect(progress).toEqual([3, 6, 7]);
  });

  it('a batch returning the wrong number of results is CONTRACT_VIOLATION; non-OOM errors are not retried', async () => {
    await expect(runBatches([1, 2], () => Promise.resolve([1]), { batchSize: 2 })).rejects.toMatchObject({
      code: 'CONTRACT_VIOLATION',
    });
    let calls = 0;
    await expect(
      runBatches(
        [1, 2],
        () => {
          calls += 1;
          return Promise.reject(new Error('shape mismatch'));
        },
        { batchSize: 2 },
      ),
    ).rejects.toThrow('shape mismatch');
    expect(calls).toBe(1);
    await expect(runBatches([1], () => Promise.resolve([1]), { batchSize: 0 })).rejects.toMatchObject({
      code: 'CONTRACT_VIOLATION',
    });
  });

  it('runs `concurrency` batches at once, results still in unit order; an OOM in a wave reruns from there smaller', async () => {
    let inFlight = 0;
    let peak = 0;
    const calls: number[][] = [];
    const run = async (b: readonly number[]): Promise<number[]> => {
      calls.push([...b]);
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      // Later batches finish first: the order must come from the units, not from completion.
      await new Promise((r) => setTimeout(r, 30 - (b[0] ?? 0)));
      inFlight -= 1;
      if (b.length > 2 && (b[0] ?? 0) >= 6) throw new Error('Failed to allocate memory for requested buffer');
      return b.map((x) => x * 10);
    };
    const units = Array.from({ length: 11 }, (_, i) => i);
    const r = await runBatches(units, run, { batchSize: 3, concurrency: 2 });
    expect(peak).toBe(2);
    expect(r.results).toEqual(units.map((x) => x * 10));
    // Wave 1: [0..2] [3..5]; wave 2: [6..8] OOM, [9,10] discarded; then at size 1, two at a time.
    expect(calls.slice(0, 4)).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
      [9, 10],
    ]);
    expect(calls.slice(4)).toEqual([[6], [7], [8], [9], [10]]);
    expect(r).toMatchObject({ batchSize: 1, retries: 1, batches: 7 });
  });

  it('stops at an aborted signal', async () => {
    const controller = new AbortController();
    const run = runBatches(
      [1, 2, 3],
      (b) => {
        controller.abort();
        return Promise.resolve(b);
      },
      { batchSize: 1, signal: controller.signal },
    );
    await expect(run).rejects.toMatchObject({ code: 'INTERNAL', message: 'batch run aborted' });
  });

  it('classifies engine allocation failures as OOM and nothing else', () => {
    expect(isOutOfMemory(new Error('CUDA error: out of memory'))).toBe(true);
    expect(isOutOfMemory(new RangeError('Array buffer allocation failed'))).toBe(true);
    expect(isOutOfMemory(new Error('std::bad_alloc'))).toBe(true);
    expect(isOutOfMemory(new Error('Cannot enlarge memory arrays to size 2147483648 bytes'))).toBe(true);
    expect(isOutOfMemory(new DataProcessorError('OOM', 'x'))).toBe(true);
    expect(isOutOfMemory(new Error('Got invalid dimensions for input'))).toBe(false);
    expect(isOutOfMemory(new DataProcessorError('INTERNAL', 'out of memory'))).toBe(false);
  });
});
