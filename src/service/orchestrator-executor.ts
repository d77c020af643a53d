// The one adapter from the service's RunExecutor to the run core: `compileRun` at submit time
// (ids, input, profile, config, keys — nothing written), `executeRun` in a worker. The compiled
// RunPlan is plain JSON and travels through the queue. A job picked up again after its worker died
// finds the run's manifest and resumes it: finished stages are kept, never recomputed.
import { toDataProcessorError } from '../contracts/index.js';
import type { BatchCoalescer } from '../models/index.js';
import { compileRun, executeRun, runPlanSchema, type RunPlan } from '../orchestrator/index.js';
import { createResultStore, type ClaimPort, type ResultStore } from '../storage/index.js';
import type { CompiledRun, ExecuteOptions, ExecutionResult, RunExecutor, RunSubmission } from './executor.js';

export interface OrchestratorExecutorOptions {
  storeRoot: string;
  databasePath: string;
  /**
   * Stage claims across hosts (R-ORC-5): with Redis configured, claims go through Redis, because
   * the store's file locks only exclude processes of one host. @defaultValue the store's file locks
   */
  claims?: ClaimPort;
  /**
   * Cross-video batching (R-BAT-4): the runs this process executes at once share model batches
   * through it. @defaultValue none (each run batches alone)
   */
  coalescer?: BatchCoalescer;
}

/** The store with its claims replaced (every other method is the store's own). */
function withClaims(store: ResultStore, claims: ClaimPort): ResultStore {
  return Object.assign(Object.create(store) as ResultStore, { claims });
}

export function orchestratorExecutor(options: OrchestratorExecutorOptions): RunExecutor {
  const local = createResultStore(options.storeRoot);
  const store = options.claims ? withClaims(local, options.claims) : local;
  return {
    async compile(submission: RunSubmission): Promise<CompiledRun> {
      const plan = await compileRun(
        {
          videoPath: submission.videoPath,
          storeRoot: local.location,
          databasePath: options.databasePath,
          platformId: submission.platformId,
          runId: submission.runId,
          profile: submission.profile,
          ...(submission.videoId !== undefined ? { videoId: submission.videoId } : {}),
          ...(submission.document !== undefined ? { document: submission.document } : {}),
        },
        { store },
      );
      return {
        platformId: plan.identity.platform_id,
        runId: plan.identity.run_id,
        videoId: plan.identity.video_id,
        profile: submission.profile,
        plan,
      };
    },

    async execute(run: CompiledRun, execution: ExecuteOptions = {}): Promise<ExecutionResult> {
      const compiled: RunPlan = runPlanSchema.parse(run.plan);
      const { platform_id, video_id, run_id } = compiled.identity;
      const runDir = store.runDir(platform_id, video_id, run_id);
      // A run a dead worker started is continued: what finished is kept (R-ORC-4).
      const resume = (await store.readManifest(runDir)) !== null;
      if (!resume && (await store.hasRun(runDir))) await store.removeRun(runDir);
      const plan: RunPlan = { ...compiled, options: { ...compiled.options, resume } };
      const leave = options.coalescer?.join();
      try {
        const outcome = await executeRun(plan, {
          store,
          ...(options.coalescer ? { coalescer: options.coalescer } : {}),
          ...(execution.onEvent ? { onEvent: execution.onEvent } : {}),
          ...(execution.signal ? { signal: execution.signal } : {}),
        });
        const failed = outcome.manifest.run;
        return {
          status: outcome.status,
          videoId: video_id,
          runDir: outcome.runDir,
          errorCode: outcome.status === 'error' ? (failed.error_code ?? 'INTERNAL') : null,
          errorMessage: outcome.status === 'error' ? failed.error : null,
          stages: outcome.manifest.components.map((c) => ({
            name: c.name,
            batchSize: c.batch_size,
            oomRetries: c.oom_retries ?? 0,
          })),
        };
      } catch (error) {
        const failure = toDataProcessorError(error);
        return {
          status: 'error',
          videoId: video_id,
          runDir,
          errorCode: failure.code,
          errorMessage: failure.message,
          stages: [],
        };
      } finally {
        leave?.();
      }
    },

    runDirOf(platformId: string, videoId: string, runId: string): string {
      return local.runDir(platformId, videoId, runId);
    },
  };
}
