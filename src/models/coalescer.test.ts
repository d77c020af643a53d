import { describe, expect, it } from 'vitest';
import type { ModelCard } from './card.js';
import { BatchCoalescer, hasSharedBatchAxis, type CoalescedBatch } from './coalescer.js';
import { float32Tensor, type Tensor } from './tensor.js';

// A model whose row i of the output is a function of row i of the input only: y = 2x + 1.
const card = {
  name: 'affine',
  inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 'D'] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 'D'] }],
} as unknown as ModelCard;
const model = { card, sessionKey: 'affine|cpu' };

function recorder(): {
  batches: number[];
  run: (inputs: Record<string, Tensor>) => Promise<Record<string, Tensor>>;
} {
  const batches: number[] = [];
  return {
    batches,
    run: (inputs) => {
      const x = inputs.x as Tensor<'float32'>;
      batches.push(x.dims[0] ?? 0);
      return Promise.resolve({
        y: float32Tensor(
          x.data.map((v) => 2 * v + 1),
          x.dims,
        ),
      });
    },
  };
}

const rows = (start: number, n: number, d = 2): Tensor =>
  float32Tensor(
    Array.from({ length: n * d }, (_, i) => start + i),
    [n, d],
  );

describe('BatchCoalescer (R-BAT-4)', () => {
  it('merges calls of different videos with equal keys and gives each its own rows back', async () => {
    const seen: CoalescedBatch[] = [];
    const coalescer = new BatchCoalescer({ maxVideos: 4, gatherMs: 1000, onBatch: (b) => seen.push(b) });
    const leave = [coalescer.join(), coalescer.join(), coalescer.join()];
    const { batches, run } = recorder();
    const group = (member: string) => ({ key: 'ocr|sig|cfg|320x180', component: 'ocr', member });
    const outs = await Promise.all(
      ['a', 'b', 'c'].map((m, i) => coalescer.infer(group(m), model, { x: rows(i * 100, i + 1) }, run)),
    );
    // All three joined runs called: one batch at once (no waiting out gatherMs).
    expect(batches).toEqual([6]);
    expect(seen).toEqual([{ component: 'ocr', model: 'affine', videos: 3, units: 6 }]);
    outs.forEach((out, i) => {
      const alone = rows(i * 100, i + 1).data as Float32Array;
      expect(out.y?.dims).toEqual([i + 1, 2]);
      expect(Array.from(out.y?.data as Float32Array)).toEqual(Array.from(alone).map((v) => 2 * v + 1));
    });
    leave.forEach((l) => l());
  });

  it('never merges different keys or shapes, and caps the videos per batch', async () => {
    const coalescer = new BatchCoalescer({ maxVideos: 2, gatherMs: 20 });
    const leave = ['a', 'b', 'c', 'd'].map(() => coalescer.join());
    const { batches, run } = recorder();
    const at = (key: string, member: string, x: Tensor) =>
      coalescer.infer({ key, component: 'c', member }, model, { x }, run);
    await Promise.all([
      at('k1', 'a', rows(0, 1)),
      at('k1', 'b', rows(0, 1)),
      at('k1', 'c', rows(0, 1)), // third video of k1: the cap of 2 starts a new batch
      at('k2', 'd', rows(0, 1)), // other key (e.g. another resolution bucket): alone
      at('k1', 'd', rows(0, 1, 3)), // same key, other non-batch shape: never with [*, 2]
    ]);
    expect([...batches].sort()).toEqual([1, 1, 1, 2]);
    leave.forEach((l) => l());
  });

  it('runs a call alone with one participant, and re-runs a failed merged batch call by call', async () => {
    const coalescer = new BatchCoalescer({ maxVideos: 4, gatherMs: 10_000 });
    const { batches, run } = recorder();
    const leaveA = coalescer.join();
    await coalescer.infer({ key: 'k', component: 'c', member: 'a' }, model, { x: rows(0, 3) }, run);
    expect(batches).toEqual([3]); // no wait for nobody
    const leaveB = coalescer.join();
    const failingMerged = (inputs: Record<string, Tensor>) =>
      (inputs.x?.dims[0] ?? 0) > 3 ? Promise.reject(new Error('out of memory')) : run(inputs);
    const [a, b] = await Promise.all([
      coalescer.infer({ key: 'k', component: 'c', member: 'a' }, model, { x: rows(0, 3) }, failingMerged),
      coalescer.infer({ key: 'k', component: 'c', member: 'b' }, model, { x: rows(10, 2) }, failingMerged),
    ]);
    expect(batches).toEqual([3, 3, 2]);
    expect(Array.from(b?.y?.data as Float32Array)).toEqual([21, 23, 25, 27]);
    expect(a?.y?.dims).toEqual([3, 2]);
    leaveA();
    leaveB();
  });

  it('stops waiting for a group after two waits for nobody, until another video calls it', async () => {
    const coalescer = new BatchCoalescer({ maxVideos: 4, gatherMs: 150 });
    const leave = [coalescer.join(), coalescer.join()]; // b runs, but elsewhere (another component)
    const { run } = recorder();
    const timed = async (member: string): Promise<number> => {
      const t0 = performance.now();
      await coalescer.infer({ key: 'k', component: 'c', member }, model, { x: rows(0, 1) }, run);
      return performance.now() - t0;
    };
    const waits = [await timed('a'), await timed('a'), await timed('a'), await timed('a')];
    expect(waits[0]).toBeGreaterThanOrEqual(140);
    expect(waits[1]).toBeGreaterThanOrEqual(140);
    expect(Math.max(waits[2] ?? 0, waits[3] ?? 0)).toBeLessThan(100);
    // b now calls the same group: a waits again, and they share a batch.
    const seen: number[] = [];
    const both = await Promise.all([
      coalescer.infer({ key: 'k', component: 'c', member: 'b' }, model, { x: rows(0, 1) }, (i) => {
        seen.push(i.x?.dims[0] ?? 0);
        return run(i);
      }),
      new Promise((r) => setTimeout(r, 20)).then(() =>
        coalescer.infer({ key: 'k', component: 'c', member: 'a' }, model, { x: rows(0, 2) }, run),
      ),
    ]);
    expect(seen).toEqual([3]);
    expect(both[1]?.y?.dims).toEqual([2, 2]);
    leave.forEach((l) => l());
  });

  it('keeps collecting while a batch of the same key runs, and runs what came meanwhile as one batch', async () => {
    const coalescer = new BatchCoalescer({ maxVideos: 4, gatherMs: 20 });
    const leave = [coalescer.join(), coalescer.join(), coalescer.join()];
    const batches: number[] = [];
    const slow = async (inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> => {
      batches.push(inputs.x?.dims[0] ?? 0);
      await new Promise((r) => setTimeout(r, 250));
      return recorder().run(inputs);
    };
    const call = (member: string, delayMs: number) =>
      new Promise((r) => setTimeout(r, delayMs)).then(() =>
        coalescer.infer({ key: 'k', component: 'c', member }, model, { x: rows(0, 1) }, slow),
      );
    // a runs alone after its wait; b and c arrive while it runs and share the next batch.
    await Promise.all([call('a', 0), call('b', 60), call('c', 120)]);
    expect(batches).toEqual([1, 2]);
    leave.forEach((l) => l());
  });

  it('merges only models whose inputs and outputs share one symbolic batch axis', () => {
    expect(hasSharedBatchAxis(card)).toBe(true);
    const fixed = { inputs: [{ shape: [1, 3] }], outputs: [{ shape: [1, 3] }] };
    const sparse = { inputs: [{ shape: ['K', 2] }], outputs: [{ shape: ['N', 512] }] };
    expect(hasSharedBatchAxis(fixed as unknown as ModelCard)).toBe(false);
    expect(hasSharedBatchAxis(sparse as unknown as ModelCard)).toBe(false);
  });
});
