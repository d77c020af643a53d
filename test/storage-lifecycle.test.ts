// Storage lifecycle on the local store (R-PRV-3, R-SEC-3), through the built CLI: retention GC with
// a fake clock (`gc --now`: after 7 days the frames are gone and the run still audits as
// frames_expired; after 60 days the run is gone; a running run is never collected), delete by
// video while a run of it is in progress (nothing of the video is left, the deletion is logged,
// a new run computes from scratch), and planted symlinks that run, gc and delete never follow.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalResultStore, collectGarbage, readDeletionLog } from '../src/storage/index.js';
import { ffmpeg, makeTempDir } from './support/media.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'dataprocessor.js');
const dir = makeTempDir('lifecycle');
const video = join(dir, 'v.mp4');
const store = join(dir, 'store');
const outside = join(dir, 'outside');
const DAY = 86_400_000;

interface Outcome {
  code: number | null;
  events: Record<string, unknown>[];
  stdout: string;
  stderr: string;
}

/** Runs the built CLI; `onEvent` sees each --json event as it arrives. */
function cli(args: string[], onEvent?: (event: Record<string, unknown>) => void): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' } });
    const events: Record<string, unknown>[] = [];
    let stdout = '';
    let stderr = '';
    let buffered = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      // --json events are one object a line; `audit --json` pretty-prints its report (a lone "{").
      for (const line of lines.filter((l) => l.startsWith('{"'))) {
        const event = JSON.parse(line) as Record<string, unknown>;
        events.push(event);
        onEvent?.(event);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, events, stdout, stderr }));
  });
}

const RUN = ['--out', store, '--set', 'segmenter.min_duration_sec=1', '--json'];
/** A component that keeps the run busy for seconds after the Segmenter (for the in-progress cases). */
const SLOW = ['--components', 'core_object_detections,loudness_extractor'];
const FAST = ['--components', 'cut_detection,loudness_extractor'];

/** Starts a run and resolves once its Segmenter has finished (the run is then in progress). */
function startRun(videoId: string, runId: string): { busy: Promise<void>; done: Promise<Outcome> } {
  let signal!: () => void;
  const busy = new Promise<void>((resolve) => (signal = resolve));
  const done = cli(['run', video, ...RUN, ...SLOW, '--video-id', videoId, '--run-id', runId], (e) => {
    if (e.type === 'stage_finished' && e.stage === 'segmenter') signal();
  });
  void done.then(() => signal());
  return { busy, done };
}

function gc(nowMs: number, ...extra: string[]): Promise<Outcome> {
  return cli(['gc', '--out', store, '--json', '--now', new Date(nowMs).toISOString(), ...extra]);
}

/** What retention collects of a run's frames: everything in frames_dir but its metadata.json. */
function framesOf(runDir: string): string[] {
  const frames = join(runDir, 'frames_dir');
  return readdirSync(frames, { recursive: true, encoding: 'utf8' })
    .filter(
      (f) => f !== 'metadata.json' && !statSync(join(frames, f), { throwIfNoEntry: false })?.isDirectory(),
    )
    .sort();
}

beforeAll(() => {
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=s=320x180:r=25,trim=duration=3',
    '-f',
    'lavfi',
    '-i',
    'sine=f=440:d=3',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    video,
  ]);
  mkdirSync(outside);
  writeFileSync(join(outside, 'keep.txt'), 'not the store’s to delete');
}, 60_000);

afterAll(() => {
  expect(readFileSync(join(outside, 'keep.txt'), 'utf8')).toBe('not the store’s to delete');
});

describe('retention GC', () => {
  it('expires frames after 7 days (the run still audits), removes the run after 60 days, never collects a running run', async () => {
    const first = await cli(['run', video, ...RUN, ...FAST, '--video-id', 'gcvid', '--run-id', 'r1']);
    expect(first.code, first.stderr).toBe(0);
    const runDir = join(store, 'local', 'gcvid', 'r1');
    const frames = framesOf(runDir);
    expect(frames.length).toBeGreaterThan(0);
    const frameBytes = frames.reduce((a, f) => a + statSync(join(runDir, 'frames_dir', f)).size, 0);
    // R-SEC-3: a symlink planted among the frames, pointing outside the store, is removed as a link.
    symlinkSync(join(outside, 'keep.txt'), join(runDir, 'frames_dir', 'batch_99999.npy'));
    const t0 = Date.now();

    expect((JSON.parse((await gc(t0 + DAY)).stdout) as { actions: unknown[] }).actions).toEqual([]);
    const dry = JSON.parse((await gc(t0 + 8 * DAY, '--dry-run')).stdout) as { actions: { kind: string }[] };
    expect(dry.actions.map((a) => a.kind)).toEqual(['frames']);
    expect(framesOf(runDir).length).toBe(frames.length + 1);

    const week = await gc(t0 + 8 * DAY);
    const report = JSON.parse(week.stdout) as {
      actions: { kind: string; bytes: number }[];
      bytes_freed: number;
    };
    expect(report.actions.map((a) => a.kind)).toEqual(['frames']);
    expect(report.bytes_freed).toBe(frameBytes);
    expect(existsSync(join(runDir, 'frames_dir', 'metadata.json'))).toBe(true);
    expect(framesOf(runDir)).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(runDir, 'manifest.json'), 'utf8')) as {
      run: { frames_expired_at: string };
    };
    expect(manifest.run.frames_expired_at).toBe(new Date(t0 + 8 * DAY).toISOString());
    const audit = await cli(['audit', runDir, '--json']);
    expect(audit.code, audit.stdout).toBe(0);
    expect(audit.stdout).toContain('frames_expired');

    // A run in progress at day 61 is kept (live lease); the finished one is removed.
    const running = startRun('gcvid', 'r2');
    await running.busy;
    const inProgress = await collectGarbage(new LocalResultStore(store), { now: () => t0 + 61 * DAY });
    expect(inProgress.running).toEqual(['local/gcvid/r2']);
    expect(inProgress.actions.filter((a) => a.kind === 'run').map((a) => a.run_id)).toEqual(['r1']);
    expect(existsSync(runDir)).toBe(false);
    const second = await running.done;
    expect(second.code, second.stderr).toBe(0);
    expect(existsSync(join(store, 'local', 'gcvid', 'r2', 'manifest.json'))).toBe(true);
  }, 300_000);
});

describe('delete by video', () => {
  it('deletes a video while a run of it is in progress: the run fails with VIDEO_DELETED, nothing is left, the deletion is logged, a new run computes from scratch', async () => {
    const finished = await cli(['run', video, ...RUN, ...FAST, '--video-id', 'dvid', '--run-id', 'r0']);
    expect(finished.code, finished.stderr).toBe(0);
    // R-SEC-3: a symlink in a run dir pointing outside the store: delete removes the link only.
    symlinkSync(outside, join(store, 'local', 'dvid', 'r0', 'evil'));

    const running = startRun('dvid', 'r1');
    await running.busy;
    const deleted = await cli([
      'delete',
      '--out',
      store,
      '--platform-id',
      'local',
      '--video-id',
      'dvid',
      '--json',
    ]);
    expect(deleted.code, deleted.stderr).toBe(0);
    const record = JSON.parse(deleted.stdout) as { runs: string[]; bytes: number; files: number };
    expect(record.runs).toEqual(['r0', 'r1']);
    expect(record.bytes).toBeGreaterThan(0);

    const interrupted = await running.done;
    expect(interrupted.code).toBe(8);
    expect(interrupted.events.at(-1)).toMatchObject({ type: 'error', error_code: 'VIDEO_DELETED' });
    expect(existsSync(join(store, 'local', 'dvid'))).toBe(false);

    const log = await readDeletionLog(new LocalResultStore(store));
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ platform_id: 'local', video_id: 'dvid', runs: ['r0', 'r1'] });
    expect(log[0]?.requested_by).toMatch(/^cli:/);

    const again = await cli(['run', video, ...RUN, ...FAST, '--video-id', 'dvid', '--run-id', 'r2']);
    expect(again.code, again.stderr).toBe(0);
    const stages = again.events.filter((e) => e.type === 'stage_finished');
    expect(stages.length).toBeGreaterThan(0);
    expect(stages.every((e) => e.cache_hit === false)).toBe(true);
  }, 300_000);

  it('refuses to run into a run directory that is a symlink out of the store (INPUT_INVALID, exit 2)', async () => {
    mkdirSync(join(store, 'local', 'linked'), { recursive: true });
    symlinkSync(outside, join(store, 'local', 'linked', 'r1'));
    const outcome = await cli(['run', video, ...RUN, ...FAST, '--video-id', 'linked', '--run-id', 'r1']);
    expect(outcome.code).toBe(2);
    expect(outcome.events.at(-1)).toMatchObject({ type: 'error', error_code: 'INPUT_INVALID' });
    expect(readdirSync(outside)).toEqual(['keep.txt']);
  }, 60_000);
});
