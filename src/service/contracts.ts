// The service's contracts (R-SVC-1/2): what a client submits, what a job carries through the
// queue, what status it reads back, and the body of a webhook. zod schemas, so the API validates
// requests and answers with them and the OpenAPI document is generated from them.
import { z } from 'zod';
import { COMPONENT_STATUSES, ERROR_CODE_NAMES, idSchema, videoDocumentSchema } from '../contracts/index.js';

/** The life of a job: `queued` (waiting, or buffered for a cross-video batch), `running`, then final. */
export const JOB_STATES = ['queued', 'running', 'ok', 'error', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const FINAL_STATES: ReadonlySet<JobState> = new Set(['ok', 'error', 'cancelled']);

/** Lower runs first (BullMQ's convention); 1..1000. */
export const prioritySchema = z.number().int().min(1).max(1000);
/** @defaultValue 100 */
export const DEFAULT_PRIORITY = 100;

/**
 * `POST /api/runs` as JSON: exactly one of `video_path` (a file under an allowed root of the
 * server) or `video_url` (fetched by the server's SSRF-safe downloader). Uploads use multipart with
 * the same fields and a `video` file part.
 */
export const submitRunSchema = z
  .object({
    video_path: z.string().min(1).max(4096).optional(),
    video_url: z.url().max(4096).optional(),
    /** Must equal the API key's platform when given (a key is scoped to one tenant). */
    platform_id: idSchema.optional(),
    video_id: idSchema.optional(),
    run_id: idSchema.optional(),
    profile: z.string().min(1).max(64).optional(),
    priority: prioritySchema.optional(),
    callback_url: z.url().max(2048).optional(),
    /**
     * The run's text inputs (title, description, comments…); passed to the run, never logged,
     * never echoed by the API (R-PRV, R-SEC-5).
     */
    document: videoDocumentSchema.optional(),
  })
  .strict();
export type SubmitRun = z.infer<typeof submitRunSchema>;

/** Progress of one stage, derived from the run's events. */
export const stageProgressSchema = z.object({
  status: z.enum(['waiting', 'running', ...COMPONENT_STATUSES]),
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  duration_ms: z.number().nonnegative().nullable(),
  cache_hit: z.boolean(),
  error_code: z.enum(ERROR_CODE_NAMES).nullable(),
});
export type StageProgress = z.infer<typeof stageProgressSchema>;
export const runProgressSchema = z.record(z.string(), stageProgressSchema);
export type RunProgress = z.infer<typeof runProgressSchema>;

/**
 * What a job carries through the queue: everything a stateless worker needs to run it, as plain
 * JSON. `plan` is the executor's compiled run (opaque to the queue).
 */
export const jobPayloadSchema = z.object({
  plan: z.unknown(),
  callback_url: z.string().nullable(),
  /** The upload or download the server made for this job; removed when the job ends. */
  staged_input: z.string().nullable(),
});
export type JobPayload = z.infer<typeof jobPayloadSchema>;

/** A job as the queue records it; the API's status is a view of it. */
export interface JobRecord {
  /** Derived from platform_id and run_id (`jobIdOf`), so a run id is unique per tenant. */
  id: string;
  platformId: string;
  runId: string;
  videoId: string | null;
  profile: string;
  priority: number;
  state: JobState;
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  progress: RunProgress;
  errorCode: (typeof ERROR_CODE_NAMES)[number] | null;
  errorMessage: string | null;
  cancelRequested: boolean;
  payload: JobPayload;
}

/** `GET /api/runs/{run_id}`. */
export const runStatusSchema = z.object({
  run_id: idSchema,
  platform_id: idSchema,
  video_id: idSchema.nullable(),
  profile: z.string(),
  state: z.enum(JOB_STATES),
  priority: z.number().int(),
  attempts: z.number().int().nonnegative(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  components: runProgressSchema,
  error_code: z.enum(ERROR_CODE_NAMES).nullable(),
  error: z.string().nullable(),
});
export type RunStatus = z.infer<typeof runStatusSchema>;

export function toRunStatus(job: JobRecord): RunStatus {
  return {
    run_id: job.runId,
    platform_id: job.platformId,
    video_id: job.videoId,
    profile: job.profile,
    state: job.state,
    priority: job.priority,
    attempts: job.attempts,
    created_at: job.createdAt,
    started_at: job.startedAt,
    finished_at: job.finishedAt,
    components: job.progress,
    error_code: job.errorCode,
    error: job.errorMessage,
  };
}

/**
 * `GET /api/queue`: how busy the service is, across all tenants (numbers only; no ids, no
 * hosts). `workers` are the live job-worker processes (by heartbeat), `slots` their jobs at once.
 */
export const queueSummarySchema = z.object({
  queued: z.number().int().nonnegative(),
  running: z.number().int().nonnegative(),
  workers: z.number().int().nonnegative(),
  slots: z.number().int().nonnegative(),
});
export type QueueSummary = z.infer<typeof queueSummarySchema>;

/** Webhook event types: one per state change of a run (R-SVC-3). */
export const WEBHOOK_EVENTS = ['run.running', 'run.ok', 'run.error', 'run.cancelled'] as const;

/**
 * A webhook body. Ids, states and codes only: never messages, paths or document text (R-SEC-5).
 * `id` is the event id receivers de-duplicate on (a retried delivery keeps it).
 */
export const webhookBodySchema = z.object({
  id: z.string(),
  type: z.enum(WEBHOOK_EVENTS),
  created_at: z.string(),
  data: z.object({
    run_id: idSchema,
    platform_id: idSchema,
    video_id: idSchema.nullable(),
    state: z.enum(JOB_STATES),
    error_code: z.enum(ERROR_CODE_NAMES).nullable(),
  }),
});
export type WebhookBody = z.infer<typeof webhookBodySchema>;

/** `{ error_code, message }`: every API error (never echoing request bodies). */
export const apiErrorSchema = z.object({
  error_code: z.string(),
  message: z.string(),
  retryable: z.boolean(),
});
