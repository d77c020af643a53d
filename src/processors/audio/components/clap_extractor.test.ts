// clap_extractor with a synthetic CLAP model of the real signature, installed into a temp store
// and run by ONNX Runtime. The expected embeddings come from an independent numpy computation of
// both the ClapFeatureExtractor log-mel and the synthetic model's documented function.
import { memoryScratchSpace, noDependencyInputs } from '../../../contracts/index.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkArrays,
  type AudioAccess,
  type ComponentContext,
  type ComponentResult,
  type RunIdentity,
} from '../../../contracts/index.js';
import {
  clearModelSessions,
  createModelAccess,
  syntheticClapWeight,
  type ModelAccess,
  type ModelRegistry,
  type ModelStore,
} from '../../../models/index.js';
import { whiteNoise, writeFloatWav } from '../../../../test/support/audio-signals.js';
import { makeTempDir } from '../../../../test/support/media.js';
import { installSynthetic, tempModelSystem } from '../../../../test/support/models/fixtures.js';
import { runPythonJson } from '../../../../test/support/numpy.js';
import { CLAP_DIM, CLAP_MODEL, clapExtractor, type ClapExtractorConfig } from './clap_extractor.js';

const dir = makeTempDir('clap-extractor');
const identity: RunIdentity = {
  platform_id: 'p',
  video_id: 'v',
  run_id: 'r',
  config_hash: 'c'.repeat(64),
  sampling_policy_version: 'sp_v1',
  dataprocessor_version: 'test',
};

let registry: ModelRegistry;
let store: ModelStore;
beforeAll(async () => {
  ({ registry, store } = tempModelSystem(['clap-audio']));
  await installSynthetic(store, registry, 'clap-audio');
});
afterAll(async () => clearModelSessions());

/** The model access a profile mapping `clap_extractor → synthetic-clap-audio` gives (as the orchestrator maps it). */
function mappedAccess(): ModelAccess {
  const base = createModelAccess({ registry, store });
  return {
    ...base,
    load: (name, options) => base.load(name === CLAP_MODEL ? 'synthetic-clap-audio' : name, options),
  };
}

function context(
  audio: AudioAccess,
  options: { config?: unknown; models?: ModelAccess; progress?: [number, number][] } = {},
): ComponentContext<ClapExtractorConfig> {
  return {
    identity,
    runDir: dir,
    config: clapExtractor.configSchema.parse(options.config ?? {}),
    frames: null,
    audio,
    progress: (done, total) => options.progress?.push([done, total]),
    signal: new AbortController().signal,
    inputs: noDependencyInputs('test'),
    scratch: memoryScratchSpace(),
    document: null,
    models: options.models ?? mappedAccess(),
  };
}

function wav(name: string, left: Float32Array, right = left): AudioAccess {
  const path = join(dir, `${name}.wav`);
  writeFloatWav(path, [left, right], 48000);
  return { hasAudio: true, wavPath: path, sampleRate: 48000, channels: 2, durationSec: left.length / 48000 };
}

/** A test signal: a gliding tone over noise, so each window has a different spectrum. */
function signal(seconds: number, seed = 1): Float32Array {
  const noise = whiteNoise(seconds, 0.05, 48000, seed);
  return noise.map((n, i) => {
    const t = i / 48000;
    return n + 0.3 * Math.sin(2 * Math.PI * (200 * t + 40 * t * t));
  });
}

/**
 * numpy reference: mono mix → windows → repeatpad → HF `spectrogram` (reflect-centred periodic
 * Hann, |rfft|², Slaney-normalised Slaney mel 50–14000 Hz, 10·log10(max(·, 1e-10))) → time-mean
 * per bin → the synthetic weight `((m+1)(j+1) mod 11 − 5) / 8` → L2.
 */
const NUMPY_REFERENCE = String.raw`
import sys, json
import numpy as np
x = np.fromfile(sys.argv[1], dtype='<f4').astype(np.float64)
hop_sec = float(sys.argv[2])
sr, nfft, hop, bins, W, H = 48000, 1024, 480, 64, 480000, int(round(hop_sec * 48000))
def hz2mel(f):
    f = np.asarray(f, dtype=np.float64)
    return np.where(f < 1000, f / (200 / 3), 15 + np.log(np.maximum(f, 1e-9) / 1000) / (np.log(6.4) / 27))
def mel2hz(m):
    m = np.asarray(m, dtype=np.float64)
    return np.where(m < 15, m * (200 / 3), 1000 * np.exp((np.log(6.4) / 27) * (m - 15)))
fft_freqs = np.linspace(0, sr // 2, nfft // 2 + 1)
edges = mel2hz(np.linspace(hz2mel(50), hz2mel(14000), bins + 2))
diff = np.diff(edges)
slopes = edges[None, :] - fft_freqs[:, None]
down = -slopes[:, :-2] / diff[:-1]
up = slopes[:, 2:] / diff[1:]
fb = np.maximum(0, np.minimum(down, up)) * (2.0 / (edges[2:bins + 2] - edges[:bins]))[None, :]
win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(nfft) / nfft)
w = np.array([[((((m + 1) * (j + 1)) % 11) - 5) / 8 for j in range(512)] for m in range(bins)])
n = len(x)
K = 0 if n == 0 else (1 if n <= W else 1 + int(np.ceil((n - W) / H)))
out = []
for k in range(K):
    seg = x[k * H: k * H + W]
    if len(seg) < W:
        seg = np.tile(seg, W // len(seg))
        seg = np.pad(seg, (0, W - len(seg)))
    p = np.pad(seg, nfft // 2, mode='reflect')
    T = 1 + len(seg) // hop
    frames = np.stack([p[t * hop: t * hop + nfft] * win for t in range(T)])
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    db = 10 * np.log10(np.maximum(power @ fb, 1e-10))
    e = db.mean(axis=0) @ w
    out.append((e / np.linalg.norm(e)).tolist())
print(json.dumps(out))
`;

function numpyEmbeddings(mono: Float32Array, hopSec = 10): number[][] {
  const path = join(dir, `mono-${mono.length}-${hopSec}.f32`);
  writeFileSync(path, Buffer.from(mono.buffer, mono.byteOffset, mono.byteLength));
  return runPythonJson<number[][]>(NUMPY_REFERENCE, [path, String(hopSec)]);
}

function expectContract(result: ComponentResult): void {
  expect(checkArrays(clapExtractor.schema, result.arrays)).toEqual([]);
  const meta = clapExtractor.schema.meta?.safeParse(result.meta);
  expect(meta?.error?.issues ?? []).toEqual([]);
}

function rows(result: ComponentResult): number[][] {
  const data = result.arrays.window_embeddings?.data as Float32Array;
  return Array.from({ length: data.length / CLAP_DIM }, (_, k) =>
    Array.from(data.subarray(k * CLAP_DIM, (k + 1) * CLAP_DIM)),
  );
}

function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
}

describe('clap_extractor', () => {
  it('the synthetic stand-in carries the real card signature and says it is synthetic', () => {
    const real = registry.get(CLAP_MODEL);
    const synthetic = registry.get('synthetic-clap-audio');
    expect(synthetic.inputs).toEqual(real.inputs);
    expect(synthetic.outputs).toEqual(real.outputs);
    expect(synthetic.synthetic).toBe(true);
    expect(synthetic.source).toEqual({ kind: 'synthetic', standsFor: CLAP_MODEL });
    expect(syntheticClapWeight(0, 0)).toBe(-0.5);
  });

  it('embeds 23 s as three 10 s windows (the last repeat-padded), matching numpy to 1e-4', async () => {
    const left = signal(23);
    const right = signal(23, 2);
    const progress: [number, number][] = [];
    const result = await clapExtractor.run(context(wav('mix', left, right), { progress }));
    expectContract(result);
    expect(result).toMatchObject({ status: 'ok', emptyReason: null, batchSize: 3, deviceUsed: 'cpu' });
    expect(result.arrays.window_embeddings?.shape).toEqual([3, CLAP_DIM]);
    expect(Array.from(result.arrays.window_start_sec?.data as Float32Array)).toEqual([0, 10, 20]);
    expect(Array.from(result.arrays.window_end_sec?.data as Float32Array)).toEqual([10, 20, 23]);
    expect(Array.from(result.arrays.window_padded?.data as Uint8Array)).toEqual([0, 0, 1]);
    const mono = left.map((l, i) => (l + (right[i] as number)) / 2);
    const expected = numpyEmbeddings(mono);
    expect(expected).toHaveLength(3);
    const got = rows(result);
    expected.forEach((row, k) => expect(maxAbsDiff(got[k] ?? [], row), `window ${k}`).toBeLessThan(1e-4));
    // The clip embedding: L2-normalised mean of the (normalised) window embeddings.
    const mean = Array.from(
      { length: CLAP_DIM },
      (_, j) => expected.reduce((s, r) => s + (r[j] as number), 0) / 3,
    );
    const norm = Math.hypot(...mean);
    const clip = Array.from(result.arrays.clip_embedding?.data as Float32Array);
    expect(
      maxAbsDiff(
        clip,
        mean.map((v) => v / norm),
      ),
    ).toBeLessThan(1e-4);
    expect(Math.hypot(...clip)).toBeCloseTo(1, 5);
    for (const row of got) expect(Math.hypot(...row)).toBeCloseTo(1, 5);
    expect(result.meta).toMatchObject({
      window_count: 3,
      hop_sec: 10,
      window_sec: 10,
      sample_rate: 48000,
      channels: 2,
    });
    expect(progress.at(-1)).toEqual([3, 3]);
    expect(result.modelsUsed).toMatchObject([{ model_name: 'synthetic-clap-audio', synthetic: true }]);
  });

  it('overlapping windows with hop_sec 4; a 3 s track is one repeat-padded window', async () => {
    const samples = signal(14, 3);
    const overlapped = await clapExtractor.run(context(wav('hop4', samples), { config: { hop_sec: 4 } }));
    expectContract(overlapped);
    expect(Array.from(overlapped.arrays.window_start_sec?.data as Float32Array)).toEqual([0, 4]);
    expect(Array.from(overlapped.arrays.window_end_sec?.data as Float32Array)).toEqual([10, 14]);
    numpyEmbeddings(samples, 4).forEach((row, k) =>
      expect(maxAbsDiff(rows(overlapped)[k] ?? [], row)).toBeLessThan(1e-4),
    );
    const short = signal(3, 4);
    const one = await clapExtractor.run(context(wav('short', short)));
    expectContract(one);
    expect(one.status).toBe('ok');
    expect(one.arrays.window_embeddings?.shape).toEqual([1, CLAP_DIM]);
    expect(Array.from(one.arrays.window_padded?.data as Uint8Array)).toEqual([1]);
    expect(maxAbsDiff(rows(one)[0] ?? [], numpyEmbeddings(short)[0] ?? [])).toBeLessThan(1e-4);
  });

  it('keeps the event loop free while the features are computed (worker thread)', async () => {
    const audio = wav('long', signal(40, 5));
    const before = performance.eventLoopUtilization();
    const result = await clapExtractor.run(context(audio));
    expect(result.arrays.window_embeddings?.shape).toEqual([4, CLAP_DIM]);
    expect(performance.eventLoopUtilization(before).utilization).toBeLessThan(0.5);
  });

  it('is empty/no_audio_stream without audio and empty/silent_audio on digital silence (not embedded)', async () => {
    const none = await clapExtractor.run(
      context({ hasAudio: false, wavPath: null, sampleRate: 48000, channels: 0, durationSec: 0 }),
    );
    expectContract(none);
    expect(none).toMatchObject({ status: 'empty', emptyReason: 'no_audio_stream' });
    expect(none.arrays.window_embeddings?.shape).toEqual([0, CLAP_DIM]);
    expect((none.arrays.clip_embedding?.data as Float32Array).every(Number.isNaN)).toBe(true);
    const silent = await clapExtractor.run(context(wav('silence', new Float32Array(12 * 48000))));
    expectContract(silent);
    expect(silent).toMatchObject({ status: 'empty', emptyReason: 'silent_audio' });
    expect(silent.arrays.window_embeddings?.shape).toEqual([2, CLAP_DIM]);
    expect((silent.arrays.window_embeddings?.data as Float32Array).every(Number.isNaN)).toBe(true);
  });

  it('fails fast: MODEL_NOT_FOUND when the model is not installed, DEPENDENCY_MISSING without the track', async () => {
    const empty = tempModelSystem(['clap-audio']);
    const base = createModelAccess({ registry: empty.registry, store: empty.store });
    const audio = wav('nf', signal(2));
    await expect(clapExtractor.run(context(audio, { models: base }))).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
    });
    await expect(
      clapExtractor.run(context({ ...audio, wavPath: join(dir, 'absent.wav') })),
    ).rejects.toMatchObject({ code: 'DEPENDENCY_MISSING' });
    expect(clapExtractor.configSchema.safeParse({ hop_sec: 20 }).success).toBe(false);
    expect(clapExtractor.configSchema.safeParse({ window_sec: 5 }).success).toBe(false);
  });
});
