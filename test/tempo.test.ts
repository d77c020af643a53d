// tempo_extractor through the real decode path: a generated rhythm muxed as AAC into an MP4 with
// a video stream, run by the orchestrator (Segmenter → audio track → component), read back by
// numpy, and audited by `dataprocessor audit`. Also the R-NPZ-3 empty cases, for tempo_extractor
// and loudness_extractor side by side: no audio stream, digital silence, too short.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditRun } from '../src/audit/index.js';
import { runVideo, type Profile, type RunOutcome } from '../src/orchestrator/index.js';
import {
  beatFMeasure,
  drumPattern,
  clickTrack,
  writeFloatWav,
  type RhythmSignal,
} from './support/audio-signals.js';
import { ffmpeg, makeShotVideo, makeTempDir } from './support/media.js';
import { loadNpzWithNumpy } from './support/numpy.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'dataprocessor.js');
const dir = makeTempDir('tempo');
const store = join(dir, 'store');

/**
 * The profile given in full (the default profile is the orchestrator's to change). cut_detection
 * is in it because the Segmenter fails a profile that reads no frames at all ("pipe:%d: Invalid
 * argument", the frame decode with an empty frame set), which is the Segmenter's to fix.
 */
const AUDIO_PROFILE: Profile = {
  name: 'test-audio',
  description: 'loudness and tempo (and cut_detection, so that the Segmenter decodes frames)',
  generation: 'baseline',
  components: [
    { name: 'loudness_extractor', required: true },
    { name: 'tempo_extractor', required: true },
    { name: 'cut_detection', required: false },
  ],
};

/** An MP4 of a 320×180 test pattern with `audio` (stereo, 48 kHz) encoded as AAC 192k. */
function muxVideo(name: string, audio: Float32Array | 'silence', seconds: number): string {
  const video = join(dir, `${name}.mp4`);
  const audioInput =
    audio === 'silence'
      ? ['-f', 'lavfi', '-i', `anullsrc=r=48000:cl=stereo:d=${seconds}`]
      : (() => {
          const wav = join(dir, `${name}.wav`);
          writeFloatWav(wav, [audio, audio], 48000);
          return ['-i', wav];
        })();
  ffmpeg([
    ...['-f', 'lavfi', '-i', `testsrc2=s=320x180:r=25:d=${seconds}`],
    ...audioInput,
    ...['-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast'],
    ...['-c:a', 'aac', '-b:a', '192k', '-t', String(seconds), video],
  ]);
  return video;
}

async function run(
  video: string,
  runId: string,
  segmenter: Record<string, unknown> = {},
): Promise<RunOutcome> {
  return runVideo({
    videoPath: video,
    storeRoot: store,
    videoId: 'v',
    runId,
    profile: AUDIO_PROFILE,
    config: { segmenter },
  });
}

function entry(outcome: RunOutcome, name: string): RunOutcome['manifest']['components'][number] | undefined {
  return outcome.manifest.components.find((c) => c.name === name);
}

function cliAudit(runDir: string): { code: number | null; stdout: string } {
  const r = spawnSync(process.execPath, [BIN, 'audit', runDir], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout };
}

describe('tempo_extractor on AAC in MP4 through the orchestrator', () => {
  let signal: RhythmSignal;
  let outcome: RunOutcome;
  beforeAll(async () => {
    signal = drumPattern({ bpm: 112.7, seconds: 12, swing: true, noiseDb: -20 });
    outcome = await run(muxVideo('drums', signal.samples, 12), 'drums');
  }, 120_000);

  it('runs ok and writes tempo.npz that numpy loads with the declared dtypes and shapes', () => {
    expect(outcome.status).toBe('ok');
    expect(entry(outcome, 'tempo_extractor')).toMatchObject({ status: 'ok', error_code: null });
    const { arrays, meta } = loadNpzWithNumpy(join(outcome.runDir, 'tempo_extractor', 'tempo.npz'));
    expect(arrays.tempo_bpm).toMatchObject({ dtype: '<f4', shape: [] });
    expect(arrays.tempo_confidence).toMatchObject({ dtype: '<f4', shape: [] });
    expect(arrays.beat_times_sec?.dtype).toBe('<f4');
    expect(arrays.onset_strength?.dtype).toBe('<f4');
    expect(arrays.onset_times_sec?.shape).toEqual(arrays.onset_strength?.shape);
    // The decoded track is the video's 12 s (AAC priming is trimmed by ffmpeg's decoder).
    expect(Math.abs((arrays.onset_strength?.shape[0] ?? 0) - 1201)).toBeLessThanOrEqual(3);
    expect(meta).toMatchObject({ status: 'ok', empty_reason: null, tempo_null_reason: null, hop_sec: 0.01 });
  });

  it('reads the generator tempo within ±4 % and its beats with F ≥ 0.95 (±70 ms) after AAC', () => {
    const { arrays } = loadNpzWithNumpy(join(outcome.runDir, 'tempo_extractor', 'tempo.npz'));
    const bpm = arrays.tempo_bpm?.values as number;
    const beats = arrays.beat_times_sec?.values as number[];
    const f = beatFMeasure(beats, signal.beatsSec);
    console.log(`AAC/MP4 path: ${bpm.toFixed(2)} BPM for 112.7 (F ${f.toFixed(3)}, ${beats.length} beats)`);
    expect(Math.abs(bpm / 112.7 - 1)).toBeLessThan(0.04);
    expect(f).toBeGreaterThanOrEqual(0.95);
    expect(arrays.tempo_confidence?.values).toBeGreaterThan(0.3);
  });

  it('passes dataprocessor audit', () => {
    const audit = cliAudit(outcome.runDir);
    expect(audit.stdout).toContain('AUDIT PASS');
    expect(audit.code).toBe(0);
  });
});

describe('tempo_extractor config through runVideo', () => {
  it('an inverted BPM range is INPUT_INVALID naming the field, before a run directory exists', async () => {
    const failure = await runVideo({
      videoPath: join(dir, 'never-read.mp4'),
      storeRoot: store,
      videoId: 'v',
      runId: 'bad-config',
      profile: AUDIO_PROFILE,
      config: { components: { tempo_extractor: { min_bpm: 200, max_bpm: 100 } } },
    }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'INPUT_INVALID' });
    expect((failure as Error).message).toContain('tempo_extractor.min_bpm: min_bpm must be below max_bpm');
    expect(existsSync(join(store, 'local', 'v', 'bad-config'))).toBe(false);
  });
});

describe('R-NPZ-3 empty cases: tempo_extractor and loudness_extractor agree', () => {
  it('no audio stream: both empty with no_audio_stream, NaN scalars, zero-length series; audit passes', async () => {
    const video = join(dir, 'silent-film.mp4');
    makeShotVideo(video, { width: 320, height: 180, shotSeconds: [3, 3], toneDbfs: null });
    const outcome = await run(video, 'no-audio');
    expect(outcome.status).toBe('ok');
    for (const name of ['tempo_extractor', 'loudness_extractor'])
      expect(entry(outcome, name)).toMatchObject({ status: 'empty' });
    const tempo = loadNpzWithNumpy(join(outcome.runDir, 'tempo_extractor', 'tempo.npz'));
    expect(tempo.meta).toMatchObject({ status: 'empty', empty_reason: 'no_audio_stream', tempo_bpm: null });
    expect(tempo.arrays.tempo_bpm?.values).toBe('NaN');
    expect(tempo.arrays.onset_strength?.shape).toEqual([0]);
    const loudness = loadNpzWithNumpy(join(outcome.runDir, 'loudness_extractor', 'loudness.npz'));
    expect(loudness.meta).toMatchObject({ status: 'empty', empty_reason: 'no_audio_stream' });
    expect(loudness.arrays.integrated_lufs?.values).toBe('NaN');
    expect((await auditRun(outcome.runDir)).rules.filter((r) => !r.pass).map((r) => r.id)).toEqual([]);
  }, 120_000);

  it('digital silence: both empty with silent_audio, NaN series at their contract shape; audit passes', async () => {
    const outcome = await run(muxVideo('silence', 'silence', 6), 'silence');
    expect(outcome.status).toBe('ok');
    const tempo = loadNpzWithNumpy(join(outcome.runDir, 'tempo_extractor', 'tempo.npz'));
    expect(tempo.meta).toMatchObject({
      status: 'empty',
      empty_reason: 'silent_audio',
      tempo_null_reason: 'silent_audio',
    });
    const onset = tempo.arrays.onset_strength;
    expect(Math.abs((onset?.shape[0] ?? 0) - 601)).toBeLessThanOrEqual(3);
    expect((onset?.values as unknown[]).every((v) => v === 'NaN')).toBe(true);
    const loudness = loadNpzWithNumpy(join(outcome.runDir, 'loudness_extractor', 'loudness.npz'));
    expect(loudness.meta).toMatchObject({ status: 'empty', empty_reason: 'silent_audio' });
    expect((loudness.arrays.momentary_lufs?.values as unknown[]).every((v) => v === 'NaN')).toBe(true);
    expect((await auditRun(outcome.runDir)).rules.filter((r) => !r.pass).map((r) => r.id)).toEqual([]);
  }, 120_000);

  it('too short for the analysis window (2 s): tempo ok with NaN tempo and too_short; audit passes', async () => {
    const clicks = clickTrack({ bpm: 120, seconds: 2 }).samples;
    const outcome = await run(muxVideo('short', clicks, 2), 'short', { min_duration_sec: 1 });
    expect(outcome.status).toBe('ok');
    const tempo = loadNpzWithNumpy(join(outcome.runDir, 'tempo_extractor', 'tempo.npz'));
    expect(tempo.meta).toMatchObject({
      status: 'ok',
      tempo_bpm: null,
      tempo_null_reason: 'too_short',
      beat_count: 0,
    });
    expect(tempo.arrays.tempo_bpm?.values).toBe('NaN');
    expect(tempo.arrays.tempo_confidence?.values).toBe('NaN');
    expect(tempo.arrays.beat_times_sec?.shape).toEqual([0]);
    // Loudness has a 400 ms block, so 2 s is enough for it; its 3 s range window is not.
    const loudness = loadNpzWithNumpy(join(outcome.runDir, 'loudness_extractor', 'loudness.npz'));
    expect(loudness.meta).toMatchObject({ status: 'ok', loudness_range_null_reason: 'too_short' });
    expect(loudness.arrays.loudness_range_lu?.values).toBe('NaN');
    expect(cliAudit(outcome.runDir).code).toBe(0);
  }, 120_000);
});
