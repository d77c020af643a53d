// Bad input to every command is a clear error, never a crash (issue 11 item 9): each command and
// subcommand of the built CLI gets what a new user gets wrong — missing, unreadable and
// wrong-type paths, bad ids and names, impossible paths such as /proc/x — and must end with the
// exit code docs/ERROR_HANDLING.md documents for its error code, exactly one `error [CODE]` line
// and one `hint:` line on stderr, and no stack trace unless `--debug`. A closed stdout
// (`… | head`) must end quietly. All of these fail before any decoding, so the table is fast.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ffmpeg, makeTempDir } from './support/media.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'dataprocessor.js');

/** error_code → CLI exit code, read from the documented table (not from the code under test). */
function documentedExitCodes(): Map<string, number> {
  const doc = readFileSync(join(ROOT, 'docs', 'ERROR_HANDLING.md'), 'utf8');
  const codes = new Map<string, number>();
  for (const m of doc.matchAll(/^\| `([A-Z_]+)` \| (?:true|false) \| (\d+) \|/gm))
    codes.set(m[1] ?? '', Number(m[2]));
  return codes;
}
const EXIT = documentedExitCodes();

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface CliOptions {
  /** Run as `nobody` (when this test runs as root, permissions would not bite otherwise). */
  asNobody?: boolean;
  /** Close the read end of the child's stdout at once, as `| head` does after its lines. */
  closeStdout?: boolean;
  env?: NodeJS.ProcessEnv;
}

function cli(args: readonly string[], options: CliOptions = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const nobody = options.asNobody === true && process.getuid?.() === 0;
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      ...(nobody ? { uid: 65534, gid: 65534 } : {}),
    });
    let stdout = '';
    let stderr = '';
    if (options.closeStdout) child.stdout.destroy();
    else child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs `jobs` with at most `limit` children at a time (the machine has few cores). */
async function pool<T>(jobs: readonly (() => Promise<T>)[], limit = 2): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await (jobs[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

const STACK_LINE = /^\s+at .+(\(|:\d+:\d+)/m;

/** The error shape every command shares: one `error [CODE]` line, one hint, nothing else. */
function expectOneLineError(outcome: Outcome, code: string, message: RegExp): void {
  const lines = outcome.stderr.split('\n').filter((l) => l.length > 0);
  expect(lines, outcome.stderr).toHaveLength(2);
  expect(lines[0]).toMatch(new RegExp(`^error \\[${code}\\] \\S`));
  expect(lines[0]).toMatch(message);
  expect(lines[1]).toMatch(/^ {2}hint: \S/);
  expect(outcome.stderr).not.toMatch(STACK_LINE);
  expect(outcome.signal).toBeNull();
  expect(outcome.code).toBe(EXIT.get(code));
}

interface Fixtures {
  dir: string;
  video: string;
  notVideo: string;
  unreadable: string;
  unreadableDir: string;
  db: string;
  userProfile: string;
  badYaml: string;
  notProfile: string;
  exportExisting: string;
  modelDir: string;
}

interface Case {
  command: string;
  args: (f: Fixtures) => string[];
  code: string;
  message: RegExp;
  asNobody?: boolean;
}

const USAGE = 'INPUT_INVALID';

/** The table: every command and subcommand, the mistakes a new user makes, what must come out. */
const CASES: Case[] = [
  // service commands (argument errors exit before anything listens)
  {
    command: 'serve',
    args: () => ['serve', '--port', 'abc'],
    code: 'INPUT_INVALID',
    message: /--port must be a non-negative number/,
  },
  {
    command: 'worker',
    args: () => ['worker', '--concurrency', '-3'],
    code: 'INPUT_INVALID',
    message: /--concurrency must be a non-negative number/,
  },
  {
    command: 'keys create',
    args: () => ['keys', 'create'],
    code: USAGE,
    message: /required option '--platform-id/,
  },
  {
    command: 'keys list',
    args: () => ['keys', 'list', '--db', '/proc/dp-no-such/db.sqlite'],
    code: 'STORAGE_IO',
    message: /dp-no-such/,
  },
  {
    command: 'keys revoke',
    args: () => ['keys', 'revoke'],
    code: USAGE,
    message: /missing required argument 'id'/,
  },
  // run
  {
    command: 'run',
    args: (f) => ['run', f.video, '--bogus'],
    code: USAGE,
    message: /unknown option '--bogus'/,
  },
  {
    command: 'run',
    args: (f) => ['run', join(f.dir, 'nope.mp4')],
    code: 'INPUT_INVALID',
    message: /nope\.mp4/,
  },
  {
    command: 'run',
    args: (f) => ['run', f.dir, '--out', join(f.dir, 's')],
    code: 'INPUT_INVALID',
    message: /not a regular file/,
  },
  {
    command: 'run',
    args: (f) => ['run', f.notVideo, '--out', join(f.dir, 's')],
    code: 'INPUT_UNREADABLE',
    message: /ffprobe/,
  },
  {
    command: 'run',
    args: (f) => [
      'run',
      f.unreadable,
      '--out',
      join(f.dir, 'nobody', 'store'),
      '--db',
      join(f.dir, 'nobody', 'run.sqlite'),
    ],
    code: 'INPUT_INVALID',
    message: /cannot read the input .*unreadable\.mp4: permission denied/,
    asNobody: true,
  },
  {
    command: 'run',
    args: (f) => ['run', f.video, '--out', '/proc/dp-no-such/store'],
    code: 'INPUT_INVALID',
    message: /--out.*\/proc\/dp-no-such/,
  },
  {
    command: 'run',
    args: (f) => ['run', f.video, '--out', join(f.dir, 's'), '--run-id', '../escape'],
    code: 'INPUT_INVALID',
    message: /--run-id "\.\.\/escape" is not a valid id/,
  },
  {
    command: 'run',
    args: (f) => ['run', f.video, '--out', join(f.dir, 's'), '--db', '/proc/dp-no-such/db.sqlite'],
    code: 'INPUT_INVALID',
    message: /profile database \/proc\/dp-no-such/,
  },
  // audit
  { command: 'audit', args: () => ['audit'], code: USAGE, message: /missing required argument 'run_dir'/ },
  {
    command: 'audit',
    args: () => ['audit', 's3://bkt/prefix'],
    code: 'INPUT_INVALID',
    message: /does not name a run/,
  },
  // storage lifecycle
  {
    command: 'gc',
    args: (f) => ['gc', '--out', join(f.dir, 'gc-store'), '--frames-ttl-days', 'abc'],
    code: 'INPUT_INVALID',
    message: /--frames-ttl-days must be a number of days/,
  },
  {
    command: 'gc',
    args: () => ['gc', '--out', 's3://x/store'],
    code: 'INPUT_INVALID',
    message: /bucket name "x"/,
  },
  {
    command: 'gc',
    args: (f) => ['gc', '--out', join(f.dir, 'gc-store'), '--now', 'yesterday'],
    code: 'INPUT_INVALID',
    message: /--now must be an ISO-8601 time/,
  },
  {
    command: 'delete',
    args: (f) => ['delete', '--out', join(f.dir, 'no-store'), '--platform-id', 'p', '--video-id', 'v'],
    code: 'INPUT_INVALID',
    message: /no-store: there is no result store there/,
  },
  {
    command: 'delete',
    args: () => ['delete', '--video-id', 'v'],
    code: USAGE,
    message: /required option '--platform-id/,
  },
  {
    command: 'delete',
    args: (f) => ['delete', '--out', join(f.dir, 'gc-store'), '--platform-id', 'p', '--video-id', '../x'],
    code: 'INPUT_INVALID',
    message: /--video-id "\.\.\/x" is not a valid id/,
  },
  {
    command: 'delete',
    args: () => [
      'delete',
      '--out',
      's3://bkt/store?endpoint=http://127.0.0.1:9&max_attempts=1',
      '--platform-id',
      'p',
      '--video-id',
      'v',
    ],
    code: 'STORAGE_IO',
    message: /HEAD bucket s3:\/\/bkt\/ failed/,
  },
  {
    command: 'audit',
    args: (f) => ['audit', join(f.dir, 'no-run')],
    code: 'INPUT_INVALID',
    message: /no-run does not exist/,
  },
  {
    command: 'audit',
    args: (f) => ['audit', f.notVideo],
    code: 'INPUT_INVALID',
    message: /is not a directory/,
  },
  {
    command: 'audit',
    args: (f) => ['audit', f.unreadableDir],
    code: 'STORAGE_IO',
    message: /EACCES/,
    asNobody: true,
  },
  // profiles list / show
  {
    command: 'profiles list',
    args: () => ['profiles', 'list', '--db', '/proc/dp-no-such/db.sqlite'],
    code: 'INPUT_INVALID',
    message: /\/proc\/dp-no-such/,
  },
  {
    command: 'profiles list',
    args: (f) => ['profiles', 'list', '--db', f.dir],
    code: 'INPUT_INVALID',
    message: /is a directory/,
  },
  {
    command: 'profiles list',
    args: (f) => ['profiles', 'list', '--db', f.notVideo],
    code: 'INPUT_INVALID',
    message: /not a database/,
  },
  {
    command: 'profiles list',
    args: (f) => ['profiles', 'list', '--db', f.unreadable],
    code: 'STORAGE_IO',
    message: /unable to open/,
    asNobody: true,
  },
  {
    command: 'profiles show',
    args: (f) => ['profiles', 'show', 'nope', '--db', f.db],
    code: 'INPUT_INVALID',
    message: /Unknown profile "nope"/,
  },
  // profiles create
  {
    command: 'profiles create',
    args: (f) => ['profiles', 'create', 'x', '--db', f.db],
    code: 'INPUT_INVALID',
    message: /needs --components/,
  },
  {
    command: 'profiles create',
    args: (f) => ['profiles', 'create', 'x', '--components', 'loudness,segmenter', '--db', f.db],
    code: 'INPUT_INVALID',
    message:
      /"loudness", "segmenter" are not components of generation baseline \(known: .*loudness_extractor/,
  },
  {
    command: 'profiles create',
    args: (f) => ['profiles', 'create', '../x', '--components', 'ocr', '--db', f.db],
    code: 'INPUT_INVALID',
    message: /name: 1–64 characters/,
  },
  {
    command: 'profiles create',
    args: (f) => ['profiles', 'create', 'default', '--components', 'ocr', '--db', f.db],
    code: 'INPUT_INVALID',
    message: /default is built in/,
  },
  {
    command: 'profiles create',
    args: (f) => ['profiles', 'create', 'mine', '--components', 'ocr', '--db', f.db],
    code: 'INPUT_INVALID',
    message: /mine exists already.*--force/,
  },
  {
    command: 'profiles create',
    args: (f) => [
      'profiles',
      'create',
      'x',
      '--components',
      'core_clip',
      '--model',
      'core_clip=no-such-model',
      '--db',
      f.db,
    ],
    code: 'INPUT_INVALID',
    message: /no model no-such-model in the registry/,
  },
  // profiles import
  {
    command: 'profiles import',
    args: (f) => ['profiles', 'import', join(f.dir, 'nope.yaml'), '--db', f.db],
    code: 'INPUT_INVALID',
    message: /nope\.yaml.*ENOENT/,
  },
  {
    command: 'profiles import',
    args: (f) => ['profiles', 'import', f.dir, '--db', f.db],
    code: 'INPUT_INVALID',
    message: /EISDIR/,
  },
  {
    command: 'profiles import',
    args: (f) => ['profiles', 'import', f.badYaml, '--db', f.db],
    code: 'INPUT_INVALID',
    message: /neither YAML nor JSON/,
  },
  {
    command: 'profiles import',
    args: (f) => ['profiles', 'import', f.notProfile, '--db', f.db],
    code: 'INPUT_INVALID',
    message: /invalid profile .*generation/,
  },
  {
    command: 'profiles import',
    args: (f) => ['profiles', 'import', f.unreadable, '--db', join(f.dir, 'nobody', 'db.sqlite')],
    code: 'STORAGE_IO',
    message: /EACCES/,
    asNobody: true,
  },
  // profiles export
  {
    command: 'profiles export',
    args: (f) => ['profiles', 'export', 'nope', '--db', f.db],
    code: 'INPUT_INVALID',
    message: /Unknown profile "nope"/,
  },
  {
    command: 'profiles export',
    args: (f) => ['profiles', 'export', 'default', '--format', 'toml', '--db', f.db],
    code: USAGE,
    message: /Allowed choices are yaml, json/,
  },
  {
    command: 'profiles export',
    args: (f) => ['profiles', 'export', 'default', '--out', join(f.dir, 'no-dir', 'p.yaml'), '--db', f.db],
    code: 'INPUT_INVALID',
    message: /cannot write --out .*ENOENT/,
  },
  {
    command: 'profiles export',
    args: (f) => ['profiles', 'export', 'default', '--out', f.exportExisting, '--db', f.db],
    code: 'INPUT_INVALID',
    message: /exists; pass --force/,
  },
  // profiles delete
  {
    command: 'profiles delete',
    args: (f) => ['profiles', 'delete', 'default', '--db', f.db],
    code: 'INPUT_INVALID',
    message: /built in and cannot be deleted/,
  },
  {
    command: 'profiles delete',
    args: (f) => ['profiles', 'delete', 'nope', '--db', f.db],
    code: 'INPUT_INVALID',
    message: /Unknown profile "nope"/,
  },
  // models
  {
    command: 'models list',
    args: (f) => ['models', 'list', '--no-verify', '--model-dir', f.notVideo],
    code: 'INPUT_INVALID',
    message: /--model-dir .* is not a directory/,
  },
  {
    command: 'models verify',
    args: (f) => ['models', 'verify', 'nope', '--model-dir', f.modelDir],
    code: 'MODEL_NOT_FOUND',
    message: /no model nope in the registry/,
  },
  {
    command: 'models install',
    args: (f) => ['models', 'install', 'nope', '--from', f.dir, '--model-dir', f.modelDir],
    code: 'MODEL_NOT_FOUND',
    message: /no model nope/,
  },
  {
    command: 'models install',
    args: (f) => [
      'models',
      'install',
      'clip-vit-b32-vision',
      '--from',
      f.dir,
      '--model-dir',
      '/proc/dp-no-such/models',
    ],
    code: 'INPUT_INVALID',
    message: /--model-dir.*\/proc\/dp-no-such/,
  },
  // the program itself
  { command: '(none)', args: () => ['nope'], code: USAGE, message: /unknown command 'nope'/ },
];

/** Every command and subcommand the CLI has, read from its own `--help` output. */
async function listedCommands(): Promise<string[]> {
  const names = (help: string): string[] =>
    [...(help.split(/^Commands:$/m)[1] ?? '').matchAll(/^ {2}(\S+)/gm)]
      .map((m) => m[1] ?? '')
      .filter((n) => n !== 'help');
  const top = names((await cli(['--help'])).stdout);
  const all: string[] = [];
  for (const name of top) {
    const subs = names((await cli([name, '--help'])).stdout);
    all.push(...(subs.length > 0 ? subs.map((s) => `${name} ${s}`) : [name]));
  }
  return all;
}

describe('every command fails clearly on bad input', () => {
  const dir = makeTempDir('cli-errors');
  const f: Fixtures = {
    dir,
    video: join(dir, 'six_seconds.mp4'),
    notVideo: join(dir, 'notes.txt'),
    unreadable: join(dir, 'unreadable.mp4'),
    unreadableDir: join(dir, 'unreadable-run'),
    db: join(dir, 'profiles.sqlite'),
    userProfile: join(dir, 'mine.yaml'),
    badYaml: join(dir, 'bad.yaml'),
    notProfile: join(dir, 'not-a-profile.json'),
    exportExisting: join(dir, 'existing.yaml'),
    modelDir: join(dir, 'models'),
  };
  let outcomes: Outcome[] = [];

  beforeAll(async () => {
    // Readable by `nobody`, except the two things that must not be.
    chmodSync(dir, 0o777);
    mkdirSync(join(dir, 'nobody'), { mode: 0o777 });
    chmodSync(join(dir, 'nobody'), 0o777);
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=5:duration=6', '-pix_fmt', 'yuv420p', f.video]);
    chmodSync(f.video, 0o644);
    writeFileSync(f.notVideo, 'not a video\n');
    writeFileSync(f.unreadable, readFileSync(f.video));
    chmodSync(f.unreadable, 0o000);
    mkdirSync(f.unreadableDir, { mode: 0o000 });
    chmodSync(f.unreadableDir, 0o000);
    writeFileSync(f.badYaml, 'name: [unclosed\n');
    writeFileSync(f.notProfile, JSON.stringify({ name: 'x', components: 'ocr' }));
    writeFileSync(f.exportExisting, 'keep me\n');
    writeFileSync(
      f.userProfile,
      'name: mine\ndescription: loudness only\ngeneration: baseline\ncomponents:\n  - { name: loudness_extractor }\n',
    );
    const created = await cli(['profiles', 'import', f.userProfile, '--db', f.db]);
    expect(created.code, created.stderr).toBe(0);
    outcomes = await pool(CASES.map((c) => () => cli(c.args(f), { asNobody: c.asNobody === true })));
  }, 600_000);

  it('the table covers every command and subcommand that --help lists', async () => {
    const listed = await listedCommands();
    expect(listed).toEqual(
      expect.arrayContaining(['run', 'audit', 'profiles list', 'profiles create', 'models install']),
    );
    const covered = new Set(CASES.map((c) => c.command));
    expect(listed.filter((name) => !covered.has(name))).toEqual([]);
  });

  it.each(CASES.map((c, i) => [`${c.args(f).join(' ')} → ${c.code}`, i] as const))('%s', (_title, i) => {
    const c = CASES[i] as Case;
    expectOneLineError(outcomes[i] as Outcome, c.code, c.message);
  });

  it('the export target a failed export names is left as it was', () => {
    expect(readFileSync(f.exportExisting, 'utf8')).toBe('keep me\n');
  });

  it('--json reports the error as one JSON object on stdout, with the same code and a hint', async () => {
    const out = await cli(['audit', join(dir, 'no-run'), '--json']);
    expect(out.code).toBe(EXIT.get('INPUT_INVALID'));
    const lines = out.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      type: 'error',
      error_code: 'INPUT_INVALID',
      retryable: false,
      hint: expect.stringMatching(/\S/) as unknown,
    });
    expect(out.stderr).toBe('');
  });

  it('--debug (before or after the command) adds the stack trace, including the cause', async () => {
    for (const args of [
      ['--debug', 'audit', join(dir, 'no-run')],
      ['profiles', 'list', '--db', f.dir, '--debug'],
    ]) {
      const out = await cli(args);
      expect(out.code).toBe(EXIT.get('INPUT_INVALID'));
      expect(out.stderr).toMatch(/^error \[INPUT_INVALID\]/);
      expect(out.stderr).toMatch(STACK_LINE);
    }
    const withCause = await cli(['profiles', 'list', '--db', f.dir, '--debug']);
    expect(withCause.stderr).toMatch(/caused by: Error: it is a directory/);
  });
});

describe('a closed stdout (`… | head`) ends the command quietly', () => {
  const dir = makeTempDir('cli-epipe');

  it.each([
    // audit of a directory that is no run: many FAIL lines, exit 1 (the verdict is kept)
    ['audit', () => ['audit', dir], 1],
    ['audit --json', () => ['audit', dir, '--json'], 1],
    ['profiles list', () => ['profiles', 'list', '--db', join(dir, 'db.sqlite')], 0],
    ['profiles export', () => ['profiles', 'export', 'default', '--db', join(dir, 'db.sqlite')], 0],
    ['models list', () => ['models', 'list', '--no-verify', '--model-dir', join(dir, 'models')], 0],
    ['--help', () => ['--help'], 0],
  ] as const)('%s', async (_name, args, code) => {
    const out = await cli(args(), { closeStdout: true });
    expect(out.stderr).toBe('');
    expect(out.signal).toBeNull();
    expect(out.code).toBe(code);
  });
});
