import { inspect } from 'node:util';
import pc from 'picocolors';
import { toDataProcessorError } from '../contracts/index.js';

let debugOutput = false;

/** `--debug`: error reports carry the stack trace (and the stacks of their causes). */
export function setDebugOutput(enabled: boolean): void {
  debugOutput = enabled;
}

/** A message on one line: tools (ffprobe, SQLite) put newlines in theirs. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** The stack of an error and of every `cause` below it, for `--debug`. */
function stackChain(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 8; depth++) {
    parts.push(e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : inspect(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join('\ncaused by: ');
}

/**
 * Prints an error the way every command does: `error [CODE] message` and one `hint:` line on
 * stderr (one JSON object on stdout with `--json`). The stack trace only with `--debug`.
 * Returns the code's documented exit code.
 */
export function reportError(error: unknown, json: boolean): number {
  const failure = toDataProcessorError(error);
  const message = oneLine(failure.message);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ type: 'error', error_code: failure.code, retryable: failure.retryable, message, hint: failure.hint })}\n`,
    );
  } else {
    const again =
      failure.code === 'INTERNAL' && !debugOutput ? ' (rerun with --debug for the stack trace)' : '';
    process.stderr.write(
      `${pc.red(`error [${failure.code}]`)} ${message}\n  ${pc.dim(`hint: ${failure.hint}${again}`)}\n`,
    );
  }
  if (debugOutput) process.stderr.write(`${pc.dim(stackChain(failure))}\n`);
  return failure.exitCode;
}

/**
 * A closed stdout (`dataprocessor audit … | head`) ends the process quietly, as a Unix tool
 * killed by SIGPIPE would; Node ignores SIGPIPE, so without this the write's EPIPE is an
 * unhandled 'error' event with a stack trace. The exit code is the one the command had set.
 * Other stdout/stderr failures are reported once as an error.
 */
export function exitQuietlyOnClosedOutput(): void {
  const onError = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') process.exit(process.exitCode ?? 0);
    process.exitCode = reportError(error, false);
    process.exit();
  };
  process.stdout.on('error', onError);
  process.stderr.on('error', (error: NodeJS.ErrnoException) => {
    // Nowhere left to report: keep the exit code the command set.
    if (error.code !== 'EPIPE') process.exitCode ??= 1;
    process.exit();
  });
}

export function formatMs(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
