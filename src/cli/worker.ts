import type { Command } from 'commander';
import { startWorker } from '../service/index.js';
import { reportError } from './output.js';
import { compileServiceOptions, runUntilSignalled, serviceOptions, type ServiceCliOptions } from './serve.js';

/** `dataprocessor worker`: runs queued jobs only (scale-out; no API). */
export function registerWorkerCommand(program: Command): void {
  serviceOptions(program.command('worker'))
    .description(
      'Run queued jobs (no API): several workers on several hosts with --redis and shared storage.',
    )
    .action(async (options: ServiceCliOptions) => {
      try {
        const compiled = compileServiceOptions({ ...options, allowRoot: [], bufferWindowMs: '0' });
        await runUntilSignalled(() => startWorker(compiled));
      } catch (error) {
        process.exitCode = reportError(error, false);
      }
    });
}
