// The HTTP API (R-SVC-2, R-SEC-5) on Fastify. Requests and responses are validated with the zod
// contracts of ./contracts.ts, which also generate the OpenAPI document at /openapi.json. Every
// route but the two health endpoints needs an API key; a key sees only its tenant's runs (another
// tenant's run is 404, exactly like a run that does not exist). Submissions are compiled before
// they are queued, so bad input is answered at once and never reaches a worker.
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, realpath, rm } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { z } from 'zod';
import {
  DataProcessorError,
  dataprocessorVersion,
  defaultRunId,
  idSchema,
  toDataProcessorError,
  type ErrorCode,
} from '../contracts/index.js';
import type { Profile } from '../orchestrator/index.js';
import { readManifest, type ResultStore } from '../storage/index.js';
import { type ApiKeyInfo, type ApiKeyStore, type Role, roleAllows } from './auth.js';
import {
  DEFAULT_PRIORITY,
  FINAL_STATES,
  JOB_STATES,
  apiErrorSchema,
  queueSummarySchema,
  runStatusSchema,
  submitRunSchema,
  toRunStatus,
  type JobRecord,
  type SubmitRun,
} from './contracts.js';
import type { RunExecutor } from './executor.js';
import { runHealthChecks, type HealthCheck } from './health.js';
import type { ServiceMetrics } from './metrics.js';
import { jobIdOf, type JobQueue } from './queue/port.js';
import { downloadGuarded } from './webhooks/outbound.js';
import { enqueueStateWebhook } from './webhooks/sender.js';
import type { SsrfGuard } from './webhooks/ssrf.js';

export interface ApiOptions {
  queue: JobQueue;
  executor: RunExecutor;
  keys: ApiKeyStore;
  store: ResultStore;
  logger: Logger;
  guard: SsrfGuard;
  health: readonly HealthCheck[];
  metrics?: ServiceMetrics;
  /** Serve `/metrics` on the API port too (admin key needed); otherwise only on the metrics port. @defaultValue true */
  metricsOnApiPort?: boolean;
  /** `video_path` must lie under one of these directories (after resolving symlinks). @defaultValue [] */
  allowedRoots?: readonly string[];
  /** Where uploads and downloads are staged until their run ends. */
  stagingDir: string;
  /** Whether webhook secrets are configured; without them a `callback_url` is refused. */
  webhooksEnabled: boolean;
  /** Cap of an upload or a `video_url` download. @defaultValue 2 GiB */
  maxInputBytes?: number;
  /** Jobs wait this long before a worker may take them (cross-video batch buffer, R-BAT-4). @defaultValue 0 */
  bufferWindowMs?: number;
  /** Profiles offered by `GET /api/profiles`. */
  profiles: () => readonly Profile[];
  /** SSE poll interval. @defaultValue 500 */
  ssePollMs?: number;
}

/** HTTP status of each error code at the API. */
const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  INPUT_INVALID: 400,
  INPUT_UNREADABLE: 422,
  INPUT_TOO_SHORT: 422,
  INPUT_TOO_LONG: 422,
  TOOL_MISSING: 503,
  STORAGE_IO: 503,
  TIMEOUT: 504,
};

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
const notFound = (): HttpError => new HttpError(404, 'NOT_FOUND', 'no such run');

declare module 'fastify' {
  interface FastifyRequest {
    apiKey: ApiKeyInfo | null;
  }
  interface FastifyContextConfig {
    /** The least role a route needs; absent: open (health only). */
    role?: Role;
  }
}

const runParams = z.object({ run_id: idSchema });
const listQuery = z.object({
  state: z.enum(JOB_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});
const submitAnswer = z.object({
  run_id: idSchema,
  state: z.enum(JOB_STATES),
  links: z.record(z.string(), z.string()),
});
const artifactSchema = z.object({
  component: z.string(),
  path: z.string(),
  type: z.string(),
  sha256: z.string(),
  bytes: z.number().int(),
});

export async function buildApi(options: ApiOptions): Promise<FastifyInstance> {
  const { queue, executor, keys, store, guard } = options;
  const maxInputBytes = options.maxInputBytes ?? 2 * 1024 ** 3;
  // Typed as Fastify's logger so the instance has Fastify's default logger type.
  const logger: FastifyBaseLogger = options.logger;
  const app = Fastify({ loggerInstance: logger }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'DataProcessor service API',
        version: dataprocessorVersion().version,
        description: 'Submit videos, follow their runs, download their artifacts. See docs/SERVICE.md.',
      },
      components: {
        securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'dpk_… API key' } },
      },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(multipart, {
    limits: { fileSize: maxInputBytes, files: 1, fields: 20, fieldSize: 1024 * 1024 },
  });

  app.decorateRequest('apiKey', null);
  app.addHook('onRequest', (request, _reply, done) => {
    const role = request.routeOptions.config.role;
    if (role === undefined) return done();
    const header = request.headers.authorization;
    const presented = header?.startsWith('Bearer ') ? header.slice(7).trim() : request.headers['x-api-key'];
    const key = typeof presented === 'string' ? keys.verify(presented) : null;
    if (!key) return done(new HttpError(401, 'UNAUTHORIZED', 'a valid API key is required'));
    if (!roleAllows(key.role, role))
      return done(new HttpError(403, 'FORBIDDEN', `this needs a key with role ${role}`));
    request.apiKey = key;
    done();
  });

  app.setErrorHandler((error: unknown, request, reply) => {
    let status: number;
    let body: z.infer<typeof apiErrorSchema>;
    if (error instanceof HttpError) {
      status = error.statusCode;
      body = { error_code: error.code, message: error.message, retryable: false };
    } else if (hasZodFastifySchemaValidationErrors(error)) {
      status = 400;
      // Paths and rule messages only: request values are never echoed (R-SEC-5).
      const what = error.validation
        .map((v) => `${v.instancePath || '/'}: ${v.message ?? 'invalid'}`)
        .join('; ');
      body = { error_code: 'INPUT_INVALID', message: `Invalid request: ${what}`, retryable: false };
    } else if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') {
      status = 413;
      body = {
        error_code: 'INPUT_INVALID',
        message: `the upload is larger than ${maxInputBytes} bytes`,
        retryable: false,
      };
    } else if (error instanceof DataProcessorError) {
      status = HTTP_STATUS[error.code] ?? 500;
      body = { error_code: error.code, message: error.message, retryable: error.retryable };
    } else if (
      typeof (error as { statusCode?: number }).statusCode === 'number' &&
      (error as { statusCode: number }).statusCode < 500
    ) {
      status = (error as { statusCode: number }).statusCode;
      body = { error_code: 'INPUT_INVALID', message: 'the request is malformed', retryable: false };
    } else {
      const failure = toDataProcessorError(error);
      status = HTTP_STATUS[failure.code] ?? 500;
      body = {
        error_code: failure.code,
        message: status === 500 ? 'internal error' : failure.message,
        retryable: failure.retryable,
      };
    }
    request.log.warn({ event: 'request_failed', status, error_code: body.error_code }, 'request failed');
    void reply.status(status).send(body);
  });

  const jobFor = async (request: FastifyRequest, runId: string): Promise<JobRecord> => {
    const key = request.apiKey as ApiKeyInfo;
    const job = await queue.get(jobIdOf(key.platformId, runId));
    // Another tenant's run has another job id: it is simply not found (R-SEC-5).
    if (!job || job.platformId !== key.platformId) throw notFound();
    return job;
  };
  const runDirOf = (job: JobRecord): string => {
    if (!job.videoId) throw new HttpError(404, 'NOT_FOUND', 'the run has no results yet');
    return executor.runDirOf(job.platformId, job.videoId, job.runId);
  };

  // Health: open (R-SEC-5).
  app.get('/health/live', { schema: { hide: true } }, () => ({ status: 'ok' }));
  app.get('/health', { schema: { hide: true } }, async (_request, reply) => {
    const report = await runHealthChecks(options.health);
    return reply.status(report.status === 'ok' ? 200 : 503).send(report);
  });
  app.get('/openapi.json', { config: { role: 'read' }, schema: { hide: true } }, () => app.swagger());
  if (options.metrics && (options.metricsOnApiPort ?? true)) {
    const metrics = options.metrics;
    app.get('/metrics', { config: { role: 'admin' }, schema: { hide: true } }, async (_request, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.text()),
    );
  }

  app.post(
    '/api/runs',
    {
      config: { role: 'submit' },
      schema: {
        description:
          'Submit a run: JSON with video_path (under an allowed root) or video_url, or multipart/form-data with a `video` file part and the same fields.',
        body: submitRunSchema.nullish(),
        response: { 202: submitAnswer, '4xx': apiErrorSchema },
      },
    },
    async (request, reply) => {
      const key = request.apiKey as ApiKeyInfo;
      const staged: string[] = [];
      try {
        const { submission, uploaded } = request.isMultipart()
          ? await readMultipart(request, options.stagingDir, staged)
          : { submission: request.body ?? {}, uploaded: null };
        if (submission.platform_id !== undefined && submission.platform_id !== key.platformId)
          throw new DataProcessorError(
            'INPUT_INVALID',
            `this key submits for platform ${key.platformId} only`,
          );
        const runId = submission.run_id ?? defaultRunId();
        const jobId = jobIdOf(key.platformId, runId);
        if (await queue.get(jobId))
          throw new HttpError(409, 'INPUT_INVALID', `run ${runId} already exists; choose another run_id`);
        const sources = [submission.video_path, submission.video_url, uploaded].filter((s) => s != null);
        if (sources.length !== 1)
          throw new DataProcessorError(
            'INPUT_INVALID',
            'give exactly one of video_path, video_url or an uploaded video',
          );
        if (submission.callback_url) {
          if (!options.webhooksEnabled)
            throw new DataProcessorError(
              'INPUT_INVALID',
              'webhooks are not configured on this server (no secret)',
            );
          await guard.check(submission.callback_url);
        }
        let videoPath: string;
        if (uploaded) videoPath = uploaded;
        else if (submission.video_url) {
          await mkdir(options.stagingDir, { recursive: true });
          videoPath = join(options.stagingDir, `${randomUUID()}.download`);
          staged.push(videoPath);
          await downloadGuarded(guard, submission.video_url, videoPath, { maxBytes: maxInputBytes });
        } else
          videoPath = await insideAllowedRoot(submission.video_path as string, options.allowedRoots ?? []);
        const compiled = await executor.compile({
          videoPath,
          platformId: key.platformId,
          runId,
          profile: submission.profile ?? 'default',
          ...(submission.video_id !== undefined ? { videoId: submission.video_id } : {}),
          ...(submission.document !== undefined ? { document: submission.document } : {}),
        });
        const job = await queue.add({
          platformId: key.platformId,
          runId,
          videoId: compiled.videoId,
          profile: compiled.profile,
          priority: submission.priority ?? DEFAULT_PRIORITY,
          payload: {
            plan: compiled,
            callback_url: submission.callback_url ?? null,
            staged_input: staged[0] ?? null,
          },
          notBeforeMs: Date.now() + (options.bufferWindowMs ?? 0),
        });
        staged.length = 0;
        request.log.info(
          { event: 'run_submitted', run_id: runId, job_id: job.id, priority: job.priority },
          'run queued',
        );
        const base = `/api/runs/${encodeURIComponent(runId)}`;
        return reply.status(202).send({
          run_id: runId,
          state: job.state,
          links: {
            status: base,
            events: `${base}/events`,
            manifest: `${base}/manifest`,
            artifacts: `${base}/artifacts`,
          },
        });
      } finally {
        for (const path of staged) await rm(path, { force: true });
      }
    },
  );

  app.get(
    '/api/runs',
    {
      config: { role: 'read' },
      schema: {
        querystring: listQuery,
        response: { 200: z.object({ runs: z.array(runStatusSchema), next: z.string().nullable() }) },
      },
    },
    async (request) => {
      const key = request.apiKey as ApiKeyInfo;
      const page = await queue.list({
        platformId: key.platformId,
        limit: request.query.limit,
        ...(request.query.state ? { state: request.query.state } : {}),
        ...(request.query.cursor ? { cursor: request.query.cursor } : {}),
      });
      return { runs: page.jobs.map(toRunStatus), next: page.next };
    },
  );

  app.get(
    '/api/runs/:run_id',
    {
      config: { role: 'read' },
      schema: { params: runParams, response: { 200: runStatusSchema, '4xx': apiErrorSchema } },
    },
    async (request) => toRunStatus(await jobFor(request, request.params.run_id)),
  );
  // SPEC R-SVC-2 names the status route `/status`; both answer the same.
  app.get(
    '/api/runs/:run_id/status',
    {
      config: { role: 'read' },
      schema: { params: runParams, response: { 200: runStatusSchema, '4xx': apiErrorSchema } },
    },
    async (request) => toRunStatus(await jobFor(request, request.params.run_id)),
  );

  app.delete(
    '/api/runs/:run_id',
    {
      config: { role: 'submit' },
      schema: { params: runParams, response: { 200: runStatusSchema, '4xx': apiErrorSchema } },
    },
    async (request) => {
      const job = await jobFor(request, request.params.run_id);
      const after = (await queue.cancel(job.id)) ?? job;
      if (job.state === 'queued' && after.state === 'cancelled') {
        // A queued job never reaches a worker: its webhook and clean-up happen here.
        options.metrics?.runsTotal.inc({ status: 'cancelled' });
        await enqueueStateWebhook(queue, after, 'cancelled');
        if (after.payload.staged_input) await rm(after.payload.staged_input, { force: true });
      }
      request.log.info({ event: 'run_cancel', run_id: job.runId, state: after.state }, 'cancel requested');
      return toRunStatus(after);
    },
  );

  app.get(
    '/api/runs/:run_id/events',
    {
      config: { role: 'read' },
      schema: {
        params: runParams,
        description: 'Server-sent events: `status` with the run status on every change, until a final state.',
      },
    },
    async (request, reply) => {
      const job = await jobFor(request, request.params.run_id);
      streamStatus(reply, job.id, queue, options.ssePollMs ?? 500);
    },
  );

  app.get(
    '/api/runs/:run_id/manifest',
    { config: { role: 'read' }, schema: { params: runParams } },
    async (request) => {
      const job = await jobFor(request, request.params.run_id);
      const manifest = await readManifest(runDirOf(job));
      if (!manifest) throw new HttpError(404, 'NOT_FOUND', 'the run has no manifest yet');
      return manifest;
    },
  );

  app.get(
    '/api/runs/:run_id/artifacts',
    {
      config: { role: 'read' },
      schema: {
        params: runParams,
        response: { 200: z.object({ artifacts: z.array(artifactSchema) }), '4xx': apiErrorSchema },
      },
    },
    async (request) => {
      const job = await jobFor(request, request.params.run_id);
      const manifest = await readManifest(runDirOf(job));
      if (!manifest) throw new HttpError(404, 'NOT_FOUND', 'the run has no manifest yet');
      return {
        artifacts: manifest.components.flatMap((c) => c.artifacts.map((a) => ({ component: c.name, ...a }))),
      };
    },
  );

  app.get(
    '/api/runs/:run_id/artifacts/*',
    {
      config: { role: 'read' },
      schema: {
        params: runParams.extend({ '*': z.string().min(1).max(1024) }),
        description:
          'Streams one artifact listed in the manifest; `x-content-sha256` and `digest` carry its sha256.',
      },
    },
    async (request, reply) => {
      const job = await jobFor(request, request.params.run_id);
      const runDir = runDirOf(job);
      const manifest = await readManifest(runDir);
      const wanted = request.params['*'];
      // Only what the manifest lists can be downloaded (no path is built from the request alone).
      const artifact = manifest?.components.flatMap((c) => c.artifacts).find((a) => a.path === wanted);
      if (!artifact) throw new HttpError(404, 'NOT_FOUND', 'no such artifact');
      const file = await store.resolveInside(runDir, artifact.path);
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', artifact.bytes)
        .header('x-content-sha256', artifact.sha256)
        .header('digest', `sha-256=${Buffer.from(artifact.sha256, 'hex').toString('base64')}`)
        .header('etag', `"${artifact.sha256}"`)
        .send(createReadStream(file));
    },
  );

  app.get(
    '/api/queue',
    { config: { role: 'read' }, schema: { response: { 200: queueSummarySchema, '4xx': apiErrorSchema } } },
    async () => {
      const [counts, workers] = await Promise.all([options.queue.counts(), options.queue.workers()]);
      return {
        queued: counts.queued,
        running: counts.running,
        workers: workers.length,
        slots: workers.reduce((sum, w) => sum + w.concurrency, 0),
      };
    },
  );

  app.get(
    '/api/profiles',
    { config: { role: 'read' }, schema: { response: { 200: z.object({ profiles: z.array(z.unknown()) }) } } },
    () => ({ profiles: [...options.profiles()] }),
  );

  return app;
}

/** A `video_path` is accepted only when its real path lies under an allowed root. */
async function insideAllowedRoot(path: string, roots: readonly string[]): Promise<string> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw new DataProcessorError(
      'INPUT_INVALID',
      'video_path does not name a readable file under an allowed root',
    );
  }
  for (const root of roots) {
    const realRoot = await realpath(root).catch(() => null);
    if (
      realRoot &&
      (real === realRoot || real.startsWith(realRoot.endsWith(sep) ? realRoot : `${realRoot}${sep}`))
    )
      return real;
  }
  throw new DataProcessorError(
    'INPUT_INVALID',
    'video_path does not name a readable file under an allowed root',
  );
}

/** Reads a multipart submission: the fields, and the `video` part streamed to the staging dir. */
async function readMultipart(
  request: FastifyRequest,
  stagingDir: string,
  staged: string[],
): Promise<{ submission: SubmitRun; uploaded: string | null }> {
  const fields: Record<string, unknown> = {};
  let uploaded: string | null = null;
  await mkdir(stagingDir, { recursive: true });
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      if (part.fieldname !== 'video' || uploaded !== null) {
        part.file.resume();
        throw new DataProcessorError('INPUT_INVALID', 'only one file part, named "video", is accepted');
      }
      uploaded = join(stagingDir, `${randomUUID()}.upload`);
      staged.push(uploaded);
      await pipeline(part.file, createWriteStream(uploaded));
    } else if (typeof part.value === 'string') {
      fields[part.fieldname] = part.value;
    }
  }
  if (typeof fields.priority === 'string') fields.priority = Number(fields.priority);
  if (typeof fields.document === 'string') {
    try {
      fields.document = JSON.parse(fields.document) as unknown;
    } catch {
      throw new DataProcessorError('INPUT_INVALID', 'document must be JSON');
    }
  }
  const parsed = submitRunSchema.safeParse(fields);
  if (!parsed.success) {
    const what = parsed.error.issues.map((i) => `/${i.path.join('/')}: ${i.message}`).join('; ');
    throw new DataProcessorError('INPUT_INVALID', `Invalid request: ${what}`);
  }
  return { submission: parsed.data, uploaded };
}

/** Server-sent events: the run status whenever it changes, then the stream ends at a final state. */
function streamStatus(reply: FastifyReply, jobId: string, queue: JobQueue, pollMs: number): void {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let last = '';
  let sequence = 0;
  let closed = false;
  let lastWrite = Date.now();
  const stop = (): void => {
    closed = true;
    clearInterval(timer);
  };
  const poll = async (): Promise<void> => {
    const job = await queue.get(jobId);
    if (closed || !job) return;
    const data = JSON.stringify(toRunStatus(job));
    if (data !== last) {
      last = data;
      raw.write(`id: ${++sequence}\nevent: status\ndata: ${data}\n\n`);
      lastWrite = Date.now();
    } else if (Date.now() - lastWrite > 15_000) {
      raw.write(': keep-alive\n\n');
      lastWrite = Date.now();
    }
    if (FINAL_STATES.has(job.state)) {
      stop();
      raw.end();
    }
  };
  const timer = setInterval(() => void poll().catch(() => stop()), pollMs);
  raw.on('close', stop);
  void poll().catch(() => stop());
}
