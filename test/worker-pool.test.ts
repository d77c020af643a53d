// The streaming worker protocol (WorkerChannel / serveRequests) and the TFJS worker pool of the
// CPU plan: replies match requests, errors keep their code across the thread boundary, moved
// buffers arrive whole; a TFJS model gives the same numbers in the pool as in-process.
import { afterAll, describe, expect, it } from 'vitest';
import { DataProcessorError } from '../src/contracts/index.js';
import {
  applyCpuPlan,
  clearModelSessions,
  loadModel,
  planCpu,
  tfjsWorkersStarted,
} from '../src/models/index.js';
import { WorkerChannel } from '../src/workers/index.js';

describe('WorkerChannel', () => {
  const channel = new WorkerChannel(new URL('./support/workers/echo.task.ts', import.meta.url));
  afterAll(() => channel.close());

  it('answers each request with its own reply, in any completion order', async () => {
    const replies = await Promise.all([
      channel.call<number>('slow', 80),
      channel.call<{ a: number }>('echo', { a: 1 }),
      channel.call<number>('slow', 10),
    ]);
    expect(replies).toEqual([80, { a: 1 }, 10]);
    expect(channel.inFlight).toBe(0);
  });

  it('moves buffers and keeps DataProcessorError codes and details', async () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => i);
    expect(await channel.call<number>('sum', data, [data.buffer])).toBe(499500);
    expect(data.byteLength).toBe(0); // moved, not copied
    const error = await channel.call('fail', null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataProcessorError);
    expect(error).toMatchObject({ code: 'OOM', details: { batch_size: 3 } });
    await expect(channel.call('nope', null)).rejects.toThrow(/unknown worker method nope/);
  });
});

describe('TFJS worker pool (CPU plan)', () => {
  afterAll(async () => {
    await clearModelSessions();
    await applyCpuPlan(null);
  });

  it('gives the in-process numbers for the same input, batch after batch on either worker', async () => {
    const input = {
      input_1: {
        dtype: 'float32' as const,
        dims: [3, 64, 64, 1],
        data: Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => (Math.sin(i * 0.37) + 1) / 2),
      },
    };
    await applyCpuPlan(null);
    const inProcess = (await (await loadModel('emotion')).infer(input)).Identity!.data as Float32Array;
    await clearModelSessions();
    await applyCpuPlan(planCpu(2));
    // Workers start with the first TFJS session, not with the plan (a run without TFJS models
    // must not pay their imports) — unless the run asks for them warm.
    expect(tfjsWorkersStarted()).toBe(0);
    const pooled = await loadModel('emotion');
    expect(tfjsWorkersStarted()).toBe(2);
    // Four calls at once: both workers serve some (each loads the model on first use).
    const outs = await Promise.all([0, 1, 2, 3].map(() => pooled.infer(input)));
    for (const out of outs)
      expect(Array.from(out.Identity!.data as Float32Array)).toEqual(Array.from(inProcess));
    expect(input.input_1.data.byteLength).toBeGreaterThan(0); // the caller's tensor is not moved
    expect(pooled.concurrency).toBe(2);
    await applyCpuPlan(null);
    expect(tfjsWorkersStarted()).toBe(0);
    await applyCpuPlan(planCpu(2), { warmTfjs: true });
    expect(tfjsWorkersStarted()).toBe(2);
  });
});
