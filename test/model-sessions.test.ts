// Long-lived process safety (issue 11 item 6): the process-wide model session cache is an LRU
// bounded by bytes, with explicit release. Real ONNX Runtime sessions of the synthetic models:
// a worker that loads and runs model after model keeps its resident memory bounded, while the same
// number of sessions kept open (the control, measured in the same process) grows it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SYNTHETIC_KINDS,
  buildSyntheticModel,
  clearModelSessions,
  inprocessRuntime,
  loadModel,
  modelSessions,
  tensor,
  type EngineSession,
  type LoadedModel,
  type ModelCard,
  type ModelSystemOptions,
  type Tensor,
} from '../src/models/index.js';
import { installSynthetic, tempModelSystem } from './support/models/fixtures.js';

const MIB = 1024 * 1024;

/** One batch of deterministic inputs for a card (free dims = 1; 16×16 images for the depth model). */
function inputsFor(card: ModelCard): Record<string, Tensor> {
  const inputs: Record<string, Tensor> = {};
  for (const spec of card.inputs) {
    const dims = spec.shape.map((d) => (typeof d === 'number' ? d : d === 'H' || d === 'W' ? 16 : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    inputs[spec.name] =
      spec.dtype === 'int64'
        ? tensor(
            'int64',
            BigInt64Array.from({ length: n }, () => 1n),
            dims,
          )
        : tensor(
            'float32',
            Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)),
            dims,
          );
  }
  return inputs;
}

/** Resident set after a settled event loop (and a GC when the runtime exposes one). */
async function rss(): Promise<number> {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 20));
  return process.memoryUsage().rss;
}

describe('model session cache: a memory-bounded LRU with explicit release', () => {
  let system: ModelSystemOptions & ReturnType<typeof tempModelSystem>;
  const names = SYNTHETIC_KINDS.map((k) => `synthetic-${k}`);
  const cards = new Map(SYNTHETIC_KINDS.map((k) => [`synthetic-${k}`, buildSyntheticModel(k).card]));
  const fileBytes = (name: string): number =>
    (cards.get(name)?.files ?? []).reduce((sum, f) => sum + (f.bytes ?? 0), 0);
  const originalBound = modelSessions.stats().maxBytes;

  beforeAll(async () => {
    system = tempModelSystem(SYNTHETIC_KINDS);
    for (const kind of SYNTHETIC_KINDS) await installSynthetic(system.store, system.registry, kind);
  });

  afterAll(async () => {
    await clearModelSessions();
    await modelSessions.configure({ maxBytes: originalBound });
  });

  it('keeps the charged bytes under the bound, evicting the least recently used, and reopens on use', async () => {
    await clearModelSessions();
    // Room for the two largest models together, not for three.
    const sizes = names.map(fileBytes).sort((a, b) => b - a);
    const bound = (sizes[0] ?? 0) + (sizes[1] ?? 0);
    await modelSessions.configure({ maxBytes: bound });
    const before = modelSessions.stats();

    const first = await loadModel('synthetic-clip-vision', {}, system);
    const input = inputsFor(first.card);
    const reference = Array.from((await first.infer(input)).image_embeds?.data as Float32Array);

    for (let cycle = 0; cycle < 30; cycle++) {
      const name = names[cycle % names.length] ?? '';
      const cachedBefore = modelSessions.keys();
      const model = await loadModel(name, {}, system);
      await model.infer(inputsFor(model.card));
      expect(modelSessions.stats().bytes).toBeLessThanOrEqual(bound);
      // What a load evicted are the least recently used entries, and the model just used is the
      // most recently used one.
      const cachedAfter = modelSessions.keys();
      const evicted = cachedBefore.filter((key) => !cachedAfter.includes(key));
      expect(cachedBefore.slice(0, evicted.length)).toEqual(evicted);
      expect(cachedAfter.at(-1)).toBe(model.sessionKey);
    }
    const after = modelSessions.stats();
    // Five models in rotation through a cache that holds the two largest: sessions are evicted and
    // reopened all along, and every session opened is either still cached or was evicted.
    expect(after.evicted - before.evicted).toBeGreaterThanOrEqual(20);
    expect(after.opened - before.opened - (after.evicted - before.evicted)).toBe(after.sessions);

    // The first handle outlived its session's eviction: it reopens it and computes the same thing.
    expect(modelSessions.has(first.sessionKey)).toBe(false);
    const again = Array.from((await first.infer(input)).image_embeds?.data as Float32Array);
    expect(again).toEqual(reference);
    expect(modelSessions.has(first.sessionKey)).toBe(true);
  });

  it('release(key) disposes one session, releaseAll() every one; a released handle reopens on use', async () => {
    await modelSessions.configure({ maxBytes: 64 * MIB });
    const loaded: LoadedModel[] = [];
    for (const name of names) loaded.push(await loadModel(name, {}, system));
    expect(modelSessions.size).toBe(names.length);
    const depth = loaded[1] as LoadedModel;
    await modelSessions.release(depth.sessionKey);
    expect(modelSessions.has(depth.sessionKey)).toBe(false);
    expect(modelSessions.size).toBe(names.length - 1);
    await depth.infer(inputsFor(depth.card));
    expect(modelSessions.has(depth.sessionKey)).toBe(true);
    await modelSessions.releaseAll();
    expect(modelSessions.size).toBe(0);
    expect(modelSessions.stats().bytes).toBe(0);
  });

  it('load/unload cycles keep RSS bounded; the same sessions kept open grow it (control)', async () => {
    // The two synthetic models whose runs allocate most (MiB-sized activations).
    const heavy = ['synthetic-whisper-encoder', 'synthetic-clap-audio'];
    const pick = (i: number): string => heavy[i % heavy.length] ?? '';
    await modelSessions.configure({ maxBytes: 64 * MIB });
    const cycle = async (name: string, release: boolean): Promise<void> => {
      const model = await loadModel(name, {}, system);
      await model.infer(inputsFor(model.card));
      if (release) await modelSessions.release(model.sessionKey);
    };
    // Warm-up: allocator arenas and lazily loaded code settle.
    for (let i = 0; i < 6; i++) await cycle(pick(i), true);
    const start = await rss();
    for (let i = 0; i < 30; i++) await cycle(pick(i), true);
    const released = (await rss()) - start;

    // 30 more through an LRU that holds one of them: an eviction at every load instead of a release.
    await modelSessions.configure({ maxBytes: Math.max(...heavy.map(fileBytes)) });
    const lruStart = await rss();
    for (let i = 0; i < 30; i++) await cycle(pick(i), false);
    const evicted = (await rss()) - lruStart;
    expect(modelSessions.size).toBe(1);
    await clearModelSessions();

    // Control: 16 sessions of the same models opened by the runtime directly and never disposed.
    const runtime = inprocessRuntime();
    const kept: EngineSession[] = [];
    const controlStart = await rss();
    for (let i = 0; i < 16; i++) {
      const located = await system.store.resolve(system.registry.get(pick(i)));
      const session = await runtime.open(located, 'cpu', located.card.precision);
      await session.infer(inputsFor(located.card));
      kept.push(session);
    }
    const leaked = (await rss()) - controlStart;
    for (const session of kept) await session.dispose();

    console.log(
      `RSS growth: 30 released cycles ${(released / MIB).toFixed(1)} MiB, 30 LRU-evicted cycles ${(evicted / MIB).toFixed(1)} MiB, 16 sessions kept open (control) ${(leaked / MIB).toFixed(1)} MiB`,
    );
    // The control shows the measurement sees sessions that are not freed…
    expect(leaked).toBeGreaterThan(16 * MIB);
    // …and the cache keeps a worker far below it over twice as many loads.
    expect(released).toBeLessThan(leaked / 3);
    expect(evicted).toBeLessThan(leaked / 3);
  });
});
