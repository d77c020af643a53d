// The component end to end through its worker thread (from TypeScript sources, as tests run):
// contract shapes, meta, empty cases, progress, errors, and that the event loop stays free.
import { memoryScratchSpace, noDependencyInputs } from '../../../contracts/index.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkArrays,
  type AudioAccess,
  type ComponentContext,
  type ComponentResult,
  type RunIdentity,
} from '../../../contracts/index.js';
import { loudnessExtractor, type LoudnessExtractorConfig } from './loudness_extractor.js';

const dir = mkdtempSync(join(tmpdir(), 'dp-loudness-extractor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const identity: RunIdentity = {
  platform_id: 'p',
  video_id: 'v',
  run_id: 'r',
  config_hash: 'c'.repeat(64),
  sampling_policy_version: 'sp_v1',
  dataprocessor_version: 'test',
};

function context(
  audio: AudioAccess,
  options: { config?: unknown; progress?: [number, number][]; signal?: AbortSignal } = {},
): ComponentContext<LoudnessExtractorConfig> {
  return {
    identity,
    runDir: dir,
    config: loudnessExtractor.configSchema.parse(options.config ?? {}),
    frames: null,
    audio,
    progress: (done, total) => options.progress?.push([done, total]),
    signal: options.signal ?? new AbortController().signal,
    inputs: noDependencyInputs('test'),
    scratch: memoryScratchSpace(),
    document: null,
  };
}

/** A stereo (or mono) 48 kHz float32 WAV from an aevalsrc expression, as the Segmenter writes. */
function wav(name: string, expression: string, seconds: number, channels = 2): AudioAccess {
  const path = join(dir, `${name}.wav`);
  const expressions = Array.from({ length: channels }, () => expression).join('|');
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `aevalsrc=${expressions}:s=48000:d=${seconds}`],
    ...['-c:a', 'pcm_f32le', path],
  ]);
  return { hasAudio: true, wavPath: path, sampleRate: 48000, channels, durationSec: seconds };
}

/** Checks a result against the component's declared NPZ schema and meta schema. */
function expectContract(result: ComponentResult): void {
  expect(checkArrays(loudnessExtractor.schema, result.arrays)).toEqual([]);
  expect(loudnessExtractor.schema.meta?.safeParse(result.meta).success).toBe(true);
  expect(JSON.stringify(result.meta)).not.toMatch(/Infinity|NaN/);
}

const scalarOf = (result: ComponentResult, name: string): number => result.arrays[name]?.data[0] as number;

describe('loudness_extractor', () => {
  it('measures a −18 dBFS stereo tone in a worker thread, reports progress, and fits its contract', async () => {
    const progress: [number, number][] = [];
    const tone = 10 ** (-18 / 20);
    const result = await loudnessExtractor.run(
      context(wav('tone', `${tone}*sin(2*PI*1000*t)`, 12), { progress }),
    );
    expectContract(result);
    expect(result.status).toBe('ok');
    expect(result.emptyReason).toBeNull();
    expect(Math.abs((result.meta?.integrated_lufs as number) - -18)).toBeLessThanOrEqual(0.1);
    expect(scalarOf(result, 'integrated_lufs')).toBeCloseTo(result.meta?.integrated_lufs as number, 4);
    expect(Math.abs((result.meta?.true_peak_dbtp as number) - -18)).toBeLessThanOrEqual(0.1);
    expect(result.meta).toMatchObject({
      integrated_null_reason: null,
      sample_rate: 48000,
      channels: 2,
      hop_sec: 0.1,
    });
    expect(result.arrays.momentary_lufs?.shape).toEqual([120]);
    expect(result.arrays.integrated_lufs?.shape).toEqual([]);
    expect(progress.at(-1)).toEqual([576000, 576000]);
  });

  it('keeps the event loop free while the DSP runs (worker thread)', async () => {
    // Event-loop utilisation of this thread: ~1.0 if the meter ran here (measured), ~0 in a worker.
    const audio = wav('long', '0.1*sin(2*PI*1000*t)', 20);
    const before = performance.eventLoopUtilization();
    const result = await loudnessExtractor.run(context(audio));
    expect(result.status).toBe('ok');
    expect(performance.eventLoopUtilization(before).utilization).toBeLessThan(0.5);
  });

  it('honours hop_sec and rejects a hop that is not a multiple of 10 ms, naming the field', async () => {
    const result = await loudnessExtractor.run(
      context(wav('hop', '0.1*sin(2*PI*1000*t)', 5), { config: { hop_sec: 0.5 } }),
    );
    expect(result.arrays.times_sec?.data).toEqual(
      Float32Array.from([0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5]),
    );
    const bad = loudnessExtractor.configSchema.safeParse({ hop_sec: 0.015 });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['hop_sec']);
    expect(loudnessExtractor.configSchema.safeParse({ hop: 0.1 }).success).toBe(false);
  });

  it('is empty with no_audio_stream when the video has no audio (NaN scalars, T = 0)', async () => {
    const result = await loudnessExtractor.run(
      context({ hasAudio: false, wavPath: null, sampleRate: 48000, channels: 0, durationSec: 0 }),
    );
    expectContract(result);
    expect(result).toMatchObject({ status: 'empty', emptyReason: 'no_audio_stream' });
    expect(result.meta).toMatchObject({ integrated_lufs: null, integrated_null_reason: 'no_audio_stream' });
    expect(Number.isNaN(scalarOf(result, 'integrated_lufs'))).toBe(true);
    expect(result.arrays.momentary_lufs?.shape).toEqual([0]);
  });

  it('is empty with silent_audio on digital silence (NaN series at their contract shape)', async () => {
    const result = await loudnessExtractor.run(context(wav('silence', '0', 4)));
    expectContract(result);
    expect(result).toMatchObject({ status: 'empty', emptyReason: 'silent_audio' });
    expect(result.meta).toMatchObject({ integrated_null_reason: 'silent_audio', true_peak_dbtp: null });
    expect(result.arrays.short_term_lufs?.shape).toEqual([40]);
    expect((result.arrays.short_term_lufs?.data as Float32Array).every(Number.isNaN)).toBe(true);
  });

  it('a 0.3 s track is ok with integrated null and reason too_short', async () => {
    const result = await loudnessExtractor.run(context(wav('short', '0.1*sin(2*PI*1000*t)', 0.3, 1)));
    expectContract(result);
    expect(result.status).toBe('ok');
    expect(result.meta).toMatchObject({
      integrated_lufs: null,
      integrated_null_reason: 'too_short',
      channels: 1,
    });
    expect(Number.isNaN(scalarOf(result, 'integrated_lufs'))).toBe(true);
    expect(Number.isFinite(scalarOf(result, 'true_peak_dbtp'))).toBe(true);
  });

  it('fails with DEPENDENCY_MISSING when the audio track is gone, CONTRACT_VIOLATION when it is not a WAV', async () => {
    const missing = {
      hasAudio: true,
      wavPath: join(dir, 'absent.wav'),
      sampleRate: 48000,
      channels: 2,
      durationSec: 1,
    };
    await expect(loudnessExtractor.run(context(missing))).rejects.toMatchObject({
      code: 'DEPENDENCY_MISSING',
    });
    const notWav = join(dir, 'not.wav');
    execFileSync('sh', ['-c', `printf 'hello world, not a wav' > '${notWav}'`]);
    await expect(loudnessExtractor.run(context({ ...missing, wavPath: notWav }))).rejects.toMatchObject({
      code: 'CONTRACT_VIOLATION',
    });
  });
});
