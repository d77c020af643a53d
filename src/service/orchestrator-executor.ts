// The one adapter from the service's RunExecutor to the orchestrator. Until the run core's
// compileRun/executeRun land, `compile` does the submit-time checks itself (ids, profile, input
// file, probe and duration: the same checks and codes `runVideo` applies first) and `execute` calls
// `runVideo`, resuming a run a dead worker left behind.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataProcessorError, defaultVideoId, toDataProcessorError, validateId } from '../contracts/index.js';
import { ProfileStore, runVideo } from '../orchestrator/index.js';
import { checkDuration, probeVideo, segmenterConfigSchema } from '../segmenter/index.js';
import { LocalResultStore, MANIFEST_FILE, sha256File } from '../storage/index.js';
import type { CompiledRun, ExecuteOptions, ExecutionResult, RunExecutor, RunSubmission } from './executor.js';

export interface OrchestratorExecutorOptions {
  storeRoot: string;
  databasePath: string;
}

/** What travels in the queue for one run (plain JSON). */
interface OrchestratorPlan {
  videoPath: string;
  platformId: string;
  videoId: string;
  runId: string;
  profile: string;
}

export function orchestratorExecutor(options: OrchestratorExecutorOptions): RunExecutor {
  const store = new LocalResultStore(resolve(options.storeRoot));
  return {
    async compile(submission: RunSubmission): Promise<CompiledRun> {
      const platformId = validateId('platform_id', submission.platformId);
      const runId = validateId('run_id', submission.runId);
      if (submission.videoId !== undefined) validateId('video_id', submission.videoId);
      const profiles = ProfileStore.open(options.databasePath);
      try {
        if (profiles.get(submission.profile) === null)
          throw new DataProcessorError('INPUT_INVALID', `There is no profile "${submission.profile}".`);
      } finally {
        profiles.close();
      }
      const limits = segmenterConfigSchema.parse({});
      const probe = await probeVideo(submission.videoPath, {
        timeoutMs: limits.probe_timeout_sec * 1000,
        maxFileBytes: limits.max_file_bytes,
        maxDurationSec: limits.max_duration_sec,
        memoryLimitMb: limits.decode_memory_limit_mb,
      });
      checkDuration(probe, limits.min_duration_sec, limits.max_duration_sec);
      const videoId = submission.videoId ?? defaultVideoId(await sha256File(submission.videoPath));
      const plan: OrchestratorPlan = {
        videoPath: resolve(submission.videoPath),
        platformId,
        videoId,
        runId,
        profile: submission.profile,
      };
      return { platformId, runId, videoId, profile: submission.profile, plan };
    },

    async execute(run: CompiledRun, execution: ExecuteOptions = {}): Promise<ExecutionResult> {
      const plan = run.plan as OrchestratorPlan;
      const runDir = store.runDir(plan.platformId, plan.videoId, plan.runId);
      // A run a dead worker started is continued: what finished is kept (R-ORC-4).
      const resume = existsSync(join(runDir, MANIFEST_FILE));
      if (!resume && existsSync(runDir)) await store.removeRun(runDir);
      try {
        const outcome = await runVideo({
          videoPath: plan.videoPath,
          storeRoot: store.root,
          databasePath: options.databasePath,
          platformId: plan.platformId,
          videoId: plan.videoId,
          runId: plan.runId,
          profile: plan.profile,
          ...(resume ? { resume: true } : {}),
          ...(execution.onEvent ? { onEvent: execution.onEvent } : {}),
          ...(execution.signal ? { signal: execution.signal } : {}),
        });
        const failed = outcome.manifest.run;
        return {
          status: outcome.status,
          videoId: plan.videoId,
          runDir: outcome.runDir,
          errorCode: outcome.status === 'error' ? (failed.error_code ?? 'INTERNAL') : null,
          errorMessage: outcome.status === 'error' ? failed.error : null,
          // The manifest does not record OOM retries (they stay inside a component's batch policy).
          stages: outcome.manifest.components.map((c) => ({
            name: c.name,
            batchSize: c.batch_size,
            oomRetries: 0,
          })),
        };
      } catch (error) {
        const failure = toDataProcessorError(error);
        return {
          status: 'error',
          videoId: plan.videoId,
          runDir,
          errorCode: failure.code,
          errorMessage: failure.message,
          stages: [],
        };
      }
    },

    runDirOf(platformId: string, videoId: string, runId: string): string {
      return store.runDir(platformId, videoId, runId);
    },
  };
}
