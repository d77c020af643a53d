import { Command, CommanderError } from 'commander';
import pc from 'picocolors';
import { ERROR_CODES, dataprocessorVersion } from '../contracts/index.js';
import { registerAuditCommand } from './audit.js';
import { registerDeleteCommand } from './delete.js';
import { registerGcCommand } from './gc.js';
import { registerProfilesCommand } from './profiles.js';
import { registerModelsCommand } from './models.js';
import { exitQuietlyOnClosedOutput, reportError, setDebugOutput } from './output.js';
import { registerRunCommand } from './run.js';
import { registerKeysCommand } from './keys.js';
import { registerServeCommand } from './serve.js';
import { registerWorkerCommand } from './worker.js';

/** Usage errors exit like INPUT_INVALID (2) and read like every other error: code, message, hint. */
const USAGE_EXIT_CODE = ERROR_CODES.INPUT_INVALID.exitCode;

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Commander's usage errors (unknown option, missing argument, bad choice) in the CLI's own
 * format: one `error [INPUT_INVALID]` line and a hint that names the command's `--help`, instead
 * of the whole help text.
 */
function formatUsageErrors(command: Command): void {
  command.configureOutput({
    outputError: (text, write) =>
      write(`${pc.red('error [INPUT_INVALID]')} ${text.replace(/^error:\s*/, '').trim()}\n`),
  });
  command.showHelpAfterError(
    `  ${pc.dim(`hint: see \`${commandPath(command)} --help\` for its arguments and options`)}`,
  );
  for (const sub of command.commands) formatUsageErrors(sub);
}

/** The one CLI (R-ARC-1): every command is registered here from its own file. */
export function buildProgram(): Command {
  const program = new Command('dataprocessor')
    .description('Turn a video into a reproducible, contract-checked set of NumPy feature artifacts.')
    .version(dataprocessorVersion().version)
    .option('--debug', 'print the stack trace of an error (any command)')
    .exitOverride();
  program.hook('preAction', (_program, action) => setDebugOutput(action.optsWithGlobals().debug === true));
  registerRunCommand(program);
  registerAuditCommand(program);
  registerProfilesCommand(program);
  registerModelsCommand(program);
  registerServeCommand(program);
  registerWorkerCommand(program);
  registerKeysCommand(program);
  registerGcCommand(program);
  registerDeleteCommand(program);
  formatUsageErrors(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnClosedOutput();
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors exit 2 (INPUT_INVALID's exit code).
      process.exitCode = error.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
      return;
    }
    // A command's own failures are reported by the command; anything else still ends as one
    // error line with its code, never as an unhandled rejection.
    process.exitCode = reportError(error, false);
  }
}
