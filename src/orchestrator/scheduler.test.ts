import { describe, expect, it } from 'vitest';
import { runScheduled, type ScheduledNode } from './scheduler.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs the nodes with the given durations and records start/finish order and peak concurrency. */
async function trace(
  nodes: ScheduledNode[],
  durations: Record<string, number>,
  limits = { maxParallel: 8, memoryBudgetMb: 1e9 },
) {
  const events: string[] = [];
  let running = 0;
  let peak = 0;
  let memory = 0;
  let peakMemory = 0;
  await runScheduled(nodes, limits, async (node) => {
    running += 1;
    memory += node.memoryMb;
    peak = Math.max(peak, running);
    peakMemory = Math.max(peakMemory, memory);
    events.push(`start ${node.name}`);
    await sleep(durations[node.name] ?? 1);
    events.push(`end ${node.name}`);
    running -= 1;
    memory -= node.memoryMb;
    return node.name;
  });
  return { events, peak, peakMemory };
}

const node = (name: string, dependsOn: string[] = [], memoryMb = 1): ScheduledNode => ({
  name,
  dependsOn,
  memoryMb,
});

describe('runScheduled', () => {
  it('starts a node as soon as its own dependencies are done, not when a whole level is', async () => {
    // a (slow) and b (fast) are independent; c needs only b, so it must start before a ends.
    const { events } = await trace([node('a'), node('b'), node('c', ['b'])], { a: 80, b: 5, c: 5 });
    expect(events.indexOf('start c')).toBeLessThan(events.indexOf('end a'));
    expect(events.indexOf('start c')).toBeGreaterThan(events.indexOf('end b'));
  });

  it('never runs more than maxParallel nodes at once', async () => {
    const nodes = ['a', 'b', 'c', 'd', 'e'].map((n) => node(n));
    const { peak } = await trace(
      nodes,
      { a: 20, b: 20, c: 20, d: 20, e: 20 },
      { maxParallel: 2, memoryBudgetMb: 1e9 },
    );
    expect(peak).toBe(2);
  });

  it('keeps the declared memory in flight within the budget, but always lets one node run', async () => {
    const nodes = [node('a', [], 600), node('b', [], 600), node('c', [], 300), node('huge', [], 5000)];
    const { peakMemory, events } = await trace(
      nodes,
      { a: 20, b: 20, c: 20, huge: 5 },
      { maxParallel: 8, memoryBudgetMb: 1000 },
    );
    expect(peakMemory).toBeLessThanOrEqual(5000);
    // a and c fit together (900), b waits for a; huge runs alone.
    expect(events.indexOf('start b')).toBeGreaterThan(events.indexOf('end a'));
    expect(events).toContain('end huge');
  });

  it('keeps the CPU threads in flight within the budget: a node using every core runs alone', async () => {
    const heavy = (name: string): ScheduledNode => ({ ...node(name), cpuThreads: 2 });
    const nodes = [node('light1'), heavy('faces'), heavy('ocr'), node('light2')];
    const events: string[] = [];
    let threads = 0;
    let peakThreads = 0;
    await runScheduled(nodes, { maxParallel: 8, memoryBudgetMb: 1e9, cpuThreads: 2 }, async (n) => {
      threads += n.cpuThreads ?? 1;
      peakThreads = Math.max(peakThreads, threads);
      events.push(`start ${n.name}`);
      await sleep(15);
      events.push(`end ${n.name}`);
      threads -= n.cpuThreads ?? 1;
    });
    expect(peakThreads).toBe(2);
    // light1 runs first (topological order); faces waits for it, then ocr for faces; light2 fits
    // beside light1 only — it may not join a heavy node.
    expect(events.indexOf('start faces')).toBeGreaterThan(events.indexOf('end light1'));
    expect(events.indexOf('start ocr')).toBeGreaterThan(events.indexOf('end faces'));
    // A node asking for more than the whole budget still runs (alone).
    const alone = await trace([{ ...node('big'), cpuThreads: 16 }], { big: 1 });
    expect(alone.events).toEqual(['start big', 'end big']);
  });

  it('returns every result by name, and rejects a dependency on an unscheduled node', async () => {
    const results = await runScheduled(
      [node('x'), node('y', ['x'])],
      { maxParallel: 1, memoryBudgetMb: 1 },
      (n) => Promise.resolve(n.name.toUpperCase()),
    );
    expect([...results]).toEqual([
      ['x', 'X'],
      ['y', 'Y'],
    ]);
    await expect(
      runScheduled([node('y', ['missing'])], { maxParallel: 1, memoryBudgetMb: 1 }, () => Promise.resolve(0)),
    ).rejects.toThrow(/missing/);
  });
});
