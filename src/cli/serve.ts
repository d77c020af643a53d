import type { Command } from 'commander';
import { DataProcessorError } from '../contracts/index.js';
import type { RunningService, ServiceOptions } from '../service/index.js';
import { loadOrchestrator, loadService } from './lazy.js';
import { reportError } from './output.js';

export interface ServiceCliOptions {
  db?: string;
  out: string;
  host: string;
  port?: string;
  metricsPort?: string;
  redis?: string;
  concurrency: string;
  allowRoot: string[];
  staging?: string;
  bufferWindowMs: string;
  maxVideosPerBatch: string;
  batchGatherMs: string;
  triton?: string;
  shutdownDeadlineSec: string;
  outboundAllow: string[];
  logLevel: string;
  leaseSec: string;
  redisPrefix?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** The options `serve` and `worker` share. */
export function serviceOptions(command: Command): Command {
  return command
    .option(
      '--db <path>',
      'service database: profiles, API keys, embedded queue (default: $DATAPROCESSOR_DB or ~/.local/share/dataprocessor)',
    )
    .option(
      '--out <dir|s3-uri>',
      'result store: a directory, or s3://bucket/prefix?endpoint=…',
      'result_store',
    )
    .option('--host <address>', 'address to bind', '127.0.0.1')
    .option('--metrics-port <port>', 'serve /metrics (no key) on this port instead of the API port')
    .option('--redis <url>', 'BullMQ on this Redis instead of the embedded queue (scale-out)')
    .option('--concurrency <n>', 'jobs run at once by this process (serve: 0 = API only)', '1')
    .option('--triton <url>', 'Triton server whose readiness /health checks')
    .option(
      '--shutdown-deadline-sec <s>',
      'on SIGTERM, running jobs get this long before they are handed back',
      '30',
    )
    .option(
      '--outbound-allow <cidr>',
      'let webhooks and video_url reach this private address/CIDR (repeatable)',
      collect,
      [],
    )
    .option('--log-level <level>', 'pino log level', 'info')
    .option(
      '--lease-sec <s>',
      "a dead worker's job is recovered once its lease (renewed while alive) lapses",
      '30',
    )
    .option('--redis-prefix <prefix>', 'key prefix and queue name stem on Redis (one per deployment)')
    .option(
      '--max-videos-per-batch <n>',
      'cross-video batching: hard cap on videos sharing one model batch, among the jobs run at once (1: off)',
      '4',
    )
    .option(
      '--batch-gather-ms <ms>',
      "cross-video batching: how long a model call waits for other videos' calls",
      '25',
    );
}

export async function compileServiceOptions(options: ServiceCliOptions): Promise<ServiceOptions> {
  const [{ defaultDatabasePath }, { createLogger }] = await Promise.all([loadOrchestrator(), loadService()]);
  const secrets = [
    process.env.DATAPROCESSOR_WEBHOOK_SECRET,
    process.env.DATAPROCESSOR_WEBHOOK_SECRET_PREVIOUS,
  ].filter((s): s is string => typeof s === 'string' && s.length > 0);
  const number = (name: string, value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0)
      throw new DataProcessorError('INPUT_INVALID', `${name} must be a non-negative number, not "${value}".`);
    return n;
  };
  return {
    databasePath: options.db ?? defaultDatabasePath(),
    storeRoot: options.out,
    host: options.host,
    ...(options.port !== undefined ? { port: number('--port', options.port) } : {}),
    ...(options.metricsPort !== undefined
      ? { metricsPort: number('--metrics-port', options.metricsPort) }
      : {}),
    ...(options.redis !== undefined ? { redisUrl: options.redis } : {}),
    concurrency: number('--concurrency', options.concurrency),
    allowedRoots: options.allowRoot ?? [],
    ...(options.staging !== undefined ? { stagingDir: options.staging } : {}),
    bufferWindowMs: number('--buffer-window-ms', options.bufferWindowMs ?? '10000'),
    maxVideosPerBatch: Math.max(
      1,
      Math.floor(number('--max-videos-per-batch', options.maxVideosPerBatch ?? '4')),
    ),
    batchGatherMs: number('--batch-gather-ms', options.batchGatherMs ?? '25'),
    ...(options.triton !== undefined ? { tritonUrl: options.triton } : {}),
    shutdownDeadlineMs: number('--shutdown-deadline-sec', options.shutdownDeadlineSec) * 1000,
    webhookSecrets: secrets,
    outboundAllow: options.outboundAllow ?? [],
    leaseMs: number('--lease-sec', options.leaseSec ?? '30') * 1000,
    ...(options.redisPrefix !== undefined ? { redisPrefix: options.redisPrefix } : {}),
    logger: createLogger({ level: options.logLevel }),
  };
}

/** Runs until SIGTERM/SIGINT, then stops gracefully (R-SVC-1). */
export async function runUntilSignalled(start: () => Promise<RunningService>): Promise<void> {
  const service = await start();
  await new Promise<void>((done) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void service.close().finally(done);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/** `dataprocessor serve`: the HTTP API with an embedded worker (R-SVC-1/2). */
export function registerServeCommand(program: Command): void {
  serviceOptions(program.command('serve'))
    .description('Serve the HTTP API (and run jobs in this process unless --concurrency 0).')
    .option('--port <port>', 'API port (0: any free port)', '8080')
    .option(
      '--allow-root <dir>',
      'video_path submissions must lie under this directory (repeatable)',
      collect,
      [],
    )
    .option(
      '--staging <dir>',
      'where uploads and downloads wait for their run (shared storage when workers are on other hosts)',
    )
    .option(
      '--buffer-window-ms <ms>',
      'cross-video batch buffer window: a job waits this long (shown queued) for others to batch with (R-BAT-4)',
      '10000',
    )
    .option('--gc-interval-hours <h>', 'run retention GC (R-PRV-3) this often; 0: never', '6')
    .action(async (options: ServiceCliOptions & { gcIntervalHours: string }) => {
      try {
        const gcHours = Number(options.gcIntervalHours);
        if (!Number.isFinite(gcHours) || gcHours < 0)
          throw new DataProcessorError(
            'INPUT_INVALID',
            `--gc-interval-hours must be a non-negative number, not "${options.gcIntervalHours}".`,
          );
        const { startService } = await loadService();
        const compiled = { ...(await compileServiceOptions(options)), gcIntervalMs: gcHours * 3_600_000 };
        await runUntilSignalled(() => startService(compiled));
      } catch (error) {
        process.exitCode = reportError(error, false);
      }
    });
}
