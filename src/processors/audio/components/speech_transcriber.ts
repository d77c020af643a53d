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
import { modelsOf, tensor, type LoadedModel } from '../../../models/index.js';
import { runInWorker } from '../../../workers/index.js';
import { WhisperTokenizer, decodeWindow, type WindowDecode } from '../asr/whisper.js';
import type { WhisperTaskInput, WhisperTaskResult } from '../dsp/whisper.task.js';
import { WHISPER_LOGMEL } from '../dsp/logmel.js';

const NAME = 'speech_transcriber';
/** Registry cards this component runs by default (config `encoder_model` / `decoder_model`). */
export const WHISPER_ENCODER = 'whisper-tiny-encoder';
export const WHISPER_DECODER = 'whisper-tiny-decoder';
/** The encoder's fixed input: 30 s → 3000 log-mel frames of 80 bins; output 1500 × 384. */
const WINDOW_SEC = 30;
const FRAMES = 3000;
/** Where the raw segments go for the Text processor (R-PRV-2: `_tmp_*`, never the main NPZ). */
/** The scratch area and file of the raw segments (`_tmp_speech/segments.npz`). */
export const SPEECH_HANDOFF_AREA = 'speech';
export const SPEECH_HANDOFF_FILE = 'segments.npz';
export const SPEECH_HANDOFF = `_tmp_${SPEECH_HANDOFF_AREA}/${SPEECH_HANDOFF_FILE}`;

/** `speech_transcriber` config. */
const configSchema = z
  .object({
    /** Registry name of the Whisper encoder. @defaultValue 'whisper-tiny-encoder' */
    encoder_model: z.string().min(1).default(WHISPER_ENCODER),
    /** Registry name of the Whisper decoder (with its tokenizer.json). @defaultValue 'whisper-tiny-decoder' */
    decoder_model: z.string().min(1).default(WHISPER_DECODER),
    /** Most tokens generated per 30 s window (openai-whisper's sample_len). @defaultValue 224 */
    max_tokens: z.number().int().min(1).max(440).default(224),
    /** A window whose no_speech probability is above this has no speech (openai-whisper: 0.6). @defaultValue 0.6 */
    no_speech_threshold: z.number().min(0).max(1).default(0.6),
  })
  .strict();
/** Effective config of `speech_transcriber`. */
export type SpeechTranscriberConfig = z.infer<typeof configSchema>;

const METHOD =
  'mono mix decimated 48 → 16 kHz; 30 s windows back to back (the last zero-padded); Whisper log-mel ' +
  '(n_fft 400, hop 160, 80 Slaney bins, log10, max − 8, (x + 4) / 4); encoder; greedy decoding without ' +
  'timestamps (one segment per window with speech), special tokens suppressed; no_speech_prob from the ' +
  '<|startoftranscript|> position';

const segmentArrays = {
  segment_start_sec: {
    dtype: 'float32',
    shape: ['S'],
    unit: 'sec',
    description: 'start of each speech segment (its window start)',
  },
  segment_end_sec: {
    dtype: 'float32',
    shape: ['S'],
    unit: 'sec',
    description: 'end of each segment (window end, or the track end)',
  },
  segment_token_count: {
    dtype: 'int32',
    shape: ['S'],
    unit: 'tokens',
    description: 'text tokens decoded (no special tokens)',
  },
  segment_char_count: {
    dtype: 'int32',
    shape: ['S'],
    unit: 'chars',
    description:
      'Unicode code points of the segment text (the text itself is only in the _tmp_speech handoff)',
  },
  segment_no_speech_prob: {
    dtype: 'float32',
    shape: ['S'],
    unit: '1',
    description: 'probability of <|nospeech|> at <|startoftranscript|>',
  },
  segment_avg_logprob: {
    dtype: 'float32',
    shape: ['S'],
    unit: 'nat',
    description: 'mean log-probability of the decoded tokens and <|endoftext|>',
  },
  segment_language_id: {
    dtype: 'int32',
    shape: ['S'],
    unit: 'index',
    description: 'detected language: index into meta.languages',
  },
} as const;

/**
 * `speech_transcriber` (SPEC §4 Audio, optional): Whisper through the model system. Segments with
 * times, counts, no-speech probability and language go into `speech.npz`; their raw text only
 * into `_tmp_speech/segments.npz` for the Text processor (R-PRV-1/2).
 */
export const speechTranscriber: Component<SpeechTranscriberConfig> = {
  name: NAME,
  kind: 'audio',
  processor: 'audio',
  version: '0.1.0',
  dependsOn: [],
  handoffs: [SPEECH_HANDOFF_AREA],
  // One unit = one 30 s window: its features (0.9 MB), the encoder output (2.3 MB) and activations.
  resources: { memoryMbPerUnit: 256, devices: ['cpu', 'cuda'], minBatch: 1, maxBatch: 4 },
  configSchema,
  models: (config) => [{ model: config.encoder_model }, { model: config.decoder_model }],
  schema: {
    file: 'speech.npz',
    schemaVersion: '1.0',
    arrays: {
      window_start_sec: {
        dtype: 'float32',
        shape: ['W'],
        unit: 'sec',
        description: 'start of each 30 s window',
      },
      window_end_sec: {
        dtype: 'float32',
        shape: ['W'],
        unit: 'sec',
        description: 'end of the audio in each window',
      },
      window_no_speech_prob: {
        dtype: 'float32',
        shape: ['W'],
        unit: '1',
        description: 'no-speech probability per window; NaN when not decoded (silent_audio)',
      },
      window_language_id: {
        dtype: 'int32',
        shape: ['W'],
        unit: 'index',
        description: 'detected language per window (index into meta.languages); −1 when not decoded',
      },
      window_has_speech: {
        dtype: 'bool',
        shape: ['W'],
        unit: '1',
        description: 'the window gave a segment (no_speech_prob ≤ threshold and some text)',
      },
      ...segmentArrays,
    },
    meta: z
      .object({
        window_count: z.number().int().nonnegative(),
        segment_count: z.number().int().nonnegative(),
        window_sec: z.number().positive(),
        language: z.string().nullable(),
        languages: z.array(z.string()),
        sample_rate: z.number().int().nullable(),
        model_sample_rate: z.number().int().positive(),
        channels: z.number().int(),
        duration_sec: z.number().nonnegative(),
        max_tokens: z.number().int(),
        no_speech_threshold: z.number(),
        truncated_windows: z.number().int().nonnegative(),
        handoff: z.string().nullable(),
        method: z.string(),
      })
      .loose(),
  },
  async run(ctx: ComponentContext<SpeechTranscriberConfig>): Promise<ComponentResult> {
    const { audio, config } = ctx;
    const models = modelsOf(ctx, NAME);
    const encoder = await models.load(config.encoder_model);
    const decoder = await models.load(config.decoder_model);
    const modelsUsed = models.used();
    const tokenizer = WhisperTokenizer.fromFile(decoder.filePath('tokenizer.json'));
    const languages = tokenizer.specials.languages.map((l) => l.code);
    const metaOf = (m: {
      windows: number;
      segments: number;
      language: string | null;
      sampleRate: number | null;
      channels: number;
      durationSec: number;
      truncated: number;
      handoff: string | null;
    }): Record<string, unknown> => ({
      window_count: m.windows,
      segment_count: m.segments,
      window_sec: WINDOW_SEC,
      language: m.language,
      languages,
      sample_rate: m.sampleRate,
      model_sample_rate: WHISPER_LOGMEL.sampleRate,
      channels: m.channels,
      duration_sec: m.durationSec,
      max_tokens: config.max_tokens,
      no_speech_threshold: config.no_speech_threshold,
      truncated_windows: m.truncated,
      handoff: m.handoff,
      method: METHOD,
    });
    if (!audio.hasAudio || audio.wavPath === null) {
      return {
        status: 'empty',
        emptyReason: 'no_audio_stream',
        arrays: arraysOf([], [], []),
        meta: metaOf({
          windows: 0,
          segments: 0,
          language: null,
          sampleRate: null,
          channels: 0,
          durationSec: 0,
          truncated: 0,
          handoff: null,
        }),
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
    const input: WhisperTaskInput = { wavPath: audio.wavPath, windowSec: WINDOW_SEC };
    const features = await runInWorker<WhisperTaskResult>(
      new URL('../dsp/whisper.task.js', import.meta.url),
      input,
      {
        signal: ctx.signal,
      },
    );
    const windows = Array.from({ length: features.windows }, (_, i) => ({
      start: features.startSec[i] as number,
      end: features.endSec[i] as number,
    }));
    const base = {
      windows: windows.length,
      sampleRate: features.sampleRate,
      channels: features.channels,
      durationSec: features.durationSec,
    };
    const warnings =
      features.nonFiniteSamples > 0
        ? [`${features.nonFiniteSamples} NaN/Infinity samples were analysed as 0`]
        : [];
    const extra = warnings.length > 0 ? { warnings } : {};
    if (features.isDigitalSilence) {
      const handoff = await writeHandoff(ctx, [], [], languages);
      return {
        status: 'empty',
        emptyReason: 'silent_audio',
        arrays: arraysOf(
          windows,
          windows.map(() => null),
          [],
        ),
        meta: metaOf({ ...base, segments: 0, language: null, truncated: 0, handoff }),
        notes: 'the audio track is digital silence (not decoded)',
        modelsUsed,
        ...extra,
      };
    }
    const { decodes, batchSize } = await transcribe(ctx, encoder, decoder, tokenizer, features);
    const segments: Segment[] = [];
    const texts: string[] = [];
    decodes.forEach((d, i) => {
      const text = tokenizer.decode(d.tokens).trim();
      if (d.noSpeechProb > config.no_speech_threshold || text.length === 0) return;
      const w = windows[i] as { start: number; end: number };
      segments.push({ window: i, start: w.start, end: w.end, decode: d, chars: [...text].length });
      texts.push(text);
    });
    const handoff = await writeHandoff(ctx, segments, texts, languages);
    const language = dominantLanguage(segments, languages);
    const meta = metaOf({
      ...base,
      segments: segments.length,
      language,
      truncated: decodes.filter((d) => !d.finished).length,
      handoff,
    });
    const arrays = arraysOf(windows, decodes, segments);
    const common = { arrays, meta, modelsUsed, batchSize, deviceUsed: encoder.device, ...extra };
    if (segments.length === 0)
      return {
        status: 'empty',
        emptyReason: 'no_speech',
        notes: `no speech in ${windows.length} window(s)`,
        ...common,
      };
    return {
      status: 'ok',
      emptyReason: null,
      notes: `${segments.length} speech segment(s) in ${windows.length} window(s), language ${language ?? 'n/a'}`,
      ...common,
    };
  },
};

interface Segment {
  window: number;
  start: number;
  end: number;
  decode: WindowDecode;
  chars: number;
}

/** Encoder in batches (R-BAT), then the greedy decoder per window. */
async function transcribe(
  ctx: ComponentContext<SpeechTranscriberConfig>,
  encoder: LoadedModel,
  decoder: LoadedModel,
  tokenizer: WhisperTokenizer,
  features: WhisperTaskResult,
): Promise<{ decodes: WindowDecode[]; batchSize: number }> {
  const models = modelsOf(ctx, NAME);
  const bins = WHISPER_LOGMEL.melBins;
  const perWindow = bins * FRAMES;
  const units = Array.from({ length: features.windows }, (_, i) => i);
  const batchSize = models.planBatchSize(speechTranscriber.resources, { units: units.length });
  const run = await models.runBatches(
    units,
    async (batch) => {
      const first = batch[0] as number;
      const data = features.features.slice(first * perWindow, (first + batch.length) * perWindow);
      const out = await encoder.infer({
        input_features: tensor('float32', data, [batch.length, bins, FRAMES]),
      });
      const hidden = out.last_hidden_state;
      if (hidden === undefined || hidden.dims.length !== 3)
        throw new DataProcessorError(
          'CONTRACT_VIOLATION',
          `${encoder.card.name} returned no last_hidden_state [N, T, D]`,
        );
      const [, t, d] = hidden.dims as [number, number, number];
      const values = hidden.data as Float32Array;
      const decodes: WindowDecode[] = [];
      for (let i = 0; i < batch.length; i++) {
        const one = tensor('float32', values.slice(i * t * d, (i + 1) * t * d), [1, t, d]);
        decodes.push(await decodeWindow(decoder, tokenizer, one, ctx.config.max_tokens));
      }
      return decodes;
    },
    { batchSize, onProgress: ctx.progress, signal: ctx.signal },
  );
  return { decodes: run.results, batchSize: run.batchSize };
}

/** The language of most segments (ties: the lower index); null without segments. */
function dominantLanguage(segments: readonly Segment[], languages: readonly string[]): string | null {
  if (segments.length === 0) return null;
  const counts = new Map<number, number>();
  for (const s of segments) counts.set(s.decode.languageIndex, (counts.get(s.decode.languageIndex) ?? 0) + 1);
  const [best] = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0] ?? [0];
  return languages[best] ?? null;
}

/**
 * Writes the raw segments for the Text processor (R-PRV-2) to `_tmp_speech/segments.npz`:
 * `start_sec`, `end_sec` (float32 [S]), `text`, `language` (unicode [S]). Returns its run-relative path.
 */
async function writeHandoff(
  ctx: ComponentContext<SpeechTranscriberConfig>,
  segments: readonly Segment[],
  texts: readonly string[],
  languages: readonly string[],
): Promise<string> {
  return ctx.scratch.writeNpz(
    SPEECH_HANDOFF_AREA,
    SPEECH_HANDOFF_FILE,
    {
      start_sec: nd.float32(segments.map((s) => s.start)),
      end_sec: nd.float32(segments.map((s) => s.end)),
      text: nd.unicode([...texts]),
      language: nd.unicode(segments.map((s) => languages[s.decode.languageIndex] ?? '')),
    },
    {
      producer: NAME,
      producer_version: speechTranscriber.version,
      handoff: 'speech_segments',
      segment_count: segments.length,
    },
  );
}

function arraysOf(
  windows: readonly { start: number; end: number }[],
  decodes: readonly (WindowDecode | null)[],
  segments: readonly Segment[],
): Record<string, NdArray> {
  const spoken = new Set(segments.map((s) => s.window));
  return {
    window_start_sec: nd.float32(windows.map((w) => w.start)),
    window_end_sec: nd.float32(windows.map((w) => w.end)),
    window_no_speech_prob: nd.float32(decodes.map((d) => d?.noSpeechProb ?? Number.NaN)),
    window_language_id: nd.int32(decodes.map((d) => d?.languageIndex ?? -1)),
    window_has_speech: nd.bool(windows.map((_, i) => spoken.has(i))),
    segment_start_sec: nd.float32(segments.map((s) => s.start)),
    segment_end_sec: nd.float32(segments.map((s) => s.end)),
    segment_token_count: nd.int32(segments.map((s) => s.decode.tokens.length)),
    segment_char_count: nd.int32(segments.map((s) => s.chars)),
    segment_no_speech_prob: nd.float32(segments.map((s) => s.decode.noSpeechProb)),
    segment_avg_logprob: nd.float32(segments.map((s) => s.decode.avgLogprob)),
    segment_language_id: nd.int32(segments.map((s) => s.decode.languageIndex)),
  };
}
