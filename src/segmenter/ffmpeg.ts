import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { DataProcessorError, ToolMissingError } from '../contracts/index.js';

/**
 * The one place ffmpeg/ffprobe are found and started (STYLE: Remotion's `callFf`). Every call that
 * opens a user file goes through `inputArgs`, so whitelists are never forgotten (R-SEC-1).
 */

export type Tool = 'ffmpeg' | 'ffprobe' | 'prlimit';

/**
 * Demuxers an input may be opened with (R-SEC-1). A `.mp4` that is really an ffconcat script or an
 * HLS playlist is refused because `concat`/`hls` are not listed; ffmpeg matches each
 * comma-separated name of a demuxer (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`) against this list.
 */
export const INPUT_FORMAT_WHITELIST = [
  'mov',
  'mp4',
  'm4a',
  '3gp',
  '3g2',
  'mj2',
  'matroska',
  'webm',
  'avi',
  'mpegts',
  'flv',
  'mpeg',
  'ogg',
  'asf',
  'wav',
] as const;
/** Only local files and pipes; URL inputs are fetched by our own SSRF-safe fetcher first (R-SEC-1). */
export const INPUT_PROTOCOL_WHITELIST = ['file', 'pipe'] as const;
/** R-SEC-2: largest frame (pixels) a decoder may allocate: 8K UHD. */
export const MAX_INPUT_PIXELS = 7680 * 4320;

/** Arguments that open `path` as an input with every safety option in front of `-i`. */
export function inputArgs(path: string): string[] {
  const absolute = isAbsolute(path) ? path : resolve(path);
  return [
    '-protocol_whitelist',
    INPUT_PROTOCOL_WHITELIST.join(','),
    '-format_whitelist',
    INPUT_FORMAT_WHITELIST.join(','),
    '-max_pixels',
    String(MAX_INPUT_PIXELS),
    '-i',
    // `file:` stops a name like `x:y.mp4` or `-y.mp4` from being read as a protocol or an option.
    `file:${absolute}`,
  ];
}

const resolved = new Map<Tool, string>();

/** Finds a tool ($DATAPROCESSOR_FFMPEG / $DATAPROCESSOR_FFPROBE, else PATH) or throws TOOL_MISSING. */
export function resolveTool(tool: Tool): string {
  const cached = resolved.get(tool);
  if (cached) return cached;
  const override = process.env[`DATAPROCESSOR_${tool.toUpperCase()}`];
  const candidates = override
    ? [override]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, tool));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      resolved.set(tool, candidate);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  throw new ToolMissingError(tool);
}

/** Forgets resolved tool paths (tests change PATH). */
export function resetToolCache(): void {
  resolved.clear();
}

export interface ToolRunOptions {
  timeoutMs: number;
  /** R-SEC-2: address-space bound of the process (via util-linux `prlimit --as`), in MiB. */
  memoryLimitMb?: number;
  /** Extra output pipes on fds 3, 4, … (read from `child.stdio[3…]`). */
  extraPipes?: number;
  /** Open descriptors the child inherits as fds 3, 4, … (after any extra pipes). */
  inheritFds?: readonly number[];
  signal?: AbortSignal;
  cwd?: string;
}

export interface ToolResult {
  stdout: Buffer;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/** Removes empty arguments so optional flags can be written inline as `cond ? '-x' : ''`. */
function cleanArgs(args: readonly string[]): string[] {
  return args.filter((a) => a !== '');
}

/** Starts a tool with piped stdout/stderr; the caller streams stdout. Killed on timeout or abort. */
export function spawnTool(
  tool: Tool,
  args: readonly string[],
  options: ToolRunOptions,
): {
  child: ChildProcessByStdio<null, Readable, Readable>;
  done: Promise<ToolResult & { timedOut: boolean }>;
} {
  const binary = resolveTool(tool);
  // ffprobe has no -nostdin; ffmpeg must never read the terminal.
  const common = tool === 'ffmpeg' ? ['-hide_banner', '-nostdin'] : ['-hide_banner'];
  const argv = [binary, ...common, ...cleanArgs(args)];
  if (options.memoryLimitMb !== undefined) {
    argv.unshift(resolveTool('prlimit'), `--as=${Math.round(options.memoryLimitMb * 1024 * 1024)}`, '--');
  }
  const extra = [
    ...Array.from({ length: options.extraPipes ?? 0 }, () => 'pipe' as const),
    ...(options.inheritFds ?? []),
  ];
  const child = spawn(argv[0] as string, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe', ...extra],
    cwd: options.cwd,
  }) as ChildProcessByStdio<null, Readable, Readable>;
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    // Keep the tail only: a corrupt file can make ffmpeg print megabytes of warnings.
    stderr = (stderr + chunk).slice(-64 * 1024);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs);
  const onAbort = (): void => {
    child.kill('SIGKILL');
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const done = new Promise<ToolResult & { timedOut: boolean }>((resolvePromise, reject) => {
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolvePromise({ stdout: Buffer.alloc(0), stderr, exitCode, signal, timedOut });
    });
  });
  return { child, done };
}

/** Runs a tool to completion, collecting stdout (bounded by `maxStdoutBytes`). */
export async function runTool(
  tool: Tool,
  args: readonly string[],
  options: ToolRunOptions & { maxStdoutBytes?: number },
): Promise<ToolResult> {
  const { child, done } = spawnTool(tool, args, options);
  const chunks: Buffer[] = [];
  let size = 0;
  const limit = options.maxStdoutBytes ?? 256 * 1024 * 1024;
  child.stdout.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) child.kill('SIGKILL');
    else chunks.push(chunk);
  });
  const result = await done;
  if (result.timedOut) {
    throw new DataProcessorError(
      'TIMEOUT',
      `${tool} did not finish within ${Math.round(options.timeoutMs / 1000)} s.`,
    );
  }
  if (size > limit) {
    throw new DataProcessorError(
      'INPUT_INVALID',
      `${tool} produced more than ${limit} bytes of output; the input is not plausible.`,
    );
  }
  return { ...result, stdout: Buffer.concat(chunks) };
}

/** True when a tool failed because it hit its memory bound (allocation or library mapping failed). */
export function isOutOfMemory(stderr: string): boolean {
  return /failed to map segment|Cannot allocate memory|out of memory|ENOMEM/i.test(stderr);
}

/** Last meaningful line of ffmpeg's stderr, for error messages. */
export function lastErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.at(-1) ?? 'no output';
}
