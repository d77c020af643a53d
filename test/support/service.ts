// Helpers of the service tests: the CLI's `serve`/`worker` as child processes (their pino lines
// collected), curl as the HTTP client, keys made with `dataprocessor keys`, and a throwaway
// redis-server on a random loopback port, stopped by its pid.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'dataprocessor.js');
const execFileAsync = promisify(execFile);

export interface ServiceProcess {
  proc: ChildProcess;
  /** Every stdout/stderr line so far (pino JSON lines and anything else). */
  lines: string[];
  url: string;
  metricsUrl: string | null;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Spawns `dataprocessor <command> …` and waits for its started log line. */
export async function spawnService(
  args: string[],
  env: Record<string, string> = {},
  startedEvent = 'service_started',
): Promise<ServiceProcess> {
  // Tests run jobs at once unless they ask for a buffer window (the service's default is 10 s).
  const window =
    args[0] === 'serve' && !args.includes('--buffer-window-ms') ? ['--buffer-window-ms', '0'] : [];
  const proc = spawn(process.execPath, [BIN, ...args, ...window], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  let started: (info: { url: string; metricsUrl: string | null }) => void = () => undefined;
  const ready = new Promise<{ url: string; metricsUrl: string | null }>((resolve) => (started = resolve));
  const onData = (chunk: Buffer, carry: { rest: string }): void => {
    const text = carry.rest + chunk.toString('utf8');
    const parts = text.split('\n');
    carry.rest = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (line.includes(`"event":"${startedEvent}"`)) {
        const parsed = JSON.parse(line) as { url?: string; metrics_url?: string | null };
        started({ url: parsed.url ?? '', metricsUrl: parsed.metrics_url ?? null });
      }
    }
  };
  const out = { rest: '' };
  const err = { rest: '' };
  proc.stdout?.on('data', (c: Buffer) => onData(c, out));
  proc.stderr?.on('data', (c: Buffer) => onData(c, err));
  let startTimer: NodeJS.Timeout | undefined;
  const info = await Promise.race([
    ready,
    exited.then((code) => {
      throw new Error(`${args[0]} exited (${code}) before it started:\n${lines.join('\n')}`);
    }),
    new Promise<never>((_, reject) => {
      startTimer = setTimeout(() => {
        proc.kill('SIGKILL'); // never leave a process behind that nobody will stop
        reject(new Error(`${args[0]} did not start:\n${lines.join('\n')}`));
      }, 60_000);
    }),
  ]).finally(() => clearTimeout(startTimer));
  return {
    proc,
    lines,
    url: info.url,
    metricsUrl: info.metricsUrl,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

export interface CurlResult {
  status: number;
  body: string;
  headers: Record<string, string>;
  json<T = unknown>(): T;
}

/** One request with curl (the client operators use); `-D -` gives the headers. */
export async function curl(args: string[]): Promise<CurlResult> {
  const { stdout } = await execFileAsync('curl', ['-sS', '-D', '-', '--max-time', '30', ...args], {
    maxBuffer: 64 * 1024 * 1024,
    encoding: 'latin1',
  });
  const split = stdout.indexOf('\r\n\r\n');
  const head = stdout.slice(0, split);
  const body = stdout.slice(split + 4);
  const [statusLine, ...headerLines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return {
    status: Number(statusLine?.split(' ')[1]),
    body,
    headers,
    json: <T>() => JSON.parse(Buffer.from(body, 'latin1').toString('utf8')) as T,
  };
}

export function createKey(db: string, platformId: string, role: string): string {
  const out = execFileSync(
    process.execPath,
    [BIN, 'keys', 'create', '--platform-id', platformId, '--role', role, '--db', db, '--json'],
    {
      encoding: 'utf8',
    },
  );
  return (JSON.parse(out) as { key: string }).key;
}

/** A free TCP port on loopback (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface RedisServer {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
  /** Starts it again on the same port (for the restart test). */
  restart(): Promise<void>;
}

/**
 * Debian's redis-server on a random loopback port, stopped by its pid. Its data lives in `dir`
 * (append-only file, fsync always), so a restart finds the queue as it was.
 */
export async function startRedis(dir: string): Promise<RedisServer> {
  const port = await freePort();
  let proc: ChildProcess;
  const launch = async (): Promise<void> => {
    proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--dir',
        dir,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('redis-server did not start')), 10_000);
      proc.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.on('exit', (code) => reject(new Error(`redis-server exited ${code}`)));
    });
  };
  await launch();
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
    process.kill(proc.pid as number, 'SIGKILL');
    await gone;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return proc.pid as number;
    },
    stop,
    restart: launch,
  };
}

/** Polls `probe` until it returns a value, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined>,
  timeoutMs = 90_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
