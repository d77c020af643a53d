// Storage lifecycle in the service (R-PRV-3): the delete-by-video request of the API and the
// periodic retention GC. Both are the storage lifecycle's own functions over the service's store,
// registered beside the API (one line in server.ts), so the API module stays about runs.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { idSchema } from '../contracts/index.js';
import { collectGarbage, deleteVideo, type ResultStore, type RetentionPolicy } from '../storage/index.js';
import type { ApiKeyInfo } from './auth.js';

const videoParams = z.object({ platform_id: idSchema, video_id: idSchema });

/**
 * `DELETE /api/videos/:platform_id/:video_id` (admin key of that tenant): deletes everything stored
 * for the video, writes its tombstone (a run of it in progress fails with VIDEO_DELETED) and the
 * deletion-log record, and returns that record. Another tenant's video is 404 (R-SEC-5).
 */
export function registerVideoDeletion(app: FastifyInstance, store: ResultStore): void {
  app.delete(
    '/api/videos/:platform_id/:video_id',
    { config: { role: 'admin' }, schema: { params: videoParams } },
    async (request, reply) => {
      const params = videoParams.parse(request.params);
      const key = (request as unknown as { apiKey: ApiKeyInfo }).apiKey;
      if (key.platformId !== params.platform_id)
        return reply.code(404).send({ error_code: 'NOT_FOUND', message: 'no such video', retryable: false });
      return deleteVideo(store, {
        platformId: params.platform_id,
        videoId: params.video_id,
        requestedBy: `api:${key.platformId}/${key.id}`,
      });
    },
  );
}

/** A running periodic GC; `stop` waits for a pass in progress. */
export interface RetentionJob {
  stop(): Promise<void>;
}

/**
 * Runs retention GC every `intervalMs` (never two passes at once) and logs what each pass removed
 * — counts and bytes only, never ids or paths (R-SEC-5 logs). `intervalMs` 0 disables it.
 */
export function startRetentionJob(
  store: ResultStore,
  options: { intervalMs: number; logger: Logger; policy?: Partial<RetentionPolicy> },
): RetentionJob {
  if (options.intervalMs <= 0) return { stop: () => Promise.resolve() };
  let pass: Promise<void> | null = null;
  const runPass = (): void => {
    if (pass) return;
    pass = collectGarbage(store, { ...(options.policy ? { policy: options.policy } : {}) })
      .then((report) =>
        options.logger.info(
          {
            event: 'retention_gc',
            files_removed: report.files_removed,
            bytes_freed: report.bytes_freed,
            runs_kept_running: report.running.length,
          },
          'retention GC pass',
        ),
      )
      .catch((error: unknown) =>
        options.logger.error(
          { event: 'retention_gc_failed', error_code: (error as { code?: string }).code ?? 'INTERNAL' },
          'retention GC failed',
        ),
      )
      .finally(() => {
        pass = null;
      });
  };
  const timer = setInterval(runPass, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await pass;
    },
  };
}
