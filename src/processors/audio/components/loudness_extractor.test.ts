// The component through its worker thread (from TypeScript sources, as tests run), and its empty path.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AudioAccess, ComponentContext, RunIdentity } from '../../../contracts/index.js';
import { makeTempDir } from '../../../../test/support/media.js';
import { loudnessExtractor } from './loudness_extractor.js';

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
  progress: [number, number][] = [],
): ComponentContext<{ series_hop_ms: number }> {
  return {
    identity,
    runDir: '/nonexistent',
    config: loudnessExtractor.configSchema.parse({}),
    frames: null,
    audio,
    progress: (done, total) => progress.push([done, total]),
    signal: new AbortController().signal,
  };
}

describe('loudness_extractor', () => {
  it('measures a -18 dBFS stereo tone in a worker thread and reports progress', async () => {
    const wav = join(makeTempDir('loud'), 'tone.wav');
    const s = 10 ** (-18 / 20);
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `aevalsrc=${s}*sin(2*PI*1000*t)|${s}*sin(2*PI*1000*t):s=48000:d=25`,
      '-c:a',
      'pcm_f32le',
      wav,
    ]);
    const progress: [number, number][] = [];
    const result = await loudnessExtractor.run(
      context({ hasAudio: true, wavPath: wav, sampleRate: 48000, channels: 2, durationSec: 25 }, progress),
    );
    expect(result.status).toBe('ok');
    expect(result.meta?.integrated_lufs).toBeCloseTo(-18, 1);
    expect(result.arrays.momentary_lufs?.shape).toEqual([250]);
    expect(progress.length).toBeGreaterThan(0);
  });

  it('is empty with no_audio_stream when the video has no audio', async () => {
    const result = await loudnessExtractor.run(
      context({ hasAudio: false, wavPath: null, sampleRate: 48000, channels: 0, durationSec: 0 }),
    );
    expect(result).toMatchObject({ status: 'empty', emptyReason: 'no_audio_stream' });
    expect(Number.isNaN(result.arrays.integrated_lufs?.data[0])).toBe(true);
  });

  it('rejects an invalid hop with a named field', () => {
    expect(loudnessExtractor.configSchema.safeParse({ series_hop_ms: 150 }).success).toBe(false);
  });
});
