// The component end to end through its worker thread (from TypeScript sources, as tests run):
// contract shapes, meta, the empty cases, determinism, progress, config and error paths.
import { memoryScratchSpace, noDependencyInputs } from '../../../contracts/index.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
import {
  beatFMeasure,
  clickTrack,
  drumPattern,
  whiteNoise,
  writeFloatWav,
} from '../../../../test/support/audio-signals.js';
import { loudnessExtractor } from './loudness_extractor.js';
import { tempoExtractor, type TempoExtractorConfig } from './tempo_extractor.js';

const dir = mkdtempSync(join(tmpdir(), 'dp-tempo-extractor-'));
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
  options: { config?: unknown; progress?: [number, number][] } = {},
): ComponentContext<TempoExtractorConfig> {
  return {
    identity,
    runDir: dir,
    config: tempoExtractor.configSchema.parse(options.config ?? {}),
    frames: null,
    audio,
    progress: (done, total) => options.progress?.push([done, total]),
    signal: new AbortController().signal,
    inputs: noDependencyInputs('test'),
    scratch: memoryScratchSpace(),
    document: null,
  };
}

/** A stereo float32 WAV of `samples` on both channels, as the Segmenter writes. */
function wav(name: string, samples: Float32Array, sampleRate = 48000): AudioAccess {
  const path = join(dir, `${name}.wav`);
  writeFloatWav(path, [samples, samples], sampleRate);
  return { hasAudio: true, wavPath: path, sampleRate, channels: 2, durationSec: samples.length / sampleRate };
}

function expectContract(result: ComponentResult): void {
  expect(checkArrays(tempoExtractor.schema, result.arrays)).toEqual([]);
  const meta = tempoExtractor.schema.meta?.safeParse(result.meta);
  expect(meta?.error?.issues ?? []).toEqual([]);
  expect(JSON.stringify(result.meta)).not.toMatch(/Infinity|NaN/);
}

const scalarOf = (result: ComponentResult, name: string): number => result.arrays[name]?.data[0] as number;

describe('tempo_extractor', () => {
  it('reads a 126.3 BPM drum pattern in a worker thread, with beats, envelope, meta and progress', async () => {
    const signal = drumPattern({ bpm: 126.3, seconds: 12, swing: true });
    const progress: [number, number][] = [];
    const result = await tempoExtractor.run(context(wav('drums', signal.samples), { progress }));
    expectContract(result);
    expect(result).toMatchObject({ status: 'ok', emptyReason: null });
    expect(Math.abs(scalarOf(result, 'tempo_bpm') / 126.3 - 1)).toBeLessThan(0.04);
    expect(scalarOf(result, 'tempo_bpm')).toBeCloseTo(result.meta?.tempo_bpm as number, 3);
    expect(scalarOf(result, 'tempo_confidence')).toBeGreaterThan(0.3);
    const beats = result.arrays.beat_times_sec?.data as Float32Array;
    expect(beatFMeasure(beats, signal.beatsSec)).toBeGreaterThan(0.95);
    expect(result.arrays.onset_strength?.shape).toEqual([1201]);
    expect(result.arrays.onset_times_sec?.data[1200]).toBeCloseTo(12, 5);
    expect(result.meta).toMatchObject({
      tempo_null_reason: null,
      beat_count: beats.length,
      sample_rate: 48000,
      channels: 2,
      hop_sec: 0.01,
      frame_length: 2048,
      min_bpm: 40,
      max_bpm: 240,
    });
    expect(progress.at(-1)).toEqual([576000, 576000]);
  });

  it('gives identical arrays on two runs (deterministic)', async () => {
    const audio = wav('det', clickTrack({ bpm: 97.1, seconds: 6, noiseDb: -10 }).samples);
    const [a, b] = [await tempoExtractor.run(context(audio)), await tempoExtractor.run(context(audio))];
    for (const name of Object.keys(tempoExtractor.schema.arrays))
      expect(b.arrays[name]?.data).toEqual(a.arrays[name]?.data);
    expect(b.meta).toEqual(a.meta);
  });

  it('keeps the event loop free while the DSP runs (worker thread)', async () => {
    const audio = wav('long', drumPattern({ bpm: 110, seconds: 15 }).samples);
    const before = performance.eventLoopUtilization();
    const result = await tempoExtractor.run(context(audio));
    expect(result.status).toBe('ok');
    expect(performance.eventLoopUtilization(before).utilization).toBeLessThan(0.5);
  });

  it('is empty with no_audio_stream without audio: NaN scalars, B = T = 0', async () => {
    const result = await tempoExtractor.run(
      context({ hasAudio: false, wavPath: null, sampleRate: 48000, channels: 0, durationSec: 0 }),
    );
    expectContract(result);
    expect(result).toMatchObject({ status: 'empty', emptyReason: 'no_audio_stream' });
    expect(result.meta).toMatchObject({
      tempo_bpm: null,
      tempo_null_reason: 'no_audio_stream',
      beat_count: 0,
    });
    expect(Number.isNaN(scalarOf(result, 'tempo_bpm'))).toBe(true);
    expect(Number.isNaN(scalarOf(result, 'tempo_confidence'))).toBe(true);
    expect(result.arrays.onset_strength?.shape).toEqual([0]);
    expect(result.arrays.beat_times_sec?.shape).toEqual([0]);
  });

  it('is empty with silent_audio on digital silence: NaN envelope at its contract shape', async () => {
    const result = await tempoExtractor.run(context(wav('silence', whiteNoise(4, 0))));
    expectContract(result);
    expect(result).toMatchObject({ status: 'empty', emptyReason: 'silent_audio' });
    expect(result.meta).toMatchObject({ tempo_null_reason: 'silent_audio', tempo_confidence: null });
    expect(result.arrays.onset_strength?.shape).toEqual([401]);
    expect((result.arrays.onset_strength?.data as Float32Array).every(Number.isNaN)).toBe(true);
    expect(result.arrays.onset_times_sec?.data[400]).toBeCloseTo(4, 5);
  });

  it('a WAV without a single frame is empty/silent_audio with T = 0, as for loudness_extractor', async () => {
    const audio = wav('zero', new Float32Array(0));
    const result = await tempoExtractor.run(context(audio));
    expectContract(result);
    expect(result).toMatchObject({ status: 'empty', emptyReason: 'silent_audio' });
    expect(result.arrays.onset_strength?.shape).toEqual([0]);
    const loudness = await loudnessExtractor.run({
      ...context(audio),
      config: loudnessExtractor.configSchema.parse({}),
    });
    expect(loudness).toMatchObject({ status: 'empty', emptyReason: 'silent_audio' });
    expect(loudness.arrays.momentary_lufs?.shape).toEqual([0]);
  });

  it('a 2 s track is ok with NaN tempo and reason too_short (shorter than two 40 BPM periods)', async () => {
    const result = await tempoExtractor.run(
      context(wav('short', clickTrack({ bpm: 120, seconds: 2 }).samples)),
    );
    expectContract(result);
    expect(result.status).toBe('ok');
    expect(result.meta).toMatchObject({
      tempo_bpm: null,
      tempo_confidence: null,
      tempo_null_reason: 'too_short',
    });
    expect(Number.isNaN(scalarOf(result, 'tempo_bpm'))).toBe(true);
    expect(result.arrays.beat_times_sec?.shape).toEqual([0]);
    expect(result.arrays.onset_strength?.shape).toEqual([201]);
    // A lower min_bpm needs a longer track: the window follows the config.
    const slower = await tempoExtractor.run(
      context(wav('short4', clickTrack({ bpm: 120, seconds: 4 }).samples), { config: { min_bpm: 20 } }),
    );
    expect(slower.meta).toMatchObject({ tempo_null_reason: 'too_short', min_bpm: 20 });
  });

  it('white noise is ok with NaN tempo, reason no_periodicity and its low confidence', async () => {
    const result = await tempoExtractor.run(context(wav('noise', whiteNoise(8, 0.1))));
    expectContract(result);
    expect(result.status).toBe('ok');
    expect(result.meta).toMatchObject({
      tempo_bpm: null,
      tempo_null_reason: 'no_periodicity',
      beat_count: 0,
    });
    expect(scalarOf(result, 'tempo_confidence')).toBeLessThan(0.25);
  });

  it('warns about NaN samples and analyses them as 0', async () => {
    const samples = clickTrack({ bpm: 100, seconds: 6 }).samples;
    samples[1000] = Number.NaN;
    const result = await tempoExtractor.run(context(wav('nan', samples)));
    expect(result.warnings).toEqual(['2 NaN/Infinity samples were analysed as 0']);
    expect(Math.abs(scalarOf(result, 'tempo_bpm') / 100 - 1)).toBeLessThan(0.04);
  });

  it('rejects configs naming the field: inverted range, unknown key, confidence above 1', () => {
    const inverted = tempoExtractor.configSchema.safeParse({ min_bpm: 200, max_bpm: 100 });
    expect(inverted.success).toBe(false);
    expect(inverted.error?.issues[0]?.path).toEqual(['min_bpm']);
    expect(tempoExtractor.configSchema.safeParse({ bpm: 120 }).success).toBe(false);
    expect(tempoExtractor.configSchema.safeParse({ min_confidence: 2 }).error?.issues[0]?.path).toEqual([
      'min_confidence',
    ]);
  });

  it('fails with DEPENDENCY_MISSING when the track is gone, CONTRACT_VIOLATION when it is not a usable WAV', async () => {
    const missing = {
      hasAudio: true,
      wavPath: join(dir, 'absent.wav'),
      sampleRate: 48000,
      channels: 2,
      durationSec: 1,
    };
    await expect(tempoExtractor.run(context(missing))).rejects.toMatchObject({ code: 'DEPENDENCY_MISSING' });
    const notWav = join(dir, 'not.wav');
    writeFileSync(notWav, 'hello world, not a wav');
    await expect(tempoExtractor.run(context({ ...missing, wavPath: notWav }))).rejects.toMatchObject({
      code: 'CONTRACT_VIOLATION',
    });
    const lowRate = wav('4k', clickTrack({ bpm: 100, seconds: 4, sampleRate: 4000 }).samples, 4000);
    const failure = await tempoExtractor.run(context(lowRate)).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'CONTRACT_VIOLATION' });
    expect((failure as Error).message).toMatch(/4000 Hz/);
  });
});
