// What a worker does with one job: run its compiled plan through the executor, publish
// per-stage progress to the job's record, feed metrics and structured logs (ids and codes only,
// never messages that could carry text), and queue the webhooks of its state changes.
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { RunEvent } from '../orchestrator/index.js';
import type { JobRecord, RunProgress } from './contracts.js';
import type { CompiledRun, RunExecutor } from './executor.js';
import type { ServiceMetrics } from './metrics.js';
import type { JobHandler, JobOutcome, JobQueue } from './queue/port.js';
import { enqueueStateWebhook } from './webhooks/sender.js';

export interface RunWorkerOptions {
  queue: JobQueue;
  executor: RunExecutor;
  logger: Logger;
  metrics?: ServiceMetrics;
  /** Least time between two progress writes of one job. @defaultValue 500 */
  progressIntervalMs?: number;
}

/** Applies one run event to the per-stage progress view. */
export function applyRunEvent(progress: RunProgress, event: RunEvent): void {
  const blank = {
    status: 'waiting' as const,
    done: 0,
    total: 0,
    duration_ms: null,
    cache_hit: false,
    error_code: null,
  };
  switch (event.type) {
    case 'run_started':
      for (const stage of event.stages) progress[stage] ??= { ...blank };
      break;
    case 'stage_started':
      progress[event.stage] = { ...(progress[event.stage] ?? blank), status: 'running' };
      break;
    case 'stage_progress':
      progress[event.stage] = {
        ...(progress[event.stage] ?? blank),
        status: 'running',
        done: event.done,
        total: event.total,
      };
      break;
    case 'stage_finished':
      progress[event.stage] = {
        ...(progress[event.stage] ?? blank),
        status: event.status,
        duration_ms: event.duration_ms,
        cache_hit: event.cache_hit ?? false,
        error_code: event.error_code,
      };
      break;
    case 'run_finished':
      break;
  }
}

export function runJobHandler(options: RunWorkerOptions): JobHandler {
  const interval = options.progressIntervalMs ?? 500;
  return async (job, context) => {
    const log = options.logger.child({ job_id: job.id, run_id: job.runId, platform_id: job.platformId });
    log.info({ attempt: job.attempts, event: 'run_started' }, 'run started');
    // The first attempt announces `running`; a resumed attempt (after a dead worker) already did.
    if (job.attempts === 1) await enqueueStateWebhook(options.queue, job, 'running');
    const progress: RunProgress = { ...job.progress };
    let videoId = job.videoId;
    let lastWrite = 0;
    let writing: Promise<void> = Promise.resolve();
    const publish = (force: boolean): void => {
      const now = performance.now();
      if (!force && now - lastWrite < interval) return;
      lastWrite = now;
      const snapshot = structuredClone(progress);
      writing = writing
        .then(() => context.reportProgress(snapshot, videoId))
        .catch((error: unknown) => {
          log.warn(
            { event: 'progress_write_failed', err_name: (error as Error).name },
            'progress not recorded',
          );
        });
    };
    const result = await options.executor.execute(job.payload.plan as CompiledRun, {
      signal: context.signal,
      onEvent: (event) => {
        if (event.type === 'run_started') videoId = event.video_id;
        applyRunEvent(progress, event);
        options.metrics?.observeRunEvent(event);
        if (event.type === 'stage_finished') {
          log.info(
            {
              event: 'stage_finished',
              stage: event.stage,
              status: event.status,
              duration_ms: Math.round(event.duration_ms),
              cache_hit: event.cache_hit ?? false,
              error_code: event.error_code,
            },
            'stage finished',
          );
        }
        publish(event.type !== 'stage_progress');
      },
    });
    publish(true);
    await writing;
    options.metrics?.observeStages(result.stages);
    const outcome: JobOutcome = {
      state: result.status,
      videoId: result.videoId,
      errorCode: result.errorCode,
      errorMessage: result.errorMessage,
    };
    log.info({ event: 'run_finished', status: result.status, error_code: result.errorCode }, 'run finished');
    return outcome;
  };
}

/** After a job's final state is recorded: metrics, its webhook, and its staged input removed. */
export function onJobFinished(options: RunWorkerOptions): (job: JobRecord) => Promise<void> {
  return async (job) => {
    options.metrics?.runsTotal.inc({ status: job.state });
    // Stage failures were counted as they happened; count a run's error only when no stage had it.
    const code = job.errorCode ?? 'INTERNAL';
    if (job.state === 'error' && !Object.values(job.progress).some((s) => s.error_code === code))
      options.metrics?.errorsTotal.inc({ error_code: code });
    if (job.state === 'ok' || job.state === 'error' || job.state === 'cancelled')
      await enqueueStateWebhook(options.queue, job, job.state);
    if (job.payload.staged_input) await rm(job.payload.staged_input, { force: true });
  };
}
