// Composition of the service: `startService` (the `serve` command: API, and by default an
// in-process worker) and `startWorker` (the `worker` command: workers only). Options are compiled
// once with their defaults; everything talks through the ports (queue, executor, store).
import { dirname, join, resolve } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ProfileStore } from '../orchestrator/index.js';
import { registerVideoDeletion, startRetentionJob } from './retention.js';
import { createResultStore, isS3Uri } from '../storage/index.js';
import { registerDashboard } from '../web/index.js';
import { buildApi } from './api.js';
import { ApiKeyStore } from './auth.js';
import type { RunExecutor } from './executor.js';
import { modelStoreCheck, queueCheck, storageCheck, tritonCheck, type HealthCheck } from './health.js';
import { createLogger } from './logging.js';
import { ServiceMetrics } from './metrics.js';
import { BatchCoalescer } from '../models/index.js';
import { orchestratorExecutor } from './orchestrator-executor.js';
import { RedisClaims } from './redis-claims.js';
import type { JobQueue, WorkerHandle } from './queue/port.js';
import { SqliteJobQueue } from './queue/sqlite.js';
import { onJobFinished, runJobHandler } from './run-worker.js';
import { webhookSender } from './webhooks/sender.js';
import { SsrfGuard, type SsrfGuardOptions } from './webhooks/ssrf.js';

export interface ServiceOptions {
  /** The service's SQLite database (profiles, API keys, embedded queue). */
  databasePath: string;
  /** Result store root. */
  storeRoot: string;
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @defaultValue 8080 */
  port?: number;
  /** Serve `/metrics` (open) on this port instead of the API port (bind it to an internal interface). */
  metricsPort?: number;
  /** BullMQ on Redis instead of the embedded queue (scale-out). */
  redisUrl?: string;
  /** Queue name prefix on Redis (tests use one per test). @defaultValue 'dataprocessor' */
  redisPrefix?: string;
  /** Jobs run in this process at once; 0 = API only. @defaultValue 1 */
  concurrency?: number;
  /** Directories `video_path` may point into. @defaultValue [] */
  allowedRoots?: readonly string[];
  /** Uploads and downloads until their run ends. @defaultValue `<database dir>/staging` */
  stagingDir?: string;
  /** Webhook secrets, current first (the previous one during a rotation). No secret: callbacks refused. */
  webhookSecrets?: readonly string[];
  /** Addresses/CIDRs outbound requests may reach although private (tests, internal receivers). */
  outboundAllow?: readonly string[];
  /** Name resolution of the SSRF guard (tests). */
  resolveHost?: SsrfGuardOptions['resolve'];
  /**
   * Cross-video batch buffer window (R-BAT-4): a submitted job waits this long (shown `queued`)
   * so that a worker can take it together with the jobs submitted meanwhile. @defaultValue 10000
   */
  bufferWindowMs?: number;
  /**
   * Hard cap on distinct videos in one cross-video model batch (R-BAT-4); 1 turns cross-video
   * batching off. Batches form among the jobs this process runs at once (`concurrency`). @defaultValue 4
   */
  maxVideosPerBatch?: number;
  /** How long a model call waits for other videos' calls of its batch group. @defaultValue 25 */
  batchGatherMs?: number;
  /** Triton's base URL, checked by /health when given. */
  tritonUrl?: string;
  /** Running jobs get this long to finish on SIGTERM before they are handed back. @defaultValue 30000 */
  shutdownDeadlineMs?: number;
  /** @defaultValue 30000 */
  leaseMs?: number;
  /** Webhook retry schedule. */
  webhookBaseDelayMs?: number;
  webhookMaxAttempts?: number;
  logger?: Logger;
  /** The run core; default: the orchestrator over `storeRoot`. */
  executor?: RunExecutor;
  /** Size cap of uploads and downloads. */
  maxInputBytes?: number;
  /**
   * Retention GC (R-PRV-3) runs this often in `serve`; 0 disables it.
   * @defaultValue 6 hours
   */
  gcIntervalMs?: number;
}

export interface RunningService {
  url: string;
  metricsUrl: string | null;
  app: FastifyInstance | null;
  queue: JobQueue;
  metrics: ServiceMetrics;
  /** Graceful stop: no new requests or jobs, running jobs finish or are handed back by the deadline. */
  close(): Promise<void>;
}

export async function openQueue(options: ServiceOptions): Promise<JobQueue> {
  if (options.redisUrl) {
    const { BullJobQueue } = await import('./queue/bullmq.js');
    return BullJobQueue.connect(options.redisUrl, { prefix: options.redisPrefix ?? 'dataprocessor' });
  }
  return SqliteJobQueue.open(options.databasePath);
}

function outboundGuard(options: ServiceOptions): SsrfGuard {
  return new SsrfGuard({
    allow: options.outboundAllow ?? [],
    ...(options.resolveHost ? { resolve: options.resolveHost } : {}),
  });
}

/** Workers of one process: the run worker and the webhook delivery worker. */
function startWorkers(
  options: ServiceOptions,
  queue: JobQueue,
  metrics: ServiceMetrics,
  logger: Logger,
  executor: RunExecutor,
): WorkerHandle[] {
  const handles: WorkerHandle[] = [];
  const concurrency = options.concurrency ?? 1;
  const onError = (error: unknown): void =>
    logger.error({ event: 'worker_error', err_name: (error as Error).name }, (error as Error).message);
  if (concurrency > 0) {
    const deps = { queue, executor, logger, metrics };
    handles.push(
      queue.process(runJobHandler(deps), {
        concurrency,
        leaseMs: options.leaseMs ?? 30_000,
        onFinished: onJobFinished(deps),
        onError,
      }),
    );
  }
  const secrets = options.webhookSecrets ?? [];
  if (secrets.length > 0) {
    handles.push(
      queue.processDeliveries(
        webhookSender({
          guard: outboundGuard(options),
          secrets,
          onAttempt: (_delivery, result) =>
            metrics.webhookDeliveriesTotal.inc({
              outcome: result === 'delivered' ? 'attempt_ok' : `attempt_${result}`,
            }),
        }),
        {
          ...(options.webhookBaseDelayMs !== undefined ? { baseDelayMs: options.webhookBaseDelayMs } : {}),
          ...(options.webhookMaxAttempts !== undefined ? { maxAttempts: options.webhookMaxAttempts } : {}),
          onOutcome: (outcome) => metrics.webhookDeliveriesTotal.inc({ outcome }),
          onError,
        },
      ),
    );
  }
  return handles;
}

/** The run core over the store; with Redis, stage claims go through Redis (several hosts). */
function defaultExecutor(
  options: ServiceOptions,
  metrics: ServiceMetrics,
): { executor: RunExecutor; close: () => void } {
  if (options.executor) return { executor: options.executor, close: () => undefined };
  const claims = options.redisUrl
    ? new RedisClaims(options.redisUrl, { prefix: options.redisPrefix ?? 'dataprocessor' })
    : undefined;
  // R-BAT-4: the jobs this process runs at once share model batches (nothing to share with one).
  const maxVideos = options.maxVideosPerBatch ?? 4;
  const coalescer =
    maxVideos > 1 && (options.concurrency ?? 1) > 1
      ? new BatchCoalescer({
          maxVideos,
          ...(options.batchGatherMs !== undefined ? { gatherMs: options.batchGatherMs } : {}),
          onBatch: (batch) => metrics.observeCrossVideoBatch(batch),
        })
      : undefined;
  const executor = orchestratorExecutor({
    storeRoot: options.storeRoot,
    databasePath: options.databasePath,
    ...(claims ? { claims } : {}),
    ...(coalescer ? { coalescer } : {}),
  });
  return { executor, close: () => claims?.close() };
}

function healthChecks(options: ServiceOptions, queue: JobQueue): HealthCheck[] {
  const checks = [
    { ...queueCheck(queue), name: options.redisUrl ? 'redis' : 'queue' },
    // An S3 store is checked by its first request; the disk check is for a local store.
    ...(isS3Uri(options.storeRoot) ? [] : [storageCheck(resolve(options.storeRoot))]),
    modelStoreCheck(),
  ];
  if (options.tritonUrl) checks.push(tritonCheck(options.tritonUrl));
  return checks;
}

/** `dataprocessor serve`: the API, `/metrics`, and (unless concurrency is 0) a worker. */
export async function startService(options: ServiceOptions): Promise<RunningService> {
  const logger = options.logger ?? createLogger();
  const queue = await openQueue(options);
  const metrics = new ServiceMetrics({ queue });
  const keys = ApiKeyStore.open(options.databasePath);
  const { executor, close: closeExecutor } = defaultExecutor(options, metrics);
  const metricsOnApiPort = options.metricsPort === undefined;
  const resultStore = createResultStore(options.storeRoot);
  const app = await buildApi({
    queue,
    executor,
    keys,
    store: resultStore,
    logger,
    guard: outboundGuard(options),
    health: healthChecks(options, queue),
    metrics,
    metricsOnApiPort,
    allowedRoots: options.allowedRoots ?? [],
    stagingDir: options.stagingDir ?? join(dirname(resolve(options.databasePath)), 'staging'),
    webhooksEnabled: (options.webhookSecrets ?? []).length > 0,
    bufferWindowMs: options.bufferWindowMs ?? 10_000,
    ...(options.maxInputBytes !== undefined ? { maxInputBytes: options.maxInputBytes } : {}),
    profiles: () => {
      const store = ProfileStore.open(options.databasePath);
      try {
        return store.names().map((n) => store.resolve(n));
      } finally {
        store.close();
      }
    },
  });
  await registerDashboard(app); // the static dashboard at / (R-SVC-5)
  registerVideoDeletion(app, resultStore); // DELETE /api/videos/:platform_id/:video_id (R-PRV-3)
  const retention = startRetentionJob(resultStore, {
    intervalMs: options.gcIntervalMs ?? 6 * 3_600_000,
    logger,
  });
  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8080 });
  let metricsServer: Server | null = null;
  let metricsUrl: string | null = null;
  if (options.metricsPort !== undefined) {
    metricsServer = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      metrics
        .text()
        .then((text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text))
        .catch(() => res.writeHead(500).end());
    });
    await new Promise<void>((done) =>
      metricsServer?.listen(options.metricsPort, options.host ?? '127.0.0.1', done),
    );
    const bound = metricsServer.address();
    metricsUrl =
      typeof bound === 'object' && bound ? `http://${options.host ?? '127.0.0.1'}:${bound.port}` : null;
  }
  const workers = startWorkers(options, queue, metrics, logger, executor);
  logger.info(
    {
      event: 'service_started',
      url: address,
      metrics_url: metricsUrl,
      queue: queue.kind,
      workers: options.concurrency ?? 1,
    },
    'service started',
  );
  return {
    url: address,
    metricsUrl,
    app,
    queue,
    metrics,
    async close() {
      await retention.stop();
      await app.close();
      metricsServer?.close();
      await Promise.all(workers.map((w) => w.close(options.shutdownDeadlineMs ?? 30_000)));
      await queue.close();
      closeExecutor();
      keys.close();
      logger.info({ event: 'service_stopped' }, 'service stopped');
      logger.flush();
    },
  };
}

/** `dataprocessor worker`: workers only (scale-out), no API. */
export async function startWorker(options: ServiceOptions): Promise<RunningService> {
  const logger = options.logger ?? createLogger();
  const queue = await openQueue(options);
  const metrics = new ServiceMetrics({ queue });
  const { executor, close: closeExecutor } = defaultExecutor(options, metrics);
  let metricsServer: Server | null = null;
  let metricsUrl: string | null = null;
  if (options.metricsPort !== undefined) {
    metricsServer = createServer((_req, res) => {
      metrics
        .text()
        .then((text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text))
        .catch(() => res.writeHead(500).end());
    });
    await new Promise<void>((done) =>
      metricsServer?.listen(options.metricsPort, options.host ?? '127.0.0.1', done),
    );
    const bound = metricsServer.address();
    metricsUrl =
      typeof bound === 'object' && bound ? `http://${options.host ?? '127.0.0.1'}:${bound.port}` : null;
  }
  const workers = startWorkers(
    { ...options, concurrency: options.concurrency ?? 1 },
    queue,
    metrics,
    logger,
    executor,
  );
  logger.info(
    { event: 'worker_started', queue: queue.kind, concurrency: options.concurrency ?? 1 },
    'worker started',
  );
  return {
    url: '',
    metricsUrl,
    app: null,
    queue,
    metrics,
    async close() {
      metricsServer?.close();
      await Promise.all(workers.map((w) => w.close(options.shutdownDeadlineMs ?? 30_000)));
      await queue.close();
      closeExecutor();
      logger.info({ event: 'worker_stopped' }, 'worker stopped');
      logger.flush();
    },
  };
}
