// The embedded durable queue (R-SVC-1, the default): jobs and webhook deliveries are rows of the
// service's SQLite database (the profile database's file, its own tables). Several processes on
// one host may share it (WAL, busy timeout): `serve` and any number of `worker`s. A running job
// holds a lease its worker renews; a job whose lease expired (its worker died) goes back to
// `queued` and is resumed by the next worker — at-least-once, and the artifact layer's idempotency
// keeps that free of duplicates.
import { ensureDirectorySync } from '../../storage/index.js';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { DataProcessorError, StorageError, type ErrorCode } from '../../contracts/index.js';
import { DEFAULT_PRIORITY, JOB_STATES, type JobRecord, type JobState } from '../contracts.js';
import {
  backoffMs,
  jobIdOf,
  type Delivery,
  type DeliveryHandler,
  type DeliveryOptions,
  type JobHandler,
  type JobQueue,
  type ListFilter,
  type NewJob,
  type ProcessOptions,
  type WorkerHandle,
  type WorkerInfo,
  workerBeatMs,
} from './port.js';
import { runWorkerLoop } from './worker-loop.js';

/** Standard SQL apart from the types SQLite is lax about; the service's own tables. */
export const SERVICE_QUEUE_SQL = `
CREATE TABLE IF NOT EXISTS service_jobs (
  id TEXT PRIMARY KEY,
  platform_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  video_id TEXT,
  profile TEXT NOT NULL,
  priority INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'ok', 'error', 'cancelled')),
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  progress TEXT NOT NULL DEFAULT '{}',
  error_code TEXT,
  error_message TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  payload TEXT NOT NULL,
  not_before_ms INTEGER NOT NULL,
  worker_id TEXT,
  lease_until_ms INTEGER,
  UNIQUE (platform_id, run_id)
);
CREATE INDEX IF NOT EXISTS service_jobs_next ON service_jobs (state, priority, created_ms);
CREATE INDEX IF NOT EXISTS service_jobs_tenant ON service_jobs (platform_id, created_ms);
CREATE TABLE IF NOT EXISTS service_webhook_deliveries (
  id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL,
  url TEXT NOT NULL,
  body TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'rejected')),
  next_attempt_ms INTEGER NOT NULL,
  leased_until_ms INTEGER
);
CREATE TABLE IF NOT EXISTS service_workers (
  id TEXT PRIMARY KEY,
  concurrency INTEGER NOT NULL,
  seen_ms INTEGER NOT NULL,
  live_until_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS service_webhook_due ON service_webhook_deliveries (state, next_attempt_ms);
`;

interface JobRow {
  id: string;
  platform_id: string;
  run_id: string;
  video_id: string | null;
  profile: string;
  priority: number;
  state: JobState;
  attempts: number;
  created_at: string;
  created_ms: number;
  started_at: string | null;
  finished_at: string | null;
  progress: string;
  error_code: string | null;
  error_message: string | null;
  cancel_requested: number;
  payload: string;
}

function toRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    platformId: row.platform_id,
    runId: row.run_id,
    videoId: row.video_id,
    profile: row.profile,
    priority: row.priority,
    state: row.state,
    attempts: row.attempts,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    progress: JSON.parse(row.progress) as JobRecord['progress'],
    errorCode: row.error_code as ErrorCode | null,
    errorMessage: row.error_message,
    cancelRequested: row.cancel_requested === 1,
    payload: JSON.parse(row.payload) as JobRecord['payload'],
  };
}

export interface SqliteQueueOptions {
  /**
   * A running job whose worker died is retried this many times in all, then recorded as `error`
   * (INTERNAL) so a job that kills its worker cannot loop forever. @defaultValue 5
   */
  maxAttempts?: number;
}

export class SqliteJobQueue implements JobQueue {
  readonly kind = 'sqlite' as const;
  readonly #db: Database.Database;
  readonly #maxAttempts: number;

  private constructor(db: Database.Database, options: SqliteQueueOptions) {
    this.#db = db;
    this.#maxAttempts = options.maxAttempts ?? 5;
  }

  /** Opens (creating if needed) the queue tables in the database at `path`. */
  static open(path: string, options: SqliteQueueOptions = {}): SqliteJobQueue {
    try {
      if (path !== ':memory:') ensureDirectorySync(dirname(path));
      const db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 5000');
      db.exec(SERVICE_QUEUE_SQL);
      return new SqliteJobQueue(db, options);
    } catch (error) {
      throw new StorageError(`cannot open the service database ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  add(job: NewJob): Promise<JobRecord> {
    const id = jobIdOf(job.platformId, job.runId);
    const now = new Date();
    try {
      this.#db
        .prepare(
          `INSERT INTO service_jobs (id, platform_id, run_id, video_id, profile, priority, state, created_at,
             created_ms, payload, not_before_ms)
           VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)`,
        )
        .run(
          id,
          job.platformId,
          job.runId,
          job.videoId,
          job.profile,
          job.priority ?? DEFAULT_PRIORITY,
          now.toISOString(),
          now.getTime(),
          JSON.stringify(job.payload),
          job.notBeforeMs ?? now.getTime(),
        );
    } catch (error) {
      if ((error as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) {
        throw new DataProcessorError(
          'INPUT_INVALID',
          `run ${job.runId} already exists; choose another run_id.`,
        );
      }
      throw error;
    }
    return Promise.resolve(this.#get(id) as JobRecord);
  }

  #get(id: string): JobRecord | null {
    const row = this.#db.prepare('SELECT * FROM service_jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row ? toRecord(row) : null;
  }

  get(id: string): Promise<JobRecord | null> {
    return Promise.resolve(this.#get(id));
  }

  list(filter: ListFilter): Promise<{ jobs: JobRecord[]; next: string | null }> {
    const limit = filter.limit ?? 50;
    const where = ['platform_id = @platform'];
    const params: Record<string, unknown> = { platform: filter.platformId, limit: limit + 1 };
    if (filter.state) {
      where.push('state = @state');
      params.state = filter.state;
    }
    if (filter.cursor) {
      const [ms, id] = Buffer.from(filter.cursor, 'base64url').toString('utf8').split('/');
      where.push('(created_ms < @ms OR (created_ms = @ms AND id < @cid))');
      params.ms = Number(ms);
      params.cid = id ?? '';
    }
    const rows = this.#db
      .prepare(
        `SELECT * FROM service_jobs WHERE ${where.join(' AND ')} ORDER BY created_ms DESC, id DESC LIMIT @limit`,
      )
      .all(params) as JobRow[];
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const next =
      rows.length > limit && last ? Buffer.from(`${last.created_ms}/${last.id}`).toString('base64url') : null;
    return Promise.resolve({ jobs: page.map(toRecord), next });
  }

  cancel(id: string): Promise<JobRecord | null> {
    this.#db
      .prepare(
        `UPDATE service_jobs SET state = 'cancelled', finished_at = ?, cancel_requested = 1
         WHERE id = ? AND state = 'queued'`,
      )
      .run(new Date().toISOString(), id);
    this.#db
      .prepare(`UPDATE service_jobs SET cancel_requested = 1 WHERE id = ? AND state = 'running'`)
      .run(id);
    return this.get(id);
  }

  counts(): Promise<Record<JobState, number>> {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    const rows = this.#db.prepare('SELECT state, COUNT(*) AS n FROM service_jobs GROUP BY state').all() as {
      state: JobState;
      n: number;
    }[];
    for (const row of rows) counts[row.state] = row.n;
    return Promise.resolve(counts);
  }

  workers(): Promise<WorkerInfo[]> {
    const rows = this.#db
      .prepare('SELECT id, concurrency, seen_ms FROM service_workers WHERE live_until_ms > ? ORDER BY id')
      .all(Date.now()) as { id: string; concurrency: number; seen_ms: number }[];
    return Promise.resolve(rows.map((r) => ({ id: r.id, concurrency: r.concurrency, seenMs: r.seen_ms })));
  }

  /** A job worker's heartbeat (and, with `gone`, its goodbye). */
  #announce(workerId: string, concurrency: number, leaseMs: number, gone = false): void {
    if (gone) {
      this.#db.prepare('DELETE FROM service_workers WHERE id = ?').run(workerId);
      return;
    }
    const now = Date.now();
    this.#db
      .prepare(
        `INSERT INTO service_workers (id, concurrency, seen_ms, live_until_ms) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET concurrency = excluded.concurrency, seen_ms = excluded.seen_ms,
           live_until_ms = excluded.live_until_ms`,
      )
      .run(workerId, concurrency, now, now + leaseMs);
  }

  ping(): Promise<void> {
    this.#db.prepare('SELECT 1').get();
    return Promise.resolve();
  }

  /**
   * Takes the next job for `workerId`: first recovers jobs whose lease expired (their worker died),
   * then the queued job with the lowest priority number, oldest first, whose buffer window is over.
   * With `joinCohort` (this worker just took a job and has a free slot) a job still in its buffer
   * window may be taken too: jobs buffered together run together and share batches (R-BAT-4).
   */
  claim(workerId: string, leaseMs: number, joinCohort = false): JobRecord | null {
    const take = this.#db.transaction((): JobRecord | null => {
      const now = Date.now();
      this.#db
        .prepare(
          `UPDATE service_jobs SET state = 'error', finished_at = @at, error_code = 'INTERNAL',
             error_message = 'the job''s worker was lost ' || attempts || ' times', worker_id = NULL, lease_until_ms = NULL
           WHERE state = 'running' AND lease_until_ms < @now AND attempts >= @max`,
        )
        .run({ now, at: new Date(now).toISOString(), max: this.#maxAttempts });
      this.#db
        .prepare(
          `UPDATE service_jobs SET state = 'queued', worker_id = NULL, lease_until_ms = NULL
           WHERE state = 'running' AND lease_until_ms < ?`,
        )
        .run(now);
      const row = this.#db
        .prepare(
          `UPDATE service_jobs SET state = 'running', worker_id = @worker, lease_until_ms = @lease,
             attempts = attempts + 1, started_at = COALESCE(started_at, @at)
           WHERE id = (SELECT id FROM service_jobs WHERE state = 'queued' AND cancel_requested = 0
                       AND (not_before_ms <= @now OR @cohort = 1) ORDER BY priority, created_ms, id LIMIT 1)
           RETURNING *`,
        )
        .get({
          worker: workerId,
          lease: now + leaseMs,
          at: new Date(now).toISOString(),
          now,
          cohort: joinCohort ? 1 : 0,
        }) as JobRow | undefined;
      return row ? toRecord(row) : null;
    });
    return take.immediate();
  }

  /** Renews a lease; false when this worker no longer holds the job (lease lost). */
  renew(id: string, workerId: string, leaseMs: number): { held: boolean; cancelRequested: boolean } {
    const row = this.#db
      .prepare(
        `UPDATE service_jobs SET lease_until_ms = ? WHERE id = ? AND worker_id = ? AND state = 'running'
         RETURNING cancel_requested`,
      )
      .get(Date.now() + leaseMs, id, workerId) as { cancel_requested: number } | undefined;
    return { held: row !== undefined, cancelRequested: row?.cancel_requested === 1 };
  }

  process(handler: JobHandler, options: ProcessOptions = {}): WorkerHandle {
    const workerId = options.workerId ?? `${hostname()}:${process.pid}`;
    const leaseMs = options.leaseMs ?? 30_000;
    const concurrency = options.concurrency ?? 1;
    const announce = (gone = false): void => {
      try {
        this.#announce(workerId, concurrency, leaseMs, gone);
      } catch (error) {
        options.onError?.(error);
      }
    };
    announce();
    const beat = setInterval(() => announce(), workerBeatMs(leaseMs));
    const loop = runWorkerLoop({
      concurrency,
      pollMs: options.pollMs ?? 250,
      heartbeatMs: Math.max(50, Math.floor(leaseMs / 3)),
      claim: (joinCohort) => this.claim(workerId, leaseMs, joinCohort),
      heartbeat: (job) => this.renew(job.id, workerId, leaseMs),
      handler,
      reportProgress: (job, progress, videoId) => {
        this.#db
          .prepare(
            `UPDATE service_jobs SET progress = ?, video_id = COALESCE(?, video_id) WHERE id = ? AND worker_id = ?`,
          )
          .run(JSON.stringify(progress), videoId, job.id, workerId);
      },
      finish: (job, outcome) => {
        this.#db
          .prepare(
            `UPDATE service_jobs SET state = ?, finished_at = ?, error_code = ?, error_message = ?,
               video_id = COALESCE(?, video_id), worker_id = NULL, lease_until_ms = NULL
             WHERE id = ? AND worker_id = ? AND state = 'running'`,
          )
          .run(
            outcome.state,
            new Date().toISOString(),
            outcome.errorCode,
            outcome.errorMessage,
            outcome.videoId,
            job.id,
            workerId,
          );
      },
      afterFinish: async (job) => {
        const record = this.#get(job.id);
        if (record && options.onFinished) await options.onFinished(record);
      },
      ...(options.onError ? { onError: options.onError } : {}),
      handBack: (job) => {
        this.#db
          .prepare(
            `UPDATE service_jobs SET state = 'queued', worker_id = NULL, lease_until_ms = NULL
             WHERE id = ? AND worker_id = ? AND state = 'running'`,
          )
          .run(job.id, workerId);
      },
    });
    return {
      close: async (deadlineMs) => {
        clearInterval(beat);
        await loop.close(deadlineMs);
        announce(true);
      },
    };
  }

  enqueueDelivery(delivery: Omit<Delivery, 'attempts'>): Promise<void> {
    this.#db
      .prepare(
        `INSERT OR IGNORE INTO service_webhook_deliveries (id, job_id, url, body, state, next_attempt_ms)
         VALUES (?, ?, ?, ?, 'pending', ?)`,
      )
      .run(delivery.id, delivery.jobId, delivery.url, delivery.body, Date.now());
    return Promise.resolve();
  }

  /** Deliveries per state (tests and health). */
  deliveryStates(): Record<string, number> {
    const rows = this.#db
      .prepare('SELECT state, COUNT(*) AS n FROM service_webhook_deliveries GROUP BY state')
      .all() as { state: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }

  processDeliveries(handler: DeliveryHandler, options: DeliveryOptions & ProcessOptions = {}): WorkerHandle {
    const maxAttempts = options.maxAttempts ?? 8;
    const baseDelayMs = options.baseDelayMs ?? 1000;
    const maxDelayMs = options.maxDelayMs ?? 300_000;
    const leaseMs = options.leaseMs ?? 60_000;
    const claim = (): Delivery | null => {
      const now = Date.now();
      const row = this.#db
        .prepare(
          `UPDATE service_webhook_deliveries SET attempts = attempts + 1, leased_until_ms = @lease
           WHERE id = (SELECT id FROM service_webhook_deliveries WHERE state = 'pending' AND next_attempt_ms <= @now
                       AND (leased_until_ms IS NULL OR leased_until_ms < @now) ORDER BY next_attempt_ms LIMIT 1)
           RETURNING id, job_id, url, body, attempts`,
        )
        .get({ now, lease: now + leaseMs }) as
        { id: string; job_id: string; url: string; body: string; attempts: number } | undefined;
      return row
        ? { id: row.id, jobId: row.job_id, url: row.url, body: row.body, attempts: row.attempts }
        : null;
    };
    const settle = (delivery: Delivery, result: 'delivered' | 'retry' | 'rejected'): void => {
      const update = this.#db.prepare(
        'UPDATE service_webhook_deliveries SET state = ?, next_attempt_ms = ?, leased_until_ms = NULL WHERE id = ?',
      );
      if (result === 'retry' && delivery.attempts < maxAttempts) {
        update.run(
          'pending',
          Date.now() + backoffMs(delivery.attempts, baseDelayMs, maxDelayMs),
          delivery.id,
        );
        return;
      }
      const final = result === 'retry' ? 'failed' : result;
      update.run(final, Date.now(), delivery.id);
      options.onOutcome?.(final, delivery);
    };
    return runWorkerLoop<Delivery>({
      concurrency: options.concurrency ?? 2,
      pollMs: options.pollMs ?? 250,
      heartbeatMs: 0,
      claim,
      heartbeat: () => ({ held: true, cancelRequested: false }),
      handler: async (delivery) => {
        const result = await handler(delivery).catch(() => 'retry' as const);
        settle(delivery, result);
        return null;
      },
      reportProgress: () => undefined,
      finish: () => undefined,
      afterFinish: () => undefined,
      handBack: () => undefined,
    });
  }

  close(): Promise<void> {
    this.#db.close();
    return Promise.resolve();
  }
}
