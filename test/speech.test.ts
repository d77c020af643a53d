// speech_transcriber through the orchestrator with the synthetic Whisper encoder/decoder installed
// in a temp store (config names them; the real ones are the default). The decoded text holds a
// canary: it must be in `_tmp_speech/segments.npz` and nowhere else in the run directory — not in
// any NPZ (arrays or meta), the manifest, state files — nor in the run's events (R-PRV-1/2).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRun } from '../src/audit/index.js';
import { readNpzFile } from '../src/contracts/index.js';
import { clearModelSessions, createRegistry } from '../src/models/index.js';
import { runVideo, type Profile, type RunEvent, type RunOutcome } from '../src/orchestrator/index.js';
import { loadProfileSeed } from '../src/orchestrator/profiles.js';
import { COMPONENTS } from '../src/processors/index.js';
import { whiteNoise, writeFloatWav } from './support/audio-signals.js';
import { ffmpeg, makeTempDir } from './support/media.js';
import { installSynthetic, tempModelSystem } from './support/models/fixtures.js';
import { loadNpzWithNumpy } from './support/numpy.js';

const CANARY = 'canary 7Q';
const dir = makeTempDir('speech-run');
const PROFILE: Profile = {
  name: 'test-speech',
  description: 'speech_transcriber (optional) on synthetic Whisper models',
  generation: 'baseline',
  components: [
    { name: 'speech_transcriber', required: false },
    { name: 'cut_detection', required: false },
  ],
};

function files(root: string): string[] {
  return readdirSync(root).flatMap((name) => {
    const path = join(root, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe('speech_transcriber through runVideo', () => {
  const system = tempModelSystem(['whisper-encoder', 'whisper-decoder']);
  const events: RunEvent[] = [];
  let outcome: RunOutcome;
  beforeAll(async () => {
    await installSynthetic(system.store, system.registry, 'whisper-encoder');
    await installSynthetic(system.store, system.registry, 'whisper-decoder');
    const wav = join(dir, 'noise.wav');
    const noise = whiteNoise(8, 0.1, 48000, 11);
    writeFloatWav(wav, [noise, noise], 48000);
    const video = join(dir, 'noise.mp4');
    ffmpeg([
      ...['-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=25:d=8', '-i', wav],
      ...['-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast'],
      ...['-c:a', 'aac', '-b:a', '192k', '-t', '8', video],
    ]);
    outcome = await runVideo(
      {
        videoPath: video,
        storeRoot: join(dir, 'store'),
        videoId: 'v',
        runId: 'speech',
        profile: PROFILE,
        // Keep the _tmp_* handoff after the run so the test can read it (R-PRV-1 raw policy).
        storeRawPayload: true,
        config: {
          components: {
            speech_transcriber: {
              encoder_model: 'synthetic-whisper-encoder',
              decoder_model: 'synthetic-whisper-decoder',
            },
          },
        },
      },
      {
        modelSystem: { registry: system.registry, store: system.store },
        onEvent: (e) => events.push(e),
      },
    );
  }, 120_000);
  afterAll(async () => clearModelSessions());

  it('writes speech.npz (times, counts, no-speech, language) naming both synthetic models', () => {
    expect(outcome.status).toBe('ok');
    const entry = outcome.manifest.components.find((c) => c.name === 'speech_transcriber');
    expect(entry).toMatchObject({ status: 'ok', error_code: null });
    expect(entry?.models_used.map((m) => [m.model_name, m.synthetic])).toEqual([
      ['synthetic-whisper-decoder', true],
      ['synthetic-whisper-encoder', true],
    ]);
    const { arrays, meta } = loadNpzWithNumpy(join(outcome.runDir, 'speech_transcriber', 'speech.npz'));
    expect(arrays.segment_start_sec).toMatchObject({ dtype: '<f4', shape: [1], values: [0] });
    expect(arrays.segment_token_count).toMatchObject({ dtype: '<i4', values: [8] });
    expect(arrays.segment_language_id).toMatchObject({ dtype: '<i4', values: [0] });
    expect(meta).toMatchObject({ language: 'en', segment_count: 1, handoff: '_tmp_speech/segments.npz' });
    expect(meta.model_signature).toBe(entry?.model_signature);
  });

  it('keeps the transcript (with its canary) only in _tmp_speech: not in NPZ, meta, manifest, state or events', async () => {
    const handoff = await readNpzFile(join(outcome.runDir, '_tmp_speech', 'segments.npz'));
    expect((handoff.arrays.text?.data as string[])[0]).toContain(CANARY);
    const outside = files(outcome.runDir).filter((f) => !relative(outcome.runDir, f).startsWith('_tmp_'));
    expect(outside.length).toBeGreaterThan(3);
    for (const f of outside) {
      if (f.endsWith('.npy') || f.endsWith('.wav')) continue;
      const text = f.endsWith('.npz')
        ? JSON.stringify(await readNpzFile(f), (_k, v: unknown) =>
            ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<unknown>, String) : v,
          )
        : readFileSync(f, 'utf8');
      expect(text, relative(outcome.runDir, f)).not.toContain(CANARY);
      expect(text, relative(outcome.runDir, f)).not.toContain('Zebra');
    }
    expect(JSON.stringify(events)).not.toContain(CANARY);
    const report = await auditRun(outcome.runDir);
    expect(report.rules.filter((r) => !r.pass)).toEqual([]);
  });
});

describe('shipped profiles and the audio model components', () => {
  it('default calls only models shipped in npm packages (it must run offline); audio_models adds clap_extractor and optional speech_transcriber', () => {
    const seed = loadProfileSeed();
    const byName = new Map(seed.profiles.map((p) => [p.name, p]));
    const registry = createRegistry();
    const modelsOf = (name: string) => {
      const component = COMPONENTS.find((c) => c.name === name);
      return component?.models?.(component.configSchema.parse({})) ?? [];
    };
    const defaultModels = (byName.get('default')?.components ?? []).flatMap((c) => modelsOf(c.name));
    expect(defaultModels.length).toBeGreaterThan(0);
    for (const m of defaultModels) expect(registry.get(m.model, m.version).source.kind, m.model).toBe('npm');
    expect(byName.get('audio_models')?.components).toEqual(
      expect.arrayContaining([
        { name: 'clap_extractor', required: true },
        { name: 'speech_transcriber', required: false },
      ]),
    );
    expect(byName.get('audio_models')?.models?.clap_extractor).toMatchObject({
      model: 'clap-htsat-unfused-audio',
      version: 'laion-1.0',
    });
  });
});
