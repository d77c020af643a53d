// The queue port (R-SVC-1): one interface, two implementations — the embedded durable queue in the
// service's SQLite database (default; nothing else to run) and BullMQ on Redis (scale-out). The
// API adds, reads, lists and cancels jobs; workers process them; webhook deliveries are queued
// through the same port so their retries survive a restart.
import { createHash } from 'node:crypto';
import type { ErrorCode } from '../../contracts/index.js';
import type { JobPayload, JobRecord, JobState, RunProgress } from '../contracts.js';

/** The queue's id of a run: stable, unique per (platform_id, run_id), safe as a Redis/BullMQ id. */
export function jobIdOf(platformId: string, runId: string): string {
  return `r${createHash('sha256').update(`${platformId}/${runId}`).digest('hex').slice(0, 32)}`;
}

export interface NewJob {
  platformId: string;
  runId: string;
  videoId: string | null;
  profile: string;
  priority: number;
  payload: JobPayload;
  /**
   * Not before this time (ms since epoch): the cross-video batch buffer window (R-BAT-4); the job
   * shows `queued` meanwhile. @defaultValue now
   */
  notBeforeMs?: number;
}

export interface ListFilter {
  platformId: string;
  state?: JobState;
  /** @defaultValue 50 */
  limit?: number;
  /** Opaque cursor from a previous page's `next`. */
  cursor?: string;
}

/** How a job ended, as the handler reports it. */
export interface JobOutcome {
  state: 'ok' | 'error' | 'cancelled';
  videoId: string | null;
  errorCode: ErrorCode | null;
  errorMessage: string | null;
}

/** What a worker's handler may do while it runs a job. */
export interface JobContext {
  /** Aborted on cancellation (DELETE) and when a graceful shutdown's deadline passes. */
  signal: AbortSignal;
  /** Publishes progress (and the video id once known) to the job's record. */
  reportProgress(progress: RunProgress, videoId: string | null): Promise<void>;
}

export type JobHandler = (job: JobRecord, context: JobContext) => Promise<JobOutcome>;

export interface ProcessOptions {
  /** Jobs run at the same time by this worker. @defaultValue 1 */
  concurrency?: number;
  /** Names this worker in records and logs. @defaultValue host:pid */
  workerId?: string;
  /**
   * A running job's lease: renewed while the worker lives; when a worker dies the job is
   * recovered once it expires (stalled-job recovery). @defaultValue 30000
   */
  leaseMs?: number;
  /** How often an idle worker looks for work (embedded queue). @defaultValue 250 */
  pollMs?: number;
  /** Called once a job's final state is recorded (webhooks, metrics, clean-up). */
  onFinished?: (job: JobRecord) => Promise<void>;
  /** Errors of the loop itself (never a job's own failure). */
  onError?: (error: unknown) => void;
}

export interface WorkerHandle {
  /**
   * Graceful stop: take no new job; wait for the running ones up to `deadlineMs`, then abort them
   * and hand them back to the queue (another worker, or this one after a restart, resumes them).
   */
  close(deadlineMs?: number): Promise<void>;
}

/** A webhook delivery waiting in the queue (R-SVC-3). */
export interface Delivery {
  id: string;
  jobId: string;
  url: string;
  /** The exact bytes to sign and send. */
  body: string;
  attempts: number;
}

/** Result of one attempt: `retry` reschedules with backoff until the attempts are used up. */
export type DeliveryResult = 'delivered' | 'retry' | 'rejected';
export type DeliveryHandler = (delivery: Delivery) => Promise<DeliveryResult>;

export interface DeliveryOptions {
  /** @defaultValue 8 */
  maxAttempts?: number;
  /** First retry delay; doubles each attempt, with ±50 % jitter. @defaultValue 1000 */
  baseDelayMs?: number;
  /** @defaultValue 300000 */
  maxDelayMs?: number;
  /** Final outcome of each delivery (metrics). */
  onOutcome?: (outcome: 'delivered' | 'failed' | 'rejected', delivery: Delivery) => void;
}

/** A live worker process, as its heartbeats report it (R-SVC-5: the dashboard's worker count). */
export interface WorkerInfo {
  /** The worker's id (host:pid by default); operators' data, never shown to tenants. */
  id: string;
  /** Jobs it runs at once. */
  concurrency: number;
  /** Its last heartbeat (ms since epoch). */
  seenMs: number;
}

/**
 * How often a job worker announces itself; it counts as live until its lease (`leaseMs`) passes
 * without one, so a killed worker drops out of `workers()` as its jobs are recovered.
 */
export function workerBeatMs(leaseMs: number): number {
  return Math.max(50, Math.floor(leaseMs / 3));
}

export interface JobQueue {
  readonly kind: 'sqlite' | 'redis';
  /** Adds a job; INPUT_INVALID if this tenant already has a run with this id. */
  add(job: NewJob): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | null>;
  list(filter: ListFilter): Promise<{ jobs: JobRecord[]; next: string | null }>;
  /**
   * Cancels a job: a queued one is `cancelled` at once; a running one is asked to stop (its
   * worker aborts it and records `cancelled`). Final jobs are returned unchanged.
   */
  cancel(id: string): Promise<JobRecord | null>;
  /** Jobs per state across all tenants (for `queue_length`). */
  counts(): Promise<Record<JobState, number>>;
  /** Job workers (of `process`) alive on any host, by their heartbeats. */
  workers(): Promise<WorkerInfo[]>;
  /** Throws when the queue's storage cannot be reached (readiness). */
  ping(): Promise<void>;
  process(handler: JobHandler, options?: ProcessOptions): WorkerHandle;
  enqueueDelivery(delivery: Omit<Delivery, 'attempts'>): Promise<void>;
  processDeliveries(handler: DeliveryHandler, options?: DeliveryOptions & ProcessOptions): WorkerHandle;
  close(): Promise<void>;
}

/** Exponential backoff with ±50 % jitter (full-jitter style), capped. */
export function backoffMs(
  attempt: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random = Math.random,
): number {
  const exact = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exact * (0.5 + random()));
}
