// speech_transcriber with the synthetic Whisper encoder and tiny-vocabulary decoder installed into
// a temp store, run by ONNX Runtime: the greedy loop against hand-computed expectations, the
// features against numpy, the empty cases, the _tmp_ handoff, and the privacy rule (a canary in
// the decoded text never reaches the main NPZ, meta or notes).
import { noDependencyInputs } from '../../../contracts/index.js';
import { storeScratchSpace } from '../../../orchestrator/index.js';
import { LocalResultStore } from '../../../storage/index.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkArrays,
  encodeNpz,
  readNpzFile,
  type AudioAccess,
  type ComponentContext,
  type ComponentResult,
  type RunIdentity,
} from '../../../contracts/index.js';
import {
  clearModelSessions,
  createModelAccess,
  float32Tensor,
  syntheticWhisperEncoderScale,
  type ModelAccess,
  type ModelRegistry,
  type ModelStore,
} from '../../../models/index.js';
import { whiteNoise, writeFloatWav } from '../../../../test/support/audio-signals.js';
import { makeTempDir } from '../../../../test/support/media.js';
import { installSynthetic, tempModelSystem } from '../../../../test/support/models/fixtures.js';
import { runPythonJson } from '../../../../test/support/numpy.js';
import { WhisperTokenizer, decodeWindow } from '../asr/whisper.js';
import { LogMel, WHISPER_LOGMEL, decimate, whisperFeatures } from '../dsp/logmel.js';
import { SPEECH_HANDOFF, speechTranscriber, type SpeechTranscriberConfig } from './speech_transcriber.js';

const CANARY = 'canary 7Q';
const identity: RunIdentity = {
  platform_id: 'p',
  video_id: 'v',
  run_id: 'r',
  config_hash: 'c'.repeat(64),
  sampling_policy_version: 'sp_v1',
  dataprocessor_version: 'test',
};
const SYNTHETIC = { encoder_model: 'synthetic-whisper-encoder', decoder_model: 'synthetic-whisper-decoder' };

let registry: ModelRegistry;
let store: ModelStore;
beforeAll(async () => {
  ({ registry, store } = tempModelSystem(['whisper-encoder', 'whisper-decoder']));
  await installSynthetic(store, registry, 'whisper-encoder');
  await installSynthetic(store, registry, 'whisper-decoder');
});
afterAll(async () => clearModelSessions());

/** A run directory `<store>/local/v/r` (the scratch space lives in a result store). */
function runDirIn(prefix: string): string {
  const runDir = join(makeTempDir(prefix), 'local', 'v', 'r');
  mkdirSync(runDir, { recursive: true });
  return runDir;
}

function context(
  runDir: string,
  audio: AudioAccess,
  options: { config?: unknown; models?: ModelAccess } = {},
): ComponentContext<SpeechTranscriberConfig> {
  return {
    identity,
    runDir,
    config: speechTranscriber.configSchema.parse(options.config ?? SYNTHETIC),
    frames: null,
    audio,
    progress: () => undefined,
    signal: new AbortController().signal,
    inputs: noDependencyInputs('test'),
    // The handoff goes through the store port, into the run's _tmp_speech/ (R-PRV-2).
    scratch: storeScratchSpace(new LocalResultStore(resolve(runDir, '..', '..', '..')), runDir, identity),
    document: null,
    models: options.models ?? createModelAccess({ registry, store }),
  };
}

function wav(dir: string, name: string, samples: Float32Array): AudioAccess {
  const path = join(dir, `${name}.wav`);
  writeFloatWav(path, [samples, samples], 48000);
  return {
    hasAudio: true,
    wavPath: path,
    sampleRate: 48000,
    channels: 2,
    durationSec: samples.length / 48000,
  };
}

function expectContract(result: ComponentResult): void {
  expect(checkArrays(speechTranscriber.schema, result.arrays)).toEqual([]);
  const meta = speechTranscriber.schema.meta?.safeParse(result.meta);
  expect(meta?.error?.issues ?? []).toEqual([]);
}

/** Everything of a result that goes into the main NPZ, meta, manifest or logs, as text. */
function publicText(result: ComponentResult): string {
  const bytes = encodeNpz(result.arrays, result.meta ?? {});
  return [
    Buffer.from(bytes).toString('latin1'),
    JSON.stringify(result.meta),
    result.notes ?? '',
    JSON.stringify(result.warnings ?? []),
    JSON.stringify(
      Object.fromEntries(
        Object.entries(result.arrays).map(([k, a]) => [k, Array.from(a.data as ArrayLike<unknown>)]),
      ),
    ),
  ].join('\n');
}

describe('Whisper greedy decoding over the synthetic decoder (ONNX Runtime)', () => {
  /** The decoder's logits at <|startoftranscript|> for level c, by hand from its documented table. */
  function noSpeechProbByHand(c: number): number {
    const logits = [2, 1, -10 - 10 * c, -10 - 2 * c, -10 + 2 * c, ...Array<number>(11).fill(-10)];
    const z = logits.reduce((s, x) => s + Math.exp(x), 0);
    return Math.exp(-10 - 10 * c) / z;
  }

  it('reads the level from the encoder states: "loud" above 0, "quiet" below; specials suppressed; no-speech by hand', async () => {
    const models = createModelAccess({ registry, store });
    const decoder = await models.load('synthetic-whisper-decoder');
    const tokenizer = WhisperTokenizer.fromFile(decoder.filePath('tokenizer.json'));
    expect(tokenizer.specials).toMatchObject({ eot: 0, sot: 1, transcribe: 4, noTimestamps: 5, noSpeech: 6 });
    expect(tokenizer.specials.languages).toEqual([
      { id: 2, code: 'en' },
      { id: 3, code: 'de' },
    ]);
    const scale = syntheticWhisperEncoderScale();
    const states = (c: number) => float32Tensor(new Float32Array(1500 * 384).fill(c * scale), [1, 1500, 384]);
    const loud = await decodeWindow(decoder, tokenizer, states(0.5), 224);
    expect(loud.tokens).toEqual([7, 8, 9, 10, 11, 12, 14, 15]);
    expect(tokenizer.decode(loud.tokens)).toBe('Zebra canary 7Q loud.');
    expect(loud).toMatchObject({ languageIndex: 0, finished: true });
    expect(loud.noSpeechProb).toBeCloseTo(noSpeechProbByHand(0.5), 6);
    const quiet = await decodeWindow(decoder, tokenizer, states(-0.5), 224);
    expect(tokenizer.decode(quiet.tokens)).toBe('Zebra canary 7Q quiet.');
    const silent = await decodeWindow(decoder, tokenizer, states(-1.5), 224);
    // ONNX Runtime's float32 ReduceMean over 576 000 values reads c = −1.5013 here, hence 2 decimals.
    expect(silent.noSpeechProb).toBeCloseTo(noSpeechProbByHand(-1.5), 2);
    expect(silent.noSpeechProb).toBeGreaterThan(0.9);
    // max_tokens bounds the loop.
    const cut = await decodeWindow(decoder, tokenizer, states(0.5), 3);
    expect(cut).toMatchObject({ tokens: [7, 8, 9], finished: false });
  });

  it('decodes byte-level tokens to UTF-8 (Ġ = space, multi-byte characters)', () => {
    const tokenizer = new WhisperTokenizer({
      model: { vocab: { 'Ã©': 10, Ġcaf: 11, 'ĠâĤ¬': 12 } },
      added_tokens: [
        '<|endoftext|>',
        '<|startoftranscript|>',
        '<|en|>',
        '<|transcribe|>',
        '<|notimestamps|>',
        '<|nospeech|>',
      ].map((content, id) => ({ id, content, special: true })),
    });
    expect(tokenizer.decode([1, 11, 10, 12, 0])).toBe(' café €');
  });
});

describe('Whisper features', () => {
  it('match a numpy WhisperFeatureExtractor computation to 1e-4 (16 kHz, zero-padded to 30 s)', () => {
    const dir = makeTempDir('whisper-features');
    const samples = whiteNoise(7, 0.1, 16000, 5).map(
      (n, i) => n + 0.5 * Math.sin((2 * Math.PI * 440 * i) / 16000),
    );
    const path = join(dir, 'x.f32');
    writeFileSync(path, Buffer.from(samples.buffer));
    const mine = whisperFeatures(samples, new LogMel(WHISPER_LOGMEL));
    const reference = runPythonJson<{ sums: number[]; probe: number[] }>(
      String.raw`
import sys, json
import numpy as np
x = np.fromfile(sys.argv[1], dtype='<f4').astype(np.float64)
x = np.pad(x, (0, 480000 - len(x)))
sr, nfft, hop, bins = 16000, 400, 160, 80
def hz2mel(f):
    f = np.asarray(f, dtype=np.float64)
    return np.where(f < 1000, f / (200 / 3), 15 + np.log(np.maximum(f, 1e-9) / 1000) / (np.log(6.4) / 27))
def mel2hz(m):
    m = np.asarray(m, dtype=np.float64)
    return np.where(m < 15, m * (200 / 3), 1000 * np.exp((np.log(6.4) / 27) * (m - 15)))
fft_freqs = np.linspace(0, sr // 2, nfft // 2 + 1)
edges = mel2hz(np.linspace(hz2mel(0), hz2mel(8000), bins + 2))
diff = np.diff(edges)
slopes = edges[None, :] - fft_freqs[:, None]
fb = np.maximum(0, np.minimum(-slopes[:, :-2] / diff[:-1], slopes[:, 2:] / diff[1:])) * (2.0 / (edges[2:] - edges[:bins]))[None, :]
win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(nfft) / nfft)
p = np.pad(x, nfft // 2, mode='reflect')
frames = np.stack([p[t * hop: t * hop + nfft] * win for t in range(3001)])
mel = (np.abs(np.fft.rfft(frames, axis=1)) ** 2) @ fb
log = np.log10(np.maximum(mel, 1e-10)).T[:, :-1]
log = np.maximum(log, log.max() - 8.0)
f = (log + 4.0) / 4.0
print(json.dumps({'sums': f.sum(axis=1).tolist(), 'probe': [f[3, 10], f[40, 500], f[79, 699], f[10, 2999]]}))
`,
      [path],
    );
    for (let m = 0; m < 80; m++) {
      let sum = 0;
      for (let t = 0; t < 3000; t++) sum += mine[m * 3000 + t] as number;
      expect(Math.abs(sum - (reference.sums[m] as number)), `bin ${m}`).toBeLessThan(0.05);
    }
    const probe = [mine[3 * 3000 + 10], mine[40 * 3000 + 500], mine[79 * 3000 + 699], mine[10 * 3000 + 2999]];
    probe.forEach((v, i) =>
      expect(Math.abs((v as number) - (reference.probe[i] as number))).toBeLessThan(1e-4),
    );
  });

  it('decimate(·, 3) keeps a 1 kHz tone and removes a 12 kHz one (48 → 16 kHz)', () => {
    const tone = (hz: number) =>
      Float32Array.from({ length: 48000 }, (_, i) => Math.sin((2 * Math.PI * hz * i) / 48000));
    const rms = (x: Float32Array) =>
      Math.sqrt(x.subarray(1000, 15000).reduce((s, v) => s + v * v, 0) / 14000);
    expect(rms(decimate(tone(1000), 3))).toBeCloseTo(Math.SQRT1_2, 2);
    expect(rms(decimate(tone(12000), 3))).toBeLessThan(0.01);
    expect(decimate(tone(1000), 3)).toHaveLength(16000);
  });
});

describe('speech_transcriber', () => {
  it('transcribes 40 s of noise as two segments; text only in _tmp_speech/segments.npz (canary never public)', async () => {
    const dir = runDirIn('speech');
    const result = await speechTranscriber.run(
      context(dir, wav(dir, 'noise', whiteNoise(40, 0.1, 48000, 3))),
    );
    expectContract(result);
    expect(result).toMatchObject({ status: 'ok', emptyReason: null, batchSize: 2 });
    expect(Array.from(result.arrays.segment_start_sec?.data as Float32Array)).toEqual([0, 30]);
    expect(Array.from(result.arrays.segment_end_sec?.data as Float32Array)).toEqual([30, 40]);
    expect(Array.from(result.arrays.segment_token_count?.data as Int32Array)).toEqual([8, 8]);
    expect(Array.from(result.arrays.segment_language_id?.data as Int32Array)).toEqual([0, 0]);
    expect(result.meta).toMatchObject({
      language: 'en',
      languages: ['en', 'de'],
      segment_count: 2,
      handoff: SPEECH_HANDOFF,
    });
    expect(result.modelsUsed?.map((m) => m.model_name)).toEqual([
      'synthetic-whisper-decoder',
      'synthetic-whisper-encoder',
    ]);
    const handoff = await readNpzFile(join(dir, SPEECH_HANDOFF));
    const texts = handoff.arrays.text?.data as string[];
    expect(texts).toHaveLength(2);
    for (const t of texts) expect(t).toMatch(/^Zebra canary 7Q (loud|quiet)\.$/);
    expect(Array.from(result.arrays.segment_char_count?.data as Int32Array)).toEqual(
      texts.map((t) => t.length),
    );
    expect(Array.from(handoff.arrays.start_sec?.data as Float32Array)).toEqual([0, 30]);
    expect(publicText(result)).not.toContain(CANARY);
    expect(publicText(result)).not.toContain('Zebra');
  });

  it('is empty/no_speech on near-silence (the model says so), silent_audio on digital zeros, no_audio_stream without audio', async () => {
    const dir = runDirIn('speech-empty');
    const hush = await speechTranscriber.run(context(dir, wav(dir, 'hush', whiteNoise(5, 1e-7, 48000, 8))));
    expectContract(hush);
    expect(hush).toMatchObject({ status: 'empty', emptyReason: 'no_speech' });
    expect(hush.arrays.segment_start_sec?.shape).toEqual([0]);
    expect(hush.arrays.window_no_speech_prob?.data[0]).toBeGreaterThan(0.6);
    expect((await readNpzFile(join(dir, SPEECH_HANDOFF))).arrays.text?.shape).toEqual([0]);
    const zeros = await speechTranscriber.run(context(dir, wav(dir, 'zeros', new Float32Array(48000 * 3))));
    expectContract(zeros);
    expect(zeros).toMatchObject({ status: 'empty', emptyReason: 'silent_audio' });
    expect(Number.isNaN(zeros.arrays.window_no_speech_prob?.data[0])).toBe(true);
    const none = await speechTranscriber.run(
      context(dir, { hasAudio: false, wavPath: null, sampleRate: 48000, channels: 0, durationSec: 0 }),
    );
    expectContract(none);
    expect(none).toMatchObject({ status: 'empty', emptyReason: 'no_audio_stream' });
    expect(none.arrays.window_start_sec?.shape).toEqual([0]);
  });

  it('fails fast with MODEL_NOT_FOUND when a model is not installed; config names the field', async () => {
    const dir = makeTempDir('speech-nf');
    const bare = tempModelSystem(['whisper-encoder', 'whisper-decoder']);
    await installSynthetic(bare.store, bare.registry, 'whisper-encoder');
    const models = createModelAccess({ registry: bare.registry, store: bare.store });
    await expect(
      speechTranscriber.run(context(dir, wav(dir, 'a', whiteNoise(1, 0.1)), { models })),
    ).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
    });
    expect(speechTranscriber.models?.(speechTranscriber.configSchema.parse({}))).toEqual([
      { model: 'whisper-tiny-encoder' },
      { model: 'whisper-tiny-decoder' },
    ]);
    expect(
      speechTranscriber.configSchema.safeParse({ no_speech_threshold: 2 }).error?.issues[0]?.path,
    ).toEqual(['no_speech_threshold']);
  });
});
