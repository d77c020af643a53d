// The LRU's policy, with engine sessions that only record their disposal (the policy does not
// depend on what a session runs; test/model-sessions.test.ts runs it on real ONNX Runtime sessions).
import { describe, expect, it } from 'vitest';
import { SessionCache, defaultSessionCacheBytes } from './session-cache.js';
import type { EngineSession } from './runtimes/types.js';

function recorder(): { disposed: string[]; open: (key: string) => () => Promise<EngineSession> } {
  const disposed: string[] = [];
  return {
    disposed,
    open: (key) => () =>
      Promise.resolve({
        infer: () => Promise.resolve({}),
        dispose: () => {
          disposed.push(key);
          return Promise.resolve();
        },
      }),
  };
}

describe('SessionCache', () => {
  it('evicts the least recently used idle sessions until the charged bytes fit', async () => {
    const cache = new SessionCache({ maxBytes: 100 });
    const { disposed, open } = recorder();
    await cache.open('a', 40, open('a'));
    await cache.open('b', 40, open('b'));
    await cache.open('a', 40, open('a')); // a hit: a becomes the most recent
    await cache.open('c', 40, open('c'));
    expect(disposed).toEqual(['b']);
    expect(cache.keys()).toEqual(['a', 'c']);
    expect(cache.stats()).toMatchObject({ sessions: 2, bytes: 80, opened: 3, evicted: 1 });
  });

  it('never disposes a session under a call in flight: it is disposed when the call ends', async () => {
    const cache = new SessionCache({ maxBytes: 50 });
    const { disposed, open } = recorder();
    let finish = (): void => undefined;
    const inFlight = cache.use('a', 40, open('a'), () => new Promise<void>((resolve) => (finish = resolve)));
    await new Promise((r) => setTimeout(r, 0));
    await cache.open('b', 40, open('b')); // over the bound, but a is busy
    expect(disposed).toEqual([]);
    expect(cache.stats().bytes).toBe(80);
    finish();
    await inFlight;
    expect(disposed).toEqual(['a']);
    expect(cache.keys()).toEqual(['b']);
  });

  it('release(key) of a busy session takes it out now and disposes it after the call', async () => {
    const cache = new SessionCache({ maxBytes: 1000 });
    const { disposed, open } = recorder();
    let finish = (): void => undefined;
    const inFlight = cache.use('a', 1, open('a'), () => new Promise<void>((resolve) => (finish = resolve)));
    await new Promise((r) => setTimeout(r, 0));
    const released = cache.release('a');
    expect(cache.has('a')).toBe(false);
    await released;
    expect(disposed).toEqual([]);
    finish();
    await inFlight;
    expect(disposed).toEqual(['a']);
  });

  it('a failed open is not cached and costs no cached session; a model over the bound still opens alone', async () => {
    const cache = new SessionCache({ maxBytes: 100 });
    const { disposed, open } = recorder();
    await cache.open('a', 60, open('a'));
    await expect(cache.open('bad', 60, () => Promise.reject(new Error('corrupt')))).rejects.toThrow(
      'corrupt',
    );
    expect(cache.keys()).toEqual(['a']);
    expect(disposed).toEqual([]);
    await cache.open('huge', 500, open('huge'));
    expect(cache.keys()).toEqual(['huge']);
    expect(disposed).toEqual(['a']);
    await cache.releaseAll();
    expect(disposed).toEqual(['a', 'huge']);
    expect(cache.stats()).toMatchObject({ sessions: 0, bytes: 0, released: 1 });
  });

  it('configure lowers the bound and evicts at once; the default bound reads $DATAPROCESSOR_MODEL_CACHE_MIB', async () => {
    const cache = new SessionCache({ maxBytes: 100 });
    const { disposed, open } = recorder();
    await cache.open('a', 30, open('a'));
    await cache.open('b', 30, open('b'));
    await cache.configure({ maxBytes: 40 });
    expect(disposed).toEqual(['a']);
    expect(defaultSessionCacheBytes({ DATAPROCESSOR_MODEL_CACHE_MIB: '256' })).toBe(256 * 1024 * 1024);
    expect(defaultSessionCacheBytes({})).toBeGreaterThan(0);
    expect(defaultSessionCacheBytes({})).toBeLessThanOrEqual(4 * 1024 ** 3);
  });
});
