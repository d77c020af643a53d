// The scale-out queue (R-SVC-1, `--redis URL`): BullMQ on Redis dispatches jobs (priorities,
// delays for the batch buffer window, locks renewed by live workers, stalled-job recovery when a
// worker dies); the job records the API reads live in Redis next to it (`<prefix>:job:<id>`, a
// per-tenant sorted set for listing, a set per state for `queue_length`). Webhook deliveries are a
// second BullMQ queue whose retry schedule lives in Redis, so it survives restarts too.
import { hostname } from 'node:os';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { DataProcessorError } from '../../contracts/index.js';
import { DEFAULT_PRIORITY, JOB_STATES, type JobRecord, type JobState } from '../contracts.js';
import {
  backoffMs,
  jobIdOf,
  type Delivery,
  type DeliveryHandler,
  type DeliveryOptions,
  type JobHandler,
  type JobOutcome,
  type JobQueue,
  type ListFilter,
  type NewJob,
  type ProcessOptions,
  type WorkerHandle,
  type WorkerInfo,
  workerBeatMs,
} from './port.js';

export interface BullQueueOptions {
  /** Key prefix and queue name stem; one per deployment (tests: one per test). @defaultValue 'dataprocessor' */
  prefix?: string;
  /** A job whose worker died is recovered this many times, then fails. @defaultValue 5 */
  maxStalledCount?: number;
}

export class BullJobQueue implements JobQueue {
  readonly kind = 'redis' as const;
  readonly #url: string;
  readonly #prefix: string;
  readonly #maxStalled: number;
  /** Records and API reads: waits for Redis while it is down (offline queue). */
  readonly #redis: Redis;
  /** Readiness: fails at once while Redis is down. */
  readonly #probe: Redis;
  readonly #jobs: Queue;
  readonly #deliveries: Queue;
  readonly #connections: Redis[] = [];

  private constructor(url: string, options: BullQueueOptions) {
    this.#url = url;
    this.#prefix = options.prefix ?? 'dataprocessor';
    this.#maxStalled = options.maxStalledCount ?? 5;
    this.#redis = new Redis(url, { maxRetriesPerRequest: null });
    this.#probe = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: false });
    this.#probe.on('error', () => undefined);
    this.#redis.on('error', () => undefined);
    this.#jobs = new Queue(`${this.#prefix}-runs`, { connection: this.#connection(), prefix: this.#prefix });
    this.#deliveries = new Queue(`${this.#prefix}-webhooks`, {
      connection: this.#connection(),
      prefix: this.#prefix,
    });
    this.#jobs.on('error', () => undefined);
    this.#deliveries.on('error', () => undefined);
  }

  static connect(url: string, options: BullQueueOptions = {}): BullJobQueue {
    return new BullJobQueue(url, options);
  }

  /** BullMQ needs `maxRetriesPerRequest: null` on its blocking connections. */
  #connection(): Redis {
    const connection = new Redis(this.#url, { maxRetriesPerRequest: null });
    connection.on('error', () => undefined);
    this.#connections.push(connection);
    return connection;
  }

  #key(...parts: string[]): string {
    return [this.#prefix, ...parts].join(':');
  }

  async #read(id: string): Promise<JobRecord | null> {
    const text = await this.#redis.get(this.#key('job', id));
    return text ? (JSON.parse(text) as JobRecord) : null;
  }

  async #write(record: JobRecord, previous: JobState | null): Promise<void> {
    const multi = this.#redis.multi().set(this.#key('job', record.id), JSON.stringify(record));
    if (previous !== record.state) {
      if (previous) multi.srem(this.#key('state', previous), record.id);
      multi.sadd(this.#key('state', record.state), record.id);
    }
    await multi.exec();
  }

  async #update(id: string, change: (record: JobRecord) => JobRecord | null): Promise<JobRecord | null> {
    const record = await this.#read(id);
    if (!record) return null;
    const next = change(record);
    if (!next) return record;
    await this.#write(next, record.state);
    return next;
  }

  async add(job: NewJob): Promise<JobRecord> {
    const id = jobIdOf(job.platformId, job.runId);
    const now = new Date();
    const record: JobRecord = {
      id,
      platformId: job.platformId,
      runId: job.runId,
      videoId: job.videoId,
      profile: job.profile,
      priority: job.priority ?? DEFAULT_PRIORITY,
      state: 'queued',
      attempts: 0,
      createdAt: now.toISOString(),
      startedAt: null,
      finishedAt: null,
      progress: {},
      errorCode: null,
      errorMessage: null,
      cancelRequested: false,
      payload: job.payload,
    };
    const created = await this.#redis.set(this.#key('job', id), JSON.stringify(record), 'NX');
    if (created !== 'OK')
      throw new DataProcessorError(
        'INPUT_INVALID',
        `run ${job.runId} already exists; choose another run_id.`,
      );
    await this.#redis
      .multi()
      .sadd(this.#key('state', 'queued'), id)
      .zadd(this.#key('tenant', job.platformId), now.getTime(), id)
      .exec();
    await this.#jobs.add(
      'run',
      { id },
      {
        jobId: id,
        priority: record.priority,
        delay: Math.max(0, (job.notBeforeMs ?? 0) - now.getTime()),
        removeOnComplete: true,
        removeOnFail: true,
      },
    );
    return record;
  }

  get(id: string): Promise<JobRecord | null> {
    return this.#read(id);
  }

  async list(filter: ListFilter): Promise<{ jobs: JobRecord[]; next: string | null }> {
    const limit = filter.limit ?? 50;
    let offset = filter.cursor ? Number(Buffer.from(filter.cursor, 'base64url').toString('utf8')) || 0 : 0;
    const jobs: JobRecord[] = [];
    const tenant = this.#key('tenant', filter.platformId);
    for (;;) {
      const ids = await this.#redis.zrevrange(tenant, offset, offset + 99);
      if (ids.length === 0) return { jobs, next: null };
      for (const id of ids) {
        offset += 1;
        const record = await this.#read(id);
        if (!record || (filter.state && record.state !== filter.state)) continue;
        if (jobs.length === limit)
          return { jobs, next: Buffer.from(String(offset - 1)).toString('base64url') };
        jobs.push(record);
      }
    }
  }

  async cancel(id: string): Promise<JobRecord | null> {
    await this.#redis.set(this.#key('cancel', id), '1', 'EX', 7 * 86_400);
    const bull = await this.#jobs.getJob(id);
    const state = bull ? await bull.getState() : null;
    if (bull && state !== 'active') await bull.remove().catch(() => undefined);
    return this.#update(id, (record) =>
      record.state === 'queued'
        ? { ...record, state: 'cancelled', cancelRequested: true, finishedAt: new Date().toISOString() }
        : record.state === 'running'
          ? { ...record, cancelRequested: true }
          : null,
    );
  }

  async counts(): Promise<Record<JobState, number>> {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const state of JOB_STATES) counts[state] = await this.#redis.scard(this.#key('state', state));
    return counts;
  }

  async workers(): Promise<WorkerInfo[]> {
    const now = Date.now();
    const key = this.#key('workers');
    await this.#redis.zremrangebyscore(key, '-inf', now);
    const ids = await this.#redis.zrange(key, 0, -1);
    if (ids.length === 0) return [];
    const infos = await this.#redis.hmget(this.#key('workers', 'info'), ...ids);
    return ids.map((id, i) => {
      const info = JSON.parse(infos[i] ?? '{}') as { concurrency?: number; seenMs?: number };
      return { id, concurrency: info.concurrency ?? 1, seenMs: info.seenMs ?? 0 };
    });
  }

  /** A job worker's heartbeat: live until its lease passes (a sorted set scored by that time). */
  async #announce(workerId: string, concurrency: number, leaseMs: number, gone = false): Promise<void> {
    if (gone) {
      await this.#redis
        .multi()
        .zrem(this.#key('workers'), workerId)
        .hdel(this.#key('workers', 'info'), workerId)
        .exec();
      return;
    }
    const now = Date.now();
    await this.#redis
      .multi()
      .zadd(this.#key('workers'), now + leaseMs, workerId)
      .hset(this.#key('workers', 'info'), workerId, JSON.stringify({ concurrency, seenMs: now }))
      .exec();
  }

  async ping(): Promise<void> {
    await this.#probe.ping();
  }

  process(handler: JobHandler, options: ProcessOptions = {}): WorkerHandle {
    const leaseMs = options.leaseMs ?? 30_000;
    const workerId = options.workerId ?? `${hostname()}:${process.pid}`;
    const running = new Map<string, AbortController>();
    let handingBack = false;
    const worker = new Worker(
      `${this.#prefix}-runs`,
      async (bull: Job<{ id: string }>, token?: string) => {
        const id = bull.data.id;
        const before = await this.#read(id);
        if (!before || before.state === 'cancelled' || before.state === 'ok' || before.state === 'error')
          return;
        const record = (await this.#update(id, (r) => ({
          ...r,
          state: 'running',
          attempts: r.attempts + 1,
          startedAt: r.startedAt ?? new Date().toISOString(),
        }))) as JobRecord;
        const controller = new AbortController();
        running.set(id, controller);
        await this.#promoteCohort((options.concurrency ?? 1) - running.size);
        let cancelled = false;
        const beat = setInterval(
          () => {
            void this.#redis
              .exists(this.#key('cancel', id))
              .then((n) => {
                if (n === 1 && !cancelled) {
                  cancelled = true;
                  controller.abort(new Error('job cancelled'));
                }
              })
              .catch(() => undefined);
          },
          Math.max(100, Math.floor(leaseMs / 3)),
        );
        let outcome: JobOutcome;
        try {
          outcome = await handler(record, {
            signal: controller.signal,
            reportProgress: async (progress, videoId) => {
              await this.#update(id, (r) => ({ ...r, progress, videoId: videoId ?? r.videoId }));
            },
          });
        } catch (error) {
          outcome = {
            state: 'error',
            videoId: null,
            errorCode: 'INTERNAL',
            errorMessage: error instanceof Error ? error.message : String(error),
          };
        } finally {
          clearInterval(beat);
          running.delete(id);
        }
        if (handingBack && !cancelled) {
          // Graceful shutdown past its deadline: the job goes back to the queue at once.
          await this.#update(id, (r) => ({ ...r, state: 'queued' }));
          await bull.moveToDelayed(Date.now() + 1, token);
          throw new DelayedError();
        }
        if (cancelled && outcome.state !== 'ok')
          outcome = { state: 'cancelled', videoId: outcome.videoId, errorCode: null, errorMessage: null };
        const final = await this.#update(id, (r) => ({
          ...r,
          state: outcome.state,
          finishedAt: new Date().toISOString(),
          errorCode: outcome.errorCode,
          errorMessage: outcome.errorMessage,
          videoId: outcome.videoId ?? r.videoId,
        }));
        if (final && options.onFinished) await options.onFinished(final);
      },
      {
        connection: this.#connection(),
        prefix: this.#prefix,
        concurrency: options.concurrency ?? 1,
        lockDuration: leaseMs,
        stalledInterval: Math.max(1000, Math.floor(leaseMs / 2)),
        maxStalledCount: this.#maxStalled,
        name: workerId,
      },
    );
    worker.on('error', (error) => options.onError?.(error));
    const concurrency = options.concurrency ?? 1;
    // While Redis is down a heartbeat fails; the next one after it is back counts again.
    const announce = (gone = false): Promise<void> =>
      this.#announce(workerId, concurrency, leaseMs, gone).catch(() => undefined);
    void announce();
    const beat = setInterval(() => void announce(), workerBeatMs(leaseMs));
    return {
      close: async (deadlineMs = 30_000) => {
        clearInterval(beat);
        await announce(true);
        await worker.pause(true).catch(() => undefined);
        const waited = worker.close();
        let timer: NodeJS.Timeout | undefined;
        const done = await Promise.race([
          waited.then(() => true),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), deadlineMs))),
        ]);
        clearTimeout(timer);
        if (done) return;
        handingBack = true;
        for (const controller of running.values()) controller.abort(new Error('shutdown'));
        await waited;
      },
    };
  }

  /**
   * R-BAT-4: a worker that starts a job fills its free slots with jobs still in their buffer
   * window (BullMQ delayed jobs), so jobs buffered together run together and share batches.
   */
  async #promoteCohort(freeSlots: number): Promise<void> {
    if (freeSlots < 1) return;
    const buffered = await this.#jobs.getDelayed(0, freeSlots - 1).catch(() => []);
    for (const job of buffered) await job.promote().catch(() => undefined); // already taken: fine
  }

  async enqueueDelivery(delivery: Omit<Delivery, 'attempts'>): Promise<void> {
    await this.#deliveries.add('deliver', delivery, {
      jobId: delivery.id,
      attempts: 1000,
      backoff: { type: 'webhook' },
      removeOnComplete: true,
      removeOnFail: true,
    });
  }

  processDeliveries(handler: DeliveryHandler, options: DeliveryOptions & ProcessOptions = {}): WorkerHandle {
    const maxAttempts = options.maxAttempts ?? 8;
    const baseDelayMs = options.baseDelayMs ?? 1000;
    const maxDelayMs = options.maxDelayMs ?? 300_000;
    const worker = new Worker(
      `${this.#prefix}-webhooks`,
      async (job: Job<Omit<Delivery, 'attempts'>>) => {
        const delivery: Delivery = { ...job.data, attempts: job.attemptsMade + 1 };
        const result = await handler(delivery).catch(() => 'retry' as const);
        if (result === 'delivered') {
          options.onOutcome?.('delivered', delivery);
          return;
        }
        if (result === 'rejected' || delivery.attempts >= maxAttempts) {
          const final = result === 'rejected' ? 'rejected' : 'failed';
          options.onOutcome?.(final, delivery);
          throw new UnrecoverableError(`webhook ${final}`);
        }
        throw new Error('webhook delivery will be retried');
      },
      {
        connection: this.#connection(),
        prefix: this.#prefix,
        concurrency: options.concurrency ?? 2,
        settings: {
          backoffStrategy: (attemptsMade: number) => backoffMs(attemptsMade, baseDelayMs, maxDelayMs),
        },
      },
    );
    worker.on('error', (error) => options.onError?.(error));
    return { close: async () => worker.close() };
  }

  async close(): Promise<void> {
    await this.#jobs.close();
    await this.#deliveries.close();
    for (const connection of this.#connections) connection.disconnect();
    this.#redis.disconnect();
    this.#probe.disconnect();
  }
}
