// End-to-end: the real CLI on generated videos, checked by numpy, ffmpeg and the auditor.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  copyFileSync,
  truncateSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNpzWithNumpy } from './support/numpy.js';
import { makeShotVideo, makeTempDir, ffmpeg } from './support/media.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'dataprocessor.js');

function cli(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...env, NO_COLOR: '1' },
    timeout: 400_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const IDENTITY = [
  'platform_id',
  'video_id',
  'run_id',
  'config_hash',
  'sampling_policy_version',
  'dataprocessor_version',
];

describe('dataprocessor run (default profile) on a 3-shot video with a -23 dBFS tone', () => {
  const dir = makeTempDir('cli');
  const video = join(dir, 'three_shots.mp4');
  const store = join(dir, 'store');
  let truth: { cutFrames: number[]; frames: number };
  let runDir: string;
  let result: ReturnType<typeof cli>;

  beforeAll(() => {
    truth = makeShotVideo(video, { shotSeconds: [3, 4, 3], fps: 25, toneDbfs: -23 });
    result = cli(['run', video, '--out', store, '--video-id', 'vid1', '--run-id', 'r1']);
    runDir = join(store, 'local', 'vid1', 'r1');
  });

  it('exits 0 and prints the run directory and a summary table', () => {
    expect(result.stderr).not.toMatch(/error \[/);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(runDir);
    expect(result.stdout).toMatch(/loudness_extractor.*ok/);
  });

  it('writes NPZ files numpy loads with allow_pickle=False, whose meta identity agrees with the manifest', () => {
    const manifest = JSON.parse(readFileSync(join(runDir, 'manifest.json'), 'utf8')) as {
      run: Record<string, unknown>;
      components: { name: string; status: string; artifacts: { path: string }[] }[];
    };
    const frames = JSON.parse(readFileSync(join(runDir, 'frames_dir', 'metadata.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const allNpz = manifest.components
      .flatMap((c) => c.artifacts.map((a) => a.path))
      .filter((p) => p.endsWith('.npz'));
    // The Segmenter's every-frame signal is an NPZ of frames_dir (checked with it by the audit),
    // not a component artifact with an R-NPZ meta.
    expect(allNpz).toContain('frames_dir/frame_signal.npz');
    const npzPaths = allNpz.filter((p) => !p.startsWith('frames_dir/'));
    expect(npzPaths.sort()).toEqual([
      'core_face_landmarks/face_landmarks.npz',
      'core_object_detections/object_detections.npz',
      'cut_detection/cut_detection.npz',
      'emotion_face/emotion_face.npz',
      'loudness_extractor/loudness.npz',
      'ocr/ocr.npz',
      'shot_quality/shot_quality.npz',
      'tempo_extractor/tempo.npz',
      'text_processor/text_features.npz',
    ]);
    for (const p of npzPaths) {
      const { meta } = loadNpzWithNumpy(join(runDir, p));
      for (const key of [
        ...IDENTITY,
        'producer',
        'producer_version',
        'schema_version',
        'created_at',
        'status',
        'empty_reason',
      ]) {
        expect(meta, `${p} meta.${key}`).toHaveProperty(key);
      }
      for (const key of IDENTITY) {
        expect(meta[key], `${p} ${key}`).toBe(manifest.run[key]);
        expect(frames[key], `frames ${key}`).toBe(manifest.run[key]);
      }
    }
  });

  it('finds the cuts at the generated frames (±1)', () => {
    const { arrays } = loadNpzWithNumpy(join(runDir, 'cut_detection', 'cut_detection.npz'));
    const cuts = arrays.source_cut_frame_indices?.values as number[];
    expect(cuts).toHaveLength(truth.cutFrames.length);
    cuts.forEach((c, i) => expect(Math.abs(c - (truth.cutFrames[i] ?? -99))).toBeLessThanOrEqual(1));
    const times = arrays.cut_times_sec?.values as number[];
    times.forEach((t, i) => expect(t).toBeCloseTo((cuts[i] ?? 0) / 25, 3));
  });

  it('measures integrated loudness within 0.2 LU of ffmpeg ebur128 on the same file', () => {
    const { arrays } = loadNpzWithNumpy(join(runDir, 'loudness_extractor', 'loudness.npz'));
    const ours = arrays.integrated_lufs?.values as number;
    const r = spawnSync(
      'ffmpeg',
      ['-hide_banner', '-nostats', '-i', video, '-map', '0:a', '-af', 'ebur128', '-f', 'null', '-'],
      { encoding: 'utf8' },
    );
    const match = /Integrated loudness:\s+I:\s+(-?[\d.]+) LUFS/.exec(r.stderr);
    expect(match).not.toBeNull();
    expect(Math.abs(ours - Number(match?.[1]))).toBeLessThanOrEqual(0.2);
    expect(Math.abs(ours - -23)).toBeLessThanOrEqual(0.3);
  });

  it('removes the _tmp_* scratch (the raw OCR handoff) when the run ends, without --store-raw-payload (R-PRV-2)', () => {
    const manifest = JSON.parse(readFileSync(join(runDir, 'manifest.json'), 'utf8')) as {
      components: { name: string; status: string }[];
    };
    // OCR ran (so a handoff was written during the run), yet no scratch is left.
    expect(manifest.components.find((c) => c.name === 'ocr')?.status).toMatch(/ok|empty/);
    expect(readdirSync(runDir).filter((n) => n.startsWith('_tmp_'))).toEqual([]);
  });

  it('passes dataprocessor audit', () => {
    const audit = cli(['audit', runDir]);
    expect(audit.stdout).toContain('AUDIT PASS');
    expect(audit.stdout).not.toContain('FAIL');
    expect(audit.code).toBe(0);
  });

  it('refuses to overwrite an existing run', () => {
    const again = cli(['run', video, '--out', store, '--video-id', 'vid1', '--run-id', 'r1']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('INPUT_INVALID');
  });
});

describe('empty audio cases are valid artifacts, not errors (R-NPZ-3)', () => {
  const dir = makeTempDir('empty');
  const store = join(dir, 'store');

  function runAndRead(
    video: string,
    runId: string,
  ): { meta: Record<string, unknown>; integrated: unknown; auditCode: number | null } {
    const r = cli(['run', video, '--out', store, '--video-id', 'v', '--run-id', runId]);
    expect(r.code, r.stderr).toBe(0);
    const runDir = join(store, 'local', 'v', runId);
    const { meta, arrays } = loadNpzWithNumpy(join(runDir, 'loudness_extractor', 'loudness.npz'));
    return { meta, integrated: arrays.integrated_lufs?.values, auditCode: cli(['audit', runDir]).code };
  }

  it('a video without an audio stream gives loudness status=empty, no_audio_stream, NaN values, and passes audit', () => {
    const video = join(dir, 'silent_video.mp4');
    makeShotVideo(video, { shotSeconds: [3, 3], toneDbfs: null });
    const { meta, integrated, auditCode } = runAndRead(video, 'noaudio');
    expect(meta.status).toBe('empty');
    expect(meta.empty_reason).toBe('no_audio_stream');
    expect(meta.integrated_lufs).toBeNull();
    expect(integrated).toBe('NaN');
    expect(auditCode).toBe(0);
  });

  it('a digitally silent track gives status=empty, silent_audio, and passes audit', () => {
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=320x240:r=25:d=6',
      '-f',
      'lavfi',
      '-i',
      'anullsrc=r=48000:cl=stereo',
      '-t',
      '6',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-c:a',
      'pcm_s16le',
      join(dir, 'silence.mkv'),
    ]);
    const { meta, auditCode } = runAndRead(join(dir, 'silence.mkv'), 'silent');
    expect(meta.status).toBe('empty');
    expect(meta.empty_reason).toBe('silent_audio');
    expect(auditCode).toBe(0);
  });
});

describe('dataprocessor run on bad input', () => {
  const dir = makeTempDir('bad');
  const store = join(dir, 'store');

  function expectNoRun(): void {
    const platformDir = join(store, 'local');
    if (!existsSync(platformDir)) return;
    for (const video of readdirSync(platformDir)) expect(readdirSync(join(platformDir, video))).toEqual([]);
  }

  it('a 0.5 s video fails with INPUT_TOO_SHORT and leaves no run', () => {
    const p = join(dir, 'short.mp4');
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=320x240:r=25:d=0.5',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      p,
    ]);
    const r = cli(['run', p, '--out', store, '--json']);
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { error_code?: string };
    expect(last.error_code).toBe('INPUT_TOO_SHORT');
    expect(r.code).toBe(11);
    expectNoRun();
  });

  it('a truncated file fails with INPUT_UNREADABLE, exit 10, and leaves no run', () => {
    const p = join(dir, 'truncated.mp4');
    makeShotVideo(p, { shotSeconds: [3, 3], toneDbfs: -23 });
    truncateSync(p, Math.floor(statSync(p).size / 3));
    const r = cli(['run', p, '--out', store]);
    expect(r.code).toBe(10);
    expect(r.stderr).toContain('INPUT_UNREADABLE');
    expectNoRun();
  });

  it('a text file renamed .mp4 fails with INPUT_UNREADABLE, exit 10', () => {
    const p = join(dir, 'notes.mp4');
    writeFileSync(p, 'this is not a video\n'.repeat(100));
    const r = cli(['run', p, '--out', store]);
    expect(r.code).toBe(10);
    expect(r.stderr).toContain('INPUT_UNREADABLE');
    expectNoRun();
  });

  it('an ffconcat script named .mp4 is refused by the format whitelist and reads nothing', () => {
    const real = join(dir, 'real.mp4');
    makeShotVideo(real, { shotSeconds: [6], toneDbfs: null });
    const p = join(dir, 'playlist.mp4');
    writeFileSync(p, `ffconcat version 1.0\nfile '${real}'\n`);
    const r = cli(['run', p, '--out', store]);
    expect(r.code).toBe(10);
    expect(r.stderr).toContain('INPUT_UNREADABLE');
    expectNoRun();
  });

  it('ids that could traverse paths fail with INPUT_INVALID before touching disk', () => {
    const p = join(dir, 'ok.mp4');
    copyFileSync(join(dir, 'real.mp4'), p);
    for (const bad of ['../x', 'a/b', '', 'x'.repeat(200), '.hidden']) {
      const r = cli(['run', p, '--out', join(dir, 'never'), '--video-id', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toContain('INPUT_INVALID');
    }
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('a missing ffmpeg fails fast with TOOL_MISSING', () => {
    const r = cli(['run', join(dir, 'ok.mp4'), '--out', store], { ...process.env, PATH: '/nonexistent' });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('TOOL_MISSING');
  });
});
