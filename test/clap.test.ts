// clap_extractor through the orchestrator: an MP4 with AAC audio → Segmenter → audio track →
// component, with the profile mapping it to a synthetic CLAP model installed in a temp store.
// models_used / model_signature land in the NPZ meta and the manifest; a model that is not
// installed is MODEL_NOT_FOUND recorded on the component before it runs.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRun } from '../src/audit/index.js';
import { modelSignature } from '../src/contracts/index.js';
import { clearModelSessions } from '../src/models/index.js';
import { runVideo, type Profile, type RunOutcome } from '../src/orchestrator/index.js';
import { whiteNoise, writeFloatWav } from './support/audio-signals.js';
import { ffmpeg, makeTempDir } from './support/media.js';
import { installSynthetic, tempModelSystem } from './support/models/fixtures.js';
import { loadNpzWithNumpy } from './support/numpy.js';

const dir = makeTempDir('clap-run');

const PROFILE: Profile = {
  name: 'test-clap',
  description: 'clap_extractor on a synthetic CLAP stand-in (cut_detection so that frames are decoded)',
  generation: 'baseline',
  components: [
    { name: 'clap_extractor', required: true },
    { name: 'cut_detection', required: false },
  ],
  models: {
    clap_extractor: {
      model: 'synthetic-clap-audio',
      version: '1',
      device: 'cpu',
      precision: 'fp32',
      runtime: 'inprocess',
    },
  },
};

function muxVideo(name: string, seconds: number): string {
  const wav = join(dir, `${name}.wav`);
  const noise = whiteNoise(seconds, 0.1, 48000, 9);
  writeFloatWav(wav, [noise, noise], 48000);
  const video = join(dir, `${name}.mp4`);
  ffmpeg([
    ...['-f', 'lavfi', '-i', `testsrc2=s=320x180:r=25:d=${seconds}`, '-i', wav],
    ...['-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast'],
    ...['-c:a', 'aac', '-b:a', '192k', '-t', String(seconds), video],
  ]);
  return video;
}

describe('clap_extractor through runVideo with a synthetic model in a temp store', () => {
  const system = tempModelSystem(['clap-audio']);
  let video: string;
  let outcome: RunOutcome;
  beforeAll(async () => {
    await installSynthetic(system.store, system.registry, 'clap-audio');
    video = muxVideo('noise', 12);
    outcome = await runVideo(
      {
        videoPath: video,
        storeRoot: join(dir, 'store'),
        videoId: 'v',
        runId: 'ok',
        profile: PROFILE,
      },
      {
        modelSystem: { registry: system.registry, store: system.store },
      },
    );
  }, 120_000);
  afterAll(async () => clearModelSessions());

  it('writes clap.npz with two windows, and names the synthetic model in meta and manifest', async () => {
    expect(outcome.status).toBe('ok');
    const entry = outcome.manifest.components.find((c) => c.name === 'clap_extractor');
    expect(entry).toMatchObject({ status: 'ok', error_code: null });
    const { arrays, meta } = loadNpzWithNumpy(join(outcome.runDir, 'clap_extractor', 'clap.npz'));
    expect(arrays.window_embeddings).toMatchObject({ dtype: '<f4', shape: [2, 512] });
    expect(arrays.clip_embedding).toMatchObject({ dtype: '<f4', shape: [512] });
    expect(arrays.window_padded).toMatchObject({ dtype: '|b1', values: [false, true] });
    const used = meta.models_used as Record<string, unknown>[];
    expect(used).toHaveLength(1);
    expect(used[0]).toMatchObject({
      model_name: 'synthetic-clap-audio',
      model_version: '1',
      synthetic: true,
      runtime: 'inprocess',
      engine: 'onnx',
      device: 'cpu',
      precision: 'fp32',
    });
    expect(meta.model_signature).toBe(modelSignature(used as never));
    expect(entry?.models_used).toEqual(used);
    expect(entry?.model_signature).toBe(meta.model_signature);
    expect(meta).toMatchObject({ batch_size: 2, device_used: 'cpu', window_count: 2 });
    const report = await auditRun(outcome.runDir);
    expect(report.rules.filter((r) => !r.pass)).toEqual([]);
    expect(report.pass).toBe(true);
  });

  it('records MODEL_NOT_FOUND on clap_extractor when the model is not installed (the run fails: it is required)', async () => {
    const bare = tempModelSystem(['clap-audio']);
    const failed = await runVideo(
      {
        videoPath: video,
        storeRoot: join(dir, 'store'),
        videoId: 'v',
        runId: 'not-installed',
        profile: PROFILE,
      },
      {
        modelSystem: { registry: bare.registry, store: bare.store },
      },
    );
    const entry = failed.manifest.components.find((c) => c.name === 'clap_extractor');
    expect(entry).toMatchObject({ status: 'error', error_code: 'MODEL_NOT_FOUND' });
    expect(entry?.error).toMatch(/synthetic-clap-audio/);
    expect(failed.status).not.toBe('ok');
  });
});
