import type { Command } from 'commander';
import { loadService } from './lazy.js';
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
        const { startWorker } = await loadService();
        const compiled = await compileServiceOptions({ ...options, allowRoot: [], bufferWindowMs: '0' });
        await runUntilSignalled(() => startWorker(compiled));
      } catch (error) {
        process.exitCode = reportError(error, false);
      }
    });
}
