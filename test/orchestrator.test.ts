// Orchestrator error paths (R-ORC-2, R-ORC-6) through the real pipeline, with faults injected
// into one component: required vs optional failures, transient errors retried with backoff.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditRun } from '../src/audit/index.js';
import { runVideo, type Profile } from '../src/orchestrator/index.js';
import { componentsWithFaults } from './support/faults.js';
import { makeShotVideo, makeTempDir } from './support/media.js';

const dir = makeTempDir('orch');
const video = join(dir, 'v.mp4');
const store = join(dir, 'store');

beforeAll(() => {
  makeShotVideo(video, { width: 320, height: 180, shotSeconds: [3, 3], toneDbfs: -20 });
});

// Loudness, tempo and cuts only (the default profile before the visual core providers): the
// fault below hits cut_detection while loudness still runs beside it.
const signalsOnly: Profile = {
  name: 'test-signals',
  description: 'loudness, tempo and cut detection, all required',
  generation: 'baseline',
  components: [
    { name: 'loudness_extractor', required: true },
    { name: 'tempo_extractor', required: true },
    { name: 'cut_detection', required: true },
  ],
};

const optionalCuts: Profile = {
  name: 'test-optional-cuts',
  description: 'default, with cut_detection optional',
  generation: 'baseline',
  components: [
    { name: 'loudness_extractor', required: true },
    { name: 'cut_detection', required: false },
  ],
};

describe('orchestrator error paths', () => {
  it('a required component that fails fails the run, with error and error_code recorded; the run still audits', async () => {
    const outcome = await runVideo(
      {
        videoPath: video,
        storeRoot: store,
        videoId: 'v',
        runId: 'required-fails',
        profile: signalsOnly,
        useCache: false, // the fault must hit a computation, not a cache hit
      },
      { components: componentsWithFaults({ cut_detection: { code: 'CONTRACT_VIOLATION', times: 1 } }) },
    );
    expect(outcome.status).toBe('error');
    expect(outcome.manifest.run).toMatchObject({ status: 'error', error_code: 'CONTRACT_VIOLATION' });
    const cut = outcome.manifest.components.find((c) => c.name === 'cut_detection');
    expect(cut).toMatchObject({
      status: 'error',
      error_code: 'CONTRACT_VIOLATION',
      retries: 0,
      artifacts: [],
    });
    expect(cut?.error).toMatch(/injected fault/);
    expect(outcome.manifest.components.find((c) => c.name === 'loudness_extractor')?.status).toBe('ok');
    const report = await auditRun(outcome.runDir);
    expect(report.rules.filter((r) => !r.pass).map((r) => r.id)).toEqual([]);
  });

  it('after a required failure nothing new starts: the components not yet started are skipped with the reason', async () => {
    const outcome = await runVideo(
      {
        videoPath: video,
        storeRoot: store,
        videoId: 'v',
        runId: 'fail-fast',
        useCache: false,
        // One at a time in topological order (cut_detection, then loudness_extractor), so
        // loudness_extractor has not started when cut_detection fails.
        orchestrator: { max_parallel_components: 1 },
      },
      {
        components: componentsWithFaults({ cut_detection: { code: 'CONTRACT_VIOLATION', times: 1 } }),
      },
    );
    expect(outcome.status).toBe('error');
    const loudness = outcome.manifest.components.find((c) => c.name === 'loudness_extractor');
    expect(loudness).toMatchObject({ status: 'skipped', artifacts: [], started_at: null });
    expect(loudness?.notes).toMatch(/required component cut_detection failed/);
    const report = await auditRun(outcome.runDir);
    expect(report.rules.filter((r) => !r.pass).map((r) => r.id)).toEqual([]);
  });

  it('an optional component that fails is recorded and the run succeeds', async () => {
    const outcome = await runVideo(
      {
        videoPath: video,
        storeRoot: store,
        videoId: 'v',
        runId: 'optional-fails',
        profile: optionalCuts,
        useCache: false, // the fault must hit a computation, not a cache hit
      },
      { components: componentsWithFaults({ cut_detection: { code: 'INTERNAL', times: 1 } }) },
    );
    expect(outcome.status).toBe('ok');
    expect(outcome.manifest.run.status).toBe('ok');
    expect(outcome.manifest.components.find((c) => c.name === 'cut_detection')).toMatchObject({
      status: 'error',
      error_code: 'INTERNAL',
      required: false,
    });
  });

  it('a transient error is retried with backoff and the component then succeeds', async () => {
    const started = Date.now();
    const outcome = await runVideo(
      {
        videoPath: video,
        storeRoot: store,
        videoId: 'v',
        runId: 'transient',
        useCache: false, // the fault must hit a computation, not a cache hit
      },
      { components: componentsWithFaults({ cut_detection: { code: 'STORAGE_IO', times: 1 } }) },
    );
    expect(outcome.status).toBe('ok');
    const cut = outcome.manifest.components.find((c) => c.name === 'cut_detection');
    expect(cut).toMatchObject({ status: 'ok', retries: 1, error: null, error_code: null });
    expect(cut?.warnings.join(' ')).toMatch(/STORAGE_IO; retrying/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
  });

  it('retries are bounded: a transient error that persists ends as that error after maxRetries', async () => {
    const outcome = await runVideo(
      {
        videoPath: video,
        storeRoot: store,
        videoId: 'v',
        runId: 'persistent',
        maxRetries: 2,
        useCache: false, // the fault must hit a computation, not a cache hit
      },
      { components: componentsWithFaults({ loudness_extractor: { code: 'TIMEOUT', times: 10 } }) },
    );
    expect(outcome.status).toBe('error');
    expect(outcome.manifest.components.find((c) => c.name === 'loudness_extractor')).toMatchObject({
      status: 'error',
      error_code: 'TIMEOUT',
      retries: 2,
    });
  });

  it('logical errors are not retried', async () => {
    const outcome = await runVideo(
      {
        videoPath: video,
        storeRoot: store,
        videoId: 'v',
        runId: 'logical',
        profile: optionalCuts,
        useCache: false, // the fault must hit a computation, not a cache hit
      },
      { components: componentsWithFaults({ cut_detection: { code: 'DEPENDENCY_MISSING', times: 1 } }) },
    );
    expect(outcome.manifest.components.find((c) => c.name === 'cut_detection')).toMatchObject({
      status: 'error',
      error_code: 'DEPENDENCY_MISSING',
      retries: 0,
    });
  });
});

describe('idempotency keys (R-ORC-3)', () => {
  const keysOf = (outcome: Awaited<ReturnType<typeof runVideo>>): Record<string, string | null> =>
    Object.fromEntries(
      outcome.manifest.components
        .filter((c) => c.name !== 'segmenter')
        .map((c) => [c.name, c.idempotency_key]),
    );

  it('are recorded, equal for the same input and config, and change only for the component whose config changed', async () => {
    const first = await runVideo({ videoPath: video, storeRoot: store, videoId: 'v', runId: 'keys-1' });
    const second = await runVideo({ videoPath: video, storeRoot: store, videoId: 'v', runId: 'keys-2' });
    const changed = await runVideo({
      videoPath: video,
      storeRoot: store,
      videoId: 'v',
      runId: 'keys-3',
      config: { components: { cut_detection: { cut_threshold: 0.35 } } },
    });
    const a = keysOf(first);
    for (const key of Object.values(a)) expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(keysOf(second)).toEqual(a);
    const c = keysOf(changed);
    expect(c.loudness_extractor).toBe(a.loudness_extractor);
    expect(c.cut_detection).not.toBe(a.cut_detection);
    // The run-level config_hash covers the whole effective config, so it changes too.
    expect(changed.identity.config_hash).not.toBe(first.identity.config_hash);
    const cut = first.manifest.components.find((x) => x.name === 'cut_detection');
    expect(cut?.model_signature).toBe(createHash('sha256').update('[]').digest('hex'));
  });
});

describe('a profile that reads no frames', () => {
  const audioOnly: Profile = {
    name: 'test-audio-only',
    description: 'audio components only',
    generation: 'baseline',
    components: [
      { name: 'loudness_extractor', required: true },
      { name: 'tempo_extractor', required: true },
    ],
  };

  it('decodes no video: frames_dir holds no frames, the audio components run, the run audits', async () => {
    const outcome = await runVideo({
      videoPath: video,
      storeRoot: store,
      videoId: 'v',
      runId: 'audio-only',
      profile: audioOnly,
    });
    expect(outcome.status).toBe('ok');
    const segmenter = outcome.manifest.components.find((c) => c.name === 'segmenter');
    expect(segmenter?.notes).toMatch(/^0 union frames/);
    expect(segmenter?.artifacts.some((a) => a.path.endsWith('.npy'))).toBe(false);
    expect(outcome.manifest.components.find((c) => c.name === 'loudness_extractor')?.status).toBe('ok');
    const report = await auditRun(outcome.runDir);
    expect(report.rules.filter((r) => !r.pass).map((r) => r.id)).toEqual([]);
  });

  it('on a video without audio nothing is decoded at all and the audio components are empty', async () => {
    const silentVideo = join(dir, 'no-audio.mp4');
    makeShotVideo(silentVideo, { width: 320, height: 180, shotSeconds: [3, 3], toneDbfs: null });
    const outcome = await runVideo({
      videoPath: silentVideo,
      storeRoot: store,
      videoId: 'na',
      runId: 'audio-only-no-audio',
      profile: audioOnly,
    });
    expect(outcome.status).toBe('ok');
    for (const name of ['loudness_extractor', 'tempo_extractor'])
      expect(
        outcome.manifest.components.find((c) => c.name === name),
        name,
      ).toMatchObject({
        status: 'empty',
        empty_reason: 'no_audio_stream',
      });
    const report = await auditRun(outcome.runDir);
    expect(report.rules.filter((r) => !r.pass).map((r) => r.id)).toEqual([]);
  });
});
