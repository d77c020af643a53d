// Spawns a compiled child script and follows its stdout line by line.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface Child {
  process: ChildProcessWithoutNullStreams;
  pid: number;
  /** stdout lines so far. */
  lines: string[];
  /** Resolves when the child prints `line` (rejects if it exits first). */
  waitFor(line: string): Promise<void>;
  /** Resolves when the child has exited (and been reaped). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export function spawnChild(script: string, args: readonly string[]): Child {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`cannot spawn ${script}`);
  const lines: string[] = [];
  const waiters: { line: string; resolve: () => void }[] = [];
  let partial = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    const parts = (partial + text).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.line === line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => (stderr += text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    // 'close', not 'exit': by then stdout is drained, so every mark the child printed is counted.
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    process: child,
    pid: child.pid,
    lines,
    waitFor: (line) =>
      lines.includes(line)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            waiters.push({ line, resolve });
            void exited.then(({ code, signal, stderr: err }) =>
              reject(new Error(`child exited (${code ?? signal}) before "${line}": ${err}`)),
            );
          }),
    exited,
  };
}
