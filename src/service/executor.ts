// The service's one view of the run core: compile a submission when it arrives (bad input is
// answered at once, nothing queued), execute a compiled plan in a worker. `orchestratorExecutor`
// maps it onto the orchestrator; tests use the real one.
import type { ErrorCode, VideoDocument } from '../contracts/index.js';
import type { RunEvent } from '../orchestrator/index.js';

/** What the API hands to `compile`: ids already checked against the caller's key. */
export interface RunSubmission {
  videoPath: string;
  platformId: string;
  runId: string;
  videoId?: string;
  profile: string;
  document?: VideoDocument;
}

/** A compiled run: plain JSON (it travels through the queue), with the ids the API needs. */
export interface CompiledRun {
  platformId: string;
  runId: string;
  /** Known at compile time when given or derived from the input's hash. */
  videoId: string | null;
  profile: string;
  /** The executor's own plan; opaque to the queue and the API. */
  plan: unknown;
}

export interface ExecuteOptions {
  onEvent?: (event: RunEvent) => void;
  signal?: AbortSignal;
}

export interface ExecutionResult {
  status: 'ok' | 'error';
  videoId: string;
  runDir: string;
  errorCode: ErrorCode | null;
  /** A message safe to show (ids, codes, paths); never raw document text. */
  errorMessage: string | null;
  /** Per-stage figures for the metrics (batch sizes, OOM retries). */
  stages: { name: string; batchSize: number | null; oomRetries: number }[];
}

export interface RunExecutor {
  /** Validates ids, input, profile and config; throws DataProcessorError (→ 400/422). */
  compile(submission: RunSubmission): Promise<CompiledRun>;
  /**
   * Runs a compiled plan to its end. Safe to call again for the same plan after a worker died:
   * finished stages are kept, the rest run (at-least-once without duplicates). Throws only for
   * failures before the run exists; a run that fails is an `error` result.
   */
  execute(run: CompiledRun, options?: ExecuteOptions): Promise<ExecutionResult>;
  /** The run directory of a run, or null when it does not exist (yet). */
  runDirOf(platformId: string, videoId: string, runId: string): string;
}
