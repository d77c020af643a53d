import { compileRun, type RunEnvironment, type RunRequest } from './compile.js';
import { executeRun, type ExecuteOptions, type RunOutcome } from './execute.js';

/**
 * The canonical entry point for one video in process (R-ORC-1): compile the request into a plan
 * (ids, input, profile, config, keys — nothing written for a bad request), then execute it. The
 * service compiles at submit time and executes on a worker; the CLI does both here.
 */
export async function runVideo(
  request: RunRequest,
  options: RunEnvironment & Pick<ExecuteOptions, 'onEvent' | 'signal'> = {},
): Promise<RunOutcome> {
  return executeRun(await compileRun(request, options), options);
}

export type { RunOutcome, RunRequest };
