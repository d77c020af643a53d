import { Command, CommanderError } from 'commander';
import { dataprocessorVersion } from '../contracts/index.js';
import { registerAuditCommand } from './audit.js';
import { registerProfilesCommand } from './profiles.js';
import { registerModelsCommand } from './models.js';
import { registerRunCommand } from './run.js';
import { registerKeysCommand } from './keys.js';
import { registerServeCommand } from './serve.js';
import { registerWorkerCommand } from './worker.js';

/** The one CLI (R-ARC-1): every command is registered here from its own file. */
export function buildProgram(): Command {
  const program = new Command('dataprocessor')
    .description('Turn a video into a reproducible, contract-checked set of NumPy feature artifacts.')
    .version(dataprocessorVersion().version)
    .showHelpAfterError()
    .exitOverride();
  registerRunCommand(program);
  registerAuditCommand(program);
  registerProfilesCommand(program);
  registerModelsCommand(program);
  registerServeCommand(program);
  registerWorkerCommand(program);
  registerKeysCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors exit 2 (INPUT_INVALID's exit code).
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    throw error;
  }
}
