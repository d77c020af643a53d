import pc from 'picocolors';
import { toDataProcessorError } from '../contracts/index.js';

/** Prints an error the way every command does: code, message, what to do; JSON when asked. */
export function reportError(error: unknown, json: boolean): number {
  const failure = toDataProcessorError(error);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ type: 'error', error_code: failure.code, retryable: failure.retryable, message: failure.message, hint: failure.hint })}\n`,
    );
  } else {
    process.stderr.write(
      `${pc.red(`error [${failure.code}]`)} ${failure.message}\n  ${pc.dim(`hint: ${failure.hint}`)}\n`,
    );
    if (failure.code === 'INTERNAL' && failure.stack) process.stderr.write(`${pc.dim(failure.stack)}\n`);
  }
  return failure.exitCode;
}

export function formatMs(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
