import { existsSync } from 'node:fs';
import { z } from 'zod';
import {
  DependencyError,
  nd,
  type Component,
  type ComponentContext,
  type ComponentResult,
  type NdArray,
} from '../../../contracts/index.js';
import { runInWorker } from '../../../workers/index.js';
import type { TempoResult } from '../dsp/tempo-analyzer.js';
import type { TempoTaskInput } from '../dsp/tempo.task.js';
import { resolveTempoOptions } from '../dsp/tempo.js';
import { onsetParameters } from '../dsp/onset.js';

const NAME = 'tempo_extractor';
const DEFAULTS = resolveTempoOptions();

/** `tempo_extractor` config (defaults from `dsp/tempo.ts`, where each is justified). */
const configSchema = z
  .object({
    /**
     * Slowest tempo searched, BPM. Also sets the shortest track analysed: two of its periods.
     * @defaultValue 40
     */
    min_bpm: z.number().min(10).max(400).default(DEFAULTS.minBpm),
    /** Fastest tempo searched, BPM. @defaultValue 240 */
    max_bpm: z.number().min(10).max(600).default(DEFAULTS.maxBpm),
    /** Centre of the log-Gaussian tempo prior (Ellis 2007: 120 BPM). @defaultValue 120 */
    prior_bpm: z.number().min(10).max(600).default(DEFAULTS.priorBpm),
    /** Width σ of the tempo prior in octaves. @defaultValue 0.7 */
    prior_octaves: z.number().min(0.1).max(4).default(DEFAULTS.priorOctaves),
    /** Below this confidence the tempo is undefined (`no_periodicity`). @defaultValue 0.25 */
    min_confidence: z.number().min(0).max(1).default(DEFAULTS.minConfidence),
    /** Beat tracker transition tightness α (Ellis 2007 §2.2). @defaultValue 100 */
    tightness: z.number().positive().max(10000).default(DEFAULTS.tightness),
  })
  .strict()
  .refine((c) => c.min_bpm < c.max_bpm, { message: 'min_bpm must be below max_bpm', path: ['min_bpm'] });
/** Effective config of `tempo_extractor`. */
export type TempoExtractorConfig = z.infer<typeof configSchema>;

/** Why `tempo_bpm` is undefined (meta); null when it has a value. */
const nullReasonSchema = z
  .enum(['no_audio_stream', 'silent_audio', 'too_short', 'no_periodicity'])
  .nullable();

/** 0-d float32 scalar; NaN stands for "undefined" in the arrays (meta carries null instead). */
const scalar = (value: number | null): NdArray => nd.float32([value ?? Number.NaN], []);

/** The method, recorded in meta so a reader knows what the numbers mean. */
const METHOD =
  'log-mel spectral flux onset envelope; autocorrelation tempo with log-Gaussian prior and duple/triple ' +
  'octave resolution; dynamic-programming beat tracking (Ellis 2007)';

/**
 * `tempo_extractor` (SPEC §4 Audio): global tempo with confidence, beat times and the onset
 * strength envelope of the run's audio track, computed by `dsp/` in a worker thread.
 */
export const tempoExtractor: Component<TempoExtractorConfig> = {
  name: NAME,
  kind: 'audio',
  processor: 'audio',
  version: '0.1.0',
  dependsOn: [],
  // One unit = the whole track; memory is one 1 s block plus the envelope (0.5 MB / 20 min).
  resources: { memoryMbPerUnit: 32, devices: ['cpu'], minBatch: 1, maxBatch: 1 },
  configSchema,
  schema: {
    file: 'tempo.npz',
    schemaVersion: '1.0',
    arrays: {
      tempo_bpm: {
        dtype: 'float32',
        shape: [],
        unit: 'BPM',
        description: 'global tempo (beats per minute); NaN when undefined (meta.tempo_null_reason says why)',
      },
      tempo_confidence: {
        dtype: 'float32',
        shape: [],
        unit: '1',
        description:
          'normalised autocorrelation of the onset envelope at the tempo period, 0..1; NaN when not measured',
      },
      beat_times_sec: {
        dtype: 'float32',
        shape: ['B'],
        unit: 'sec',
        description: 'beat times from the start of the track, ascending; B = 0 when the tempo is undefined',
      },
      onset_strength: {
        dtype: 'float32',
        shape: ['T'],
        unit: 'dB',
        description: 'onset strength per 10 ms frame: mean rise of the log-mel bands; NaN on digital silence',
      },
      onset_times_sec: {
        dtype: 'float32',
        shape: ['T'],
        unit: 'sec',
        description: 'centre of each onset frame: t · meta.hop_sec',
      },
    },
    meta: z
      .object({
        tempo_bpm: z.number().positive().nullable(),
        tempo_confidence: z.number().min(0).max(1).nullable(),
        tempo_null_reason: nullReasonSchema,
        beat_count: z.number().int().nonnegative(),
        sample_rate: z.number().int().nullable(),
        channels: z.number().int(),
        hop_sec: z.number().positive(),
        frame_rate: z.number().positive(),
        frame_length: z.number().int().positive(),
        mel_bands: z.number().int().positive(),
        fmin_hz: z.number(),
        fmax_hz: z.number(),
        range_db: z.number(),
        min_bpm: z.number(),
        max_bpm: z.number(),
        prior_bpm: z.number(),
        prior_octaves: z.number(),
        min_confidence: z.number(),
        tightness: z.number(),
        method: z.string(),
      })
      .loose(),
  },
  async run(ctx: ComponentContext<TempoExtractorConfig>): Promise<ComponentResult> {
    const { audio, config } = ctx;
    if (!audio.hasAudio || audio.wavPath === null) {
      const empty = new Float32Array(0);
      return {
        status: 'empty',
        emptyReason: 'no_audio_stream',
        arrays: arraysOf(null, null, empty, empty, empty),
        meta: metaOf(config, {
          bpm: null,
          confidence: null,
          nullReason: 'no_audio_stream',
          beats: 0,
          sampleRate: null,
          channels: 0,
        }),
        notes: 'the video has no audio stream',
      };
    }
    if (!existsSync(audio.wavPath)) {
      // R-DEP-1: the Segmenter's audio track is our input; never re-extract it here.
      throw new DependencyError(
        'DEPENDENCY_MISSING',
        `audio track ${audio.wavPath} is missing; re-run the Segmenter`,
        { details: { wavPath: audio.wavPath } },
      );
    }
    const input: TempoTaskInput = {
      wavPath: audio.wavPath,
      options: {
        minBpm: config.min_bpm,
        maxBpm: config.max_bpm,
        priorBpm: config.prior_bpm,
        priorOctaves: config.prior_octaves,
        minConfidence: config.min_confidence,
        tightness: config.tightness,
      },
    };
    const result = await runInWorker<TempoResult>(new URL('../dsp/tempo.task.js', import.meta.url), input, {
      onProgress: ctx.progress,
      signal: ctx.signal,
    });
    const warnings =
      result.nonFiniteSamples > 0
        ? [`${result.nonFiniteSamples} NaN/Infinity samples were analysed as 0`]
        : [];
    const meta = metaOf(
      config,
      {
        bpm: result.bpm,
        confidence: result.confidence,
        nullReason: result.nullReason,
        beats: result.beatTimesSec.length,
        sampleRate: result.sampleRate,
        channels: result.channels,
      },
      result.sampleRate,
    );
    const extra = warnings.length > 0 ? { warnings } : {};
    if (result.isDigitalSilence) {
      return {
        status: 'empty',
        emptyReason: 'silent_audio',
        arrays: arraysOf(
          null,
          null,
          new Float32Array(0),
          new Float32Array(result.onsetStrength.length).fill(Number.NaN),
          result.onsetTimesSec,
        ),
        meta,
        notes: 'the audio track is digital silence',
        ...extra,
      };
    }
    return {
      status: 'ok',
      emptyReason: null,
      arrays: arraysOf(
        result.bpm,
        result.confidence,
        result.beatTimesSec,
        result.onsetStrength,
        result.onsetTimesSec,
      ),
      meta,
      notes: summary(result),
      ...extra,
    };
  },
};

function arraysOf(
  bpm: number | null,
  confidence: number | null,
  beatTimesSec: Float32Array,
  onsetStrength: Float32Array,
  onsetTimesSec: Float32Array,
): Record<string, NdArray> {
  return {
    tempo_bpm: scalar(bpm),
    tempo_confidence: scalar(confidence),
    beat_times_sec: nd.float32(beatTimesSec),
    onset_strength: nd.float32(onsetStrength),
    onset_times_sec: nd.float32(onsetTimesSec),
  };
}

/** Meta: the measured values (null, never NaN) and every parameter that shaped them. */
function metaOf(
  config: TempoExtractorConfig,
  measured: {
    bpm: number | null;
    confidence: number | null;
    nullReason: z.infer<typeof nullReasonSchema>;
    beats: number;
    sampleRate: number | null;
    channels: number;
  },
  sampleRate = 48000,
): Record<string, unknown> {
  // Without audio the analysis parameters are those a 48 kHz track (the Segmenter's) would get.
  const onset = onsetParameters(sampleRate);
  return {
    tempo_bpm: measured.bpm,
    tempo_confidence: measured.confidence,
    tempo_null_reason: measured.nullReason,
    beat_count: measured.beats,
    sample_rate: measured.sampleRate,
    channels: measured.channels,
    hop_sec: onset.hopLength / onset.sampleRate,
    frame_rate: onset.sampleRate / onset.hopLength,
    frame_length: onset.frameLength,
    mel_bands: onset.melBands,
    fmin_hz: onset.fminHz,
    fmax_hz: onset.fmaxHz,
    range_db: onset.rangeDb,
    min_bpm: config.min_bpm,
    max_bpm: config.max_bpm,
    prior_bpm: config.prior_bpm,
    prior_octaves: config.prior_octaves,
    min_confidence: config.min_confidence,
    tightness: config.tightness,
    method: METHOD,
  };
}

function summary(r: TempoResult): string {
  if (r.bpm === null) return `tempo n/a (${r.nullReason ?? 'undefined'})`;
  return `tempo ${r.bpm.toFixed(1)} BPM (confidence ${(r.confidence ?? 0).toFixed(2)}), ${r.beatTimesSec.length} beats`;
}
