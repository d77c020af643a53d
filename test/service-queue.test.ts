// The buffer window and worker heartbeats on both queues (R-BAT-4, R-SVC-5): jobs submitted
// within the window wait (queued) until the first one's window ends, then one worker takes them
// together (the later ones join early); a worker is listed by `workers()` while it runs and not
// after it closed. Embedded SQLite and BullMQ on a real redis-server on loopback.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openQueue, type JobQueue } from '../src/service/index.js';
import { makeTempDir } from './support/media.js';
import { startRedis, type RedisServer } from './support/service.js';

const dir = makeTempDir('service-queue');
let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis(dir);
});
afterAll(async () => {
  await redis?.stop();
});

const WINDOW_MS = 1500;

async function cohort(queue: JobQueue): Promise<void> {
  const starts = new Map<string, number>();
  const submitted = Date.now();
  for (let i = 0; i < 3; i++) {
    await queue.add({
      platformId: 'acme',
      runId: `cohort-${i}`,
      videoId: null,
      profile: 'p',
      priority: 100,
      payload: { plan: null, callback_url: null, staged_input: null },
      notBeforeMs: Date.now() + WINDOW_MS,
    });
    await new Promise((r) => setTimeout(r, 200)); // later jobs arrive while the first waits
  }
  let finished = 0;
  const worker = queue.process(
    async (job) => {
      starts.set(job.runId, Date.now());
      await new Promise((r) => setTimeout(r, 300));
      return { state: 'ok', videoId: null, errorCode: null, errorMessage: null };
    },
    {
      concurrency: 3,
      pollMs: 50,
      leaseMs: 3000,
      workerId: 'test-worker',
      onFinished: () => {
        finished++;
        return Promise.resolve();
      },
    },
  );
  expect((await queue.counts()).queued).toBe(3);
  await expect
    .poll(async () => (await queue.workers()).map((w) => [w.id, w.concurrency]))
    .toEqual([['test-worker', 3]]);
  await expect.poll(() => finished, { timeout: 20_000, interval: 50 }).toBe(3);
  const times = [...starts.values()];
  expect(Math.min(...times)).toBeGreaterThanOrEqual(submitted + WINDOW_MS - 50);
  // The second and third windows were not over yet: they joined the first.
  expect(Math.max(...times) - Math.min(...times)).toBeLessThan(300);
  await worker.close(5000);
  expect(await queue.workers()).toEqual([]);
}

describe('buffer window and workers', () => {
  it('embedded SQLite queue', async () => {
    const queue = await openQueue({ databasePath: join(dir, 'queue.sqlite'), storeRoot: dir });
    try {
      await cohort(queue);
    } finally {
      await queue.close();
    }
  }, 60_000);

  it('BullMQ on Redis', async () => {
    const queue = await openQueue({
      databasePath: join(dir, 'unused.sqlite'),
      storeRoot: dir,
      redisUrl: redis.url,
      redisPrefix: 'dpq',
    });
    try {
      await cohort(queue);
    } finally {
      await queue.close();
    }
  }, 60_000);
});
