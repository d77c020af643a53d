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
import type { LoudnessResult } from '../dsp/loudness.js';
import type { LoudnessTaskInput } from '../dsp/loudness.task.js';

const NAME = 'loudness_extractor';

/** `loudness_extractor` config. */
const configSchema = z
  .object({
    /**
     * Hop of the momentary/short-term series in seconds, a multiple of 0.01 s. Does not change
     * the integrated loudness or the range (BS.1770-4 / Tech 3342 fix their own 100 ms step).
     * @defaultValue 0.1
     */
    hop_sec: z
      .number()
      .min(0.01)
      .max(10)
      .refine((v) => Math.abs(v * 100 - Math.round(v * 100)) < 1e-6, {
        message: 'hop_sec must be a multiple of 0.01 s',
      })
      .default(0.1),
  })
  .strict();
/** Effective config of `loudness_extractor`. */
export type LoudnessExtractorConfig = z.infer<typeof configSchema>;

/** Why `integrated_lufs` / `loudness_range_lu` are undefined (meta); null when they have a value. */
const nullReasonSchema = z
  .enum(['no_audio_stream', 'silent_audio', 'too_short', 'below_absolute_gate'])
  .nullable();

/** 0-d float32 scalar; NaN stands for "undefined" in the arrays (meta carries null instead). */
const scalar = (value: number | null): NdArray => nd.float32([value ?? Number.NaN], []);

/**
 * `loudness_extractor` (SPEC §4 Audio): EBU R128 / ITU-R BS.1770-4 loudness of the run's audio
 * track, measured by `dsp/loudness.ts` in a worker thread while the event loop only coordinates.
 */
export const loudnessExtractor: Component<LoudnessExtractorConfig> = {
  name: NAME,
  kind: 'audio',
  processor: 'audio',
  version: '0.2.0',
  dependsOn: [],
  // One unit = the whole track; streaming keeps memory at ~1 s of audio plus the series.
  resources: { memoryMbPerUnit: 16, devices: ['cpu'], minBatch: 1, maxBatch: 1 },
  configSchema,
  schema: {
    file: 'loudness.npz',
    schemaVersion: '1.0',
    arrays: {
      integrated_lufs: {
        dtype: 'float32',
        shape: [],
        unit: 'LUFS',
        description:
          'integrated loudness (BS.1770-4 gating: −70 LUFS absolute, −10 LU relative); NaN when undefined',
      },
      loudness_range_lu: {
        dtype: 'float32',
        shape: [],
        unit: 'LU',
        description:
          'loudness range (EBU Tech 3342: short-term values, −20 LU gate, P95 − P10); NaN when undefined',
      },
      true_peak_dbtp: {
        dtype: 'float32',
        shape: [],
        unit: 'dBTP',
        description: 'maximum true peak over channels (4× oversampled below 96 kHz); NaN on digital silence',
      },
      sample_peak_dbfs: {
        dtype: 'float32',
        shape: [],
        unit: 'dBFS',
        description: 'maximum sample peak over channels; NaN on digital silence',
      },
      times_sec: {
        dtype: 'float32',
        shape: ['T'],
        unit: 'sec',
        description: 'end time of each series window: (k+1)·hop_sec',
      },
      momentary_lufs: {
        dtype: 'float32',
        shape: ['T'],
        unit: 'LUFS',
        description: 'momentary loudness (400 ms window); NaN before 0.4 s and where ≤ −70 LUFS (silence)',
      },
      short_term_lufs: {
        dtype: 'float32',
        shape: ['T'],
        unit: 'LUFS',
        description: 'short-term loudness (3 s window); NaN before 3 s and where ≤ −70 LUFS (silence)',
      },
    },
    meta: z
      .object({
        integrated_lufs: z.number().nullable(),
        integrated_null_reason: nullReasonSchema,
        loudness_range_lu: z.number().nullable(),
        loudness_range_null_reason: nullReasonSchema,
        true_peak_dbtp: z.number().nullable(),
        sample_peak_dbfs: z.number().nullable(),
        sample_rate: z.number().int().nullable(),
        channels: z.number().int(),
        hop_sec: z.number(),
        true_peak_oversampling: z.number().int().nullable(),
      })
      .loose(),
  },
  async run(ctx: ComponentContext<LoudnessExtractorConfig>): Promise<ComponentResult> {
    const hopSec = ctx.config.hop_sec;
    const { audio } = ctx;
    if (!audio.hasAudio || audio.wavPath === null) {
      return {
        status: 'empty',
        emptyReason: 'no_audio_stream',
        arrays: undefinedArrays(new Float32Array(0)),
        meta: undefinedMeta('no_audio_stream', null, 0, hopSec),
        notes: 'the video has no audio stream',
      };
    }
    if (!existsSync(audio.wavPath)) {
      // R-DEP-1: the Segmenter's audio track is our input; never re-extract it here.
      throw new DependencyError(
        'DEPENDENCY_MISSING',
        `audio track ${audio.wavPath} is missing; re-run the Segmenter`,
        {
          details: { wavPath: audio.wavPath },
        },
      );
    }
    const input: LoudnessTaskInput = { wavPath: audio.wavPath, hopSec };
    const result = await runInWorker<LoudnessResult>(
      new URL('../dsp/loudness.task.js', import.meta.url),
      input,
      {
        onProgress: ctx.progress,
        signal: ctx.signal,
      },
    );
    const warnings =
      result.nonFiniteSamples > 0
        ? [`${result.nonFiniteSamples} NaN/Infinity samples were measured as 0`]
        : [];
    if (result.isDigitalSilence) {
      return {
        status: 'empty',
        emptyReason: 'silent_audio',
        arrays: undefinedArrays(result.timesSec),
        meta: undefinedMeta(
          'silent_audio',
          result.sampleRate,
          result.channels,
          hopSec,
          result.truePeakOversampling,
        ),
        notes: 'the audio track is digital silence',
        ...(warnings.length > 0 ? { warnings } : {}),
      };
    }
    return {
      status: 'ok',
      emptyReason: null,
      arrays: {
        integrated_lufs: scalar(result.integratedLufs),
        loudness_range_lu: scalar(result.loudnessRangeLu),
        true_peak_dbtp: scalar(result.truePeakDbtp),
        sample_peak_dbfs: scalar(result.samplePeakDbfs),
        times_sec: nd.float32(result.timesSec),
        momentary_lufs: nd.float32(result.momentaryLufs),
        short_term_lufs: nd.float32(result.shortTermLufs),
      },
      meta: {
        integrated_lufs: result.integratedLufs,
        integrated_null_reason: result.integratedNullReason,
        loudness_range_lu: result.loudnessRangeLu,
        loudness_range_null_reason: result.loudnessRangeNullReason,
        true_peak_dbtp: result.truePeakDbtp,
        sample_peak_dbfs: result.samplePeakDbfs,
        sample_rate: result.sampleRate,
        channels: result.channels,
        hop_sec: hopSec,
        true_peak_oversampling: result.truePeakOversampling,
      },
      notes: summary(result),
      ...(warnings.length > 0 ? { warnings } : {}),
    };
  },
};

/** R-NPZ-3 empty artifact: every value NaN at contract shape (T from `timesSec`, 0 without audio). */
function undefinedArrays(timesSec: Float32Array): Record<string, NdArray> {
  const nanSeries = (): NdArray => nd.float32(new Float32Array(timesSec.length).fill(Number.NaN));
  return {
    integrated_lufs: scalar(null),
    loudness_range_lu: scalar(null),
    true_peak_dbtp: scalar(null),
    sample_peak_dbfs: scalar(null),
    times_sec: nd.float32(timesSec),
    momentary_lufs: nanSeries(),
    short_term_lufs: nanSeries(),
  };
}

function undefinedMeta(
  reason: 'no_audio_stream' | 'silent_audio',
  sampleRate: number | null,
  channels: number,
  hopSec: number,
  truePeakOversampling: number | null = null,
): Record<string, unknown> {
  return {
    integrated_lufs: null,
    integrated_null_reason: reason,
    loudness_range_lu: null,
    loudness_range_null_reason: reason,
    true_peak_dbtp: null,
    sample_peak_dbfs: null,
    sample_rate: sampleRate,
    channels,
    hop_sec: hopSec,
    true_peak_oversampling: truePeakOversampling,
  };
}

function summary(r: LoudnessResult): string {
  const value = (v: number | null, unit: string, why: string | null): string =>
    v === null ? `n/a (${why ?? 'undefined'})` : `${v.toFixed(1)} ${unit}`;
  return [
    `I=${value(r.integratedLufs, 'LUFS', r.integratedNullReason)}`,
    `LRA=${value(r.loudnessRangeLu, 'LU', r.loudnessRangeNullReason)}`,
    `TP=${value(r.truePeakDbtp, 'dBTP', null)}`,
  ].join(', ');
}
