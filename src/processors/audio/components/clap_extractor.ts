import { existsSync } from 'node:fs';
import { z } from 'zod';
import {
  DataProcessorError,
  DependencyError,
  nd,
  type Component,
  type ComponentContext,
  type ComponentResult,
  type NdArray,
} from '../../../contracts/index.js';
import { float32Tensor, modelsOf, type LoadedModel } from '../../../models/index.js';
import { runInWorker } from '../../../workers/index.js';
import type { ClapTaskInput, ClapTaskResult } from '../dsp/clap.task.js';
import { CLAP_LOGMEL } from '../dsp/logmel.js';

const NAME = 'clap_extractor';
/** The registry card this component runs (a profile may map it to another of the same signature). */
export const CLAP_MODEL = 'clap-htsat-unfused-audio';
/** CLAP's projection size: the width of every embedding here. */
export const CLAP_DIM = 512;
/** The model's fixed input: 10 s at 48 kHz → 1 + 480000 / 480 = 1001 log-mel frames of 64 bins. */
const WINDOW_SEC = 10;
const FRAMES = 1001;

/** `clap_extractor` config. */
const configSchema = z
  .object({
    /**
     * Seconds between window starts (windows are the model's fixed 10 s). 10 = back to back;
     * smaller overlaps them.
     * @defaultValue 10
     */
    hop_sec: z.number().min(1).max(WINDOW_SEC).default(WINDOW_SEC),
  })
  .strict();
/** Effective config of `clap_extractor`. */
export type ClapExtractorConfig = z.infer<typeof configSchema>;

const METHOD =
  'mono mix at 48 kHz; 10 s windows, the last (or a shorter track) repeat-padded; log-mel (n_fft 1024, ' +
  'hop 480, 64 Slaney bins 50–14000 Hz, dB) as ClapFeatureExtractor; CLAP audio_embeds per window, ' +
  'L2-normalised; clip = L2-normalised mean of the window embeddings';

function l2normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  if (!(norm > 0)) return new Float32Array(v.length).fill(Number.NaN);
  return v.map((x) => x / norm);
}

/**
 * `clap_extractor` (SPEC §4 Audio): CLAP audio embeddings per 10 s window and for the clip,
 * through the model system (features in a worker thread, batched inference via `runBatches`).
 */
export const clapExtractor: Component<ClapExtractorConfig> = {
  name: NAME,
  kind: 'audio',
  processor: 'audio',
  version: '0.1.0',
  dependsOn: [],
  // One unit = one window: its [1001, 64] features (256 kB) plus the model's activations.
  resources: { memoryMbPerUnit: 64, devices: ['cpu', 'cuda'], minBatch: 1, maxBatch: 16 },
  configSchema,
  models: () => [{ model: CLAP_MODEL }],
  schema: {
    file: 'clap.npz',
    schemaVersion: '1.0',
    arrays: {
      window_embeddings: {
        dtype: 'float32',
        shape: ['K', CLAP_DIM],
        unit: '1',
        description: 'L2-normalised CLAP audio embedding per window; NaN rows when empty (silent_audio)',
      },
      clip_embedding: {
        dtype: 'float32',
        shape: [CLAP_DIM],
        unit: '1',
        description: 'L2-normalised mean of the window embeddings; NaN when empty',
      },
      window_start_sec: {
        dtype: 'float32',
        shape: ['K'],
        unit: 'sec',
        description: 'start of each window in the track: k · meta.hop_sec',
      },
      window_end_sec: {
        dtype: 'float32',
        shape: ['K'],
        unit: 'sec',
        description: 'end of the audio in each window (start + 10 s, or the track end for the last one)',
      },
      window_padded: {
        dtype: 'bool',
        shape: ['K'],
        unit: '1',
        description: 'the window held less than 10 s of audio and was repeat-padded to 10 s',
      },
    },
    meta: z
      .object({
        window_count: z.number().int().nonnegative(),
        window_sec: z.number().positive(),
        hop_sec: z.number().positive(),
        embedding_dim: z.number().int().positive(),
        sample_rate: z.number().int().nullable(),
        model_sample_rate: z.number().int().positive(),
        channels: z.number().int(),
        duration_sec: z.number().nonnegative(),
        n_fft: z.number().int().positive(),
        hop_length: z.number().int().positive(),
        mel_bins: z.number().int().positive(),
        fmin_hz: z.number(),
        fmax_hz: z.number(),
        method: z.string(),
      })
      .loose(),
  },
  async run(ctx: ComponentContext<ClapExtractorConfig>): Promise<ComponentResult> {
    const { audio, config } = ctx;
    const models = modelsOf(ctx, NAME);
    // Loaded first, whatever the audio: what runs is what the orchestrator signed (models_used).
    const model = await models.load(CLAP_MODEL);
    // Set explicitly: the artifact writer puts only `result.modelsUsed` into the NPZ meta.
    const modelsUsed = models.used();
    const metaBase = {
      window_sec: WINDOW_SEC,
      hop_sec: config.hop_sec,
      embedding_dim: CLAP_DIM,
      model_sample_rate: CLAP_LOGMEL.sampleRate,
      n_fft: CLAP_LOGMEL.nFft,
      hop_length: CLAP_LOGMEL.hop,
      mel_bins: CLAP_LOGMEL.melBins,
      fmin_hz: CLAP_LOGMEL.fminHz,
      fmax_hz: CLAP_LOGMEL.fmaxHz,
      method: METHOD,
    };
    if (!audio.hasAudio || audio.wavPath === null) {
      return {
        status: 'empty',
        emptyReason: 'no_audio_stream',
        arrays: arraysOf(
          new Float32Array(0),
          nanClip(),
          new Float32Array(0),
          new Float32Array(0),
          new Uint8Array(0),
        ),
        meta: { ...metaBase, window_count: 0, sample_rate: null, channels: 0, duration_sec: 0 },
        notes: 'the video has no audio stream',
        modelsUsed,
      };
    }
    if (!existsSync(audio.wavPath)) {
      throw new DependencyError(
        'DEPENDENCY_MISSING',
        `audio track ${audio.wavPath} is missing; re-run the Segmenter`,
        {
          details: { wavPath: audio.wavPath },
        },
      );
    }
    const input: ClapTaskInput = {
      wavPath: audio.wavPath,
      windowSec: WINDOW_SEC,
      hopSec: config.hop_sec,
      frames: FRAMES,
    };
    const features = await runInWorker<ClapTaskResult>(
      new URL('../dsp/clap.task.js', import.meta.url),
      input,
      {
        signal: ctx.signal,
      },
    );
    const k = features.windows;
    const meta = {
      ...metaBase,
      window_count: k,
      sample_rate: features.sampleRate,
      channels: features.channels,
      duration_sec: features.durationSec,
    };
    const warnings =
      features.nonFiniteSamples > 0
        ? [`${features.nonFiniteSamples} NaN/Infinity samples were analysed as 0`]
        : [];
    const extra = warnings.length > 0 ? { warnings } : {};
    if (features.isDigitalSilence) {
      // Digital silence is not embedded (R-NPZ-3 silent_audio): NaN at the contract shape.
      return {
        status: 'empty',
        emptyReason: 'silent_audio',
        arrays: arraysOf(
          new Float32Array(k * CLAP_DIM).fill(Number.NaN),
          nanClip(),
          features.startSec,
          features.endSec,
          features.padded,
        ),
        meta,
        notes: 'the audio track is digital silence',
        modelsUsed,
        ...extra,
      };
    }
    const embeddings = await embedWindows(ctx, model, features);
    return {
      status: 'ok',
      emptyReason: null,
      arrays: arraysOf(
        embeddings.windows,
        embeddings.clip,
        features.startSec,
        features.endSec,
        features.padded,
      ),
      meta,
      notes: `${k} window${k === 1 ? '' : 's'} embedded (${model.card.name}, batch ${embeddings.batchSize})`,
      batchSize: embeddings.batchSize,
      deviceUsed: model.device,
      modelsUsed,
      ...extra,
    };
  },
};

const nanClip = (): Float32Array => new Float32Array(CLAP_DIM).fill(Number.NaN);

/** Runs the model over every window in batches (R-BAT), L2-normalises, and pools the clip. */
async function embedWindows(
  ctx: ComponentContext<ClapExtractorConfig>,
  model: LoadedModel,
  features: ClapTaskResult,
): Promise<{ windows: Float32Array; clip: Float32Array; batchSize: number }> {
  const models = modelsOf(ctx, NAME);
  const perWindow = FRAMES * CLAP_LOGMEL.melBins;
  const units = Array.from({ length: features.windows }, (_, i) => i);
  const batchSize = models.planBatchSize(clapExtractor.resources, { units: units.length });
  const inputName = model.card.inputs[0]?.name ?? 'input_features';
  const outputName = model.card.outputs[0]?.name ?? 'audio_embeds';
  const run = await models.runBatches(
    units,
    async (batch) => {
      const first = batch[0] as number;
      const data = features.features.slice(first * perWindow, (first + batch.length) * perWindow);
      const out = await model.infer({
        [inputName]: float32Tensor(data, [batch.length, 1, FRAMES, CLAP_LOGMEL.melBins]),
      });
      const embeds = out[outputName];
      if (embeds === undefined || embeds.dims[1] !== CLAP_DIM)
        throw new DataProcessorError(
          'CONTRACT_VIOLATION',
          `${model.card.name} returned ${outputName} of shape [${embeds?.dims.join(', ') ?? ''}], expected [N, ${CLAP_DIM}]`,
        );
      const values = embeds.data as Float32Array;
      return batch.map((_, i) => l2normalise(values.slice(i * CLAP_DIM, (i + 1) * CLAP_DIM)));
    },
    { batchSize, onProgress: ctx.progress, signal: ctx.signal },
  );
  const windows = new Float32Array(units.length * CLAP_DIM);
  const mean = new Float32Array(CLAP_DIM);
  run.results.forEach((e, i) => {
    windows.set(e, i * CLAP_DIM);
    for (let j = 0; j < CLAP_DIM; j++) mean[j] = (mean[j] as number) + (e[j] as number) / units.length;
  });
  return { windows, clip: l2normalise(mean), batchSize: run.batchSize };
}

function arraysOf(
  windows: Float32Array,
  clip: Float32Array,
  startSec: Float32Array,
  endSec: Float32Array,
  padded: Uint8Array,
): Record<string, NdArray> {
  return {
    window_embeddings: nd.float32(windows, [windows.length / CLAP_DIM, CLAP_DIM]),
    clip_embedding: nd.float32(clip, [CLAP_DIM]),
    window_start_sec: nd.float32(startSec),
    window_end_sec: nd.float32(endSec),
    window_padded: nd.bool(padded),
  };
}
