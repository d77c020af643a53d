import { z } from 'zod';
import { nd, type Component, type ComponentResult } from '../../../contracts/index.js';
import { runInWorker } from '../../../workers/index.js';
import type { LoudnessResult } from '../dsp/loudness.js';

const configSchema = z
  .object({
    /** Hop of the momentary/short-term series in ms (a multiple of the 100 ms sub-block). */
    series_hop_ms: z.number().int().min(100).max(10_000).multipleOf(100).default(100),
  })
  .strict();
type LoudnessConfig = z.infer<typeof configSchema>;

const scalar = (value: number | null) => nd.float32([value ?? Number.NaN], []);

/** `loudness_extractor`: EBU R128 loudness of the run's audio track (SPEC §4 Audio). */
export const loudnessExtractor: Component<LoudnessConfig> = {
  name: 'loudness_extractor',
  kind: 'audio',
  processor: 'audio',
  version: '0.1.0',
  dependsOn: [],
  resources: { memoryMbPerUnit: 1, devices: ['cpu'], minBatch: 1, maxBatch: 1 },
  configSchema,
  schema: {
    file: 'loudness.npz',
    schemaVersion: '1.0',
    arrays: {
      integrated_lufs: {
        dtype: 'float32',
        shape: [],
        unit: 'LUFS',
        description: 'integrated loudness (BS.1770-4 gating); NaN when undefined',
      },
      loudness_range_lu: {
        dtype: 'float32',
        shape: [],
        unit: 'LU',
        description: 'loudness range (EBU Tech 3342); NaN when undefined',
      },
      true_peak_dbtp: {
        dtype: 'float32',
        shape: [],
        unit: 'dBTP',
        description: 'maximum true peak over channels (4× oversampled)',
      },
      sample_peak_dbfs: {
        dtype: 'float32',
        shape: [],
        unit: 'dBFS',
        description: 'maximum sample peak over channels',
      },
      times_sec: {
        dtype: 'float32',
        shape: ['T'],
        unit: 'sec',
        description: 'end time of each series window',
      },
      momentary_lufs: {
        dtype: 'float32',
        shape: ['T'],
        unit: 'LUFS',
        description: 'momentary loudness (400 ms window); NaN before 400 ms or on digital silence',
      },
      short_term_lufs: {
        dtype: 'float32',
        shape: ['T'],
        unit: 'LUFS',
        description: 'short-term loudness (3 s window); NaN before 3 s or on digital silence',
      },
    },
    meta: z
      .object({
        integrated_lufs: z.number().nullable(),
        integrated_null_reason: z.enum(['silent_audio', 'too_short', 'no_audio_stream']).nullable(),
        loudness_range_lu: z.number().nullable(),
        true_peak_dbtp: z.number().nullable(),
        sample_peak_dbfs: z.number().nullable(),
        sample_rate: z.number().int().nullable(),
        channels: z.number().int(),
        series_hop_ms: z.number().int(),
      })
      .loose(),
  },
  async run(ctx): Promise<ComponentResult> {
    const hop = ctx.config.series_hop_ms;
    const emptyArrays = {
      integrated_lufs: scalar(null),
      loudness_range_lu: scalar(null),
      true_peak_dbtp: scalar(null),
      sample_peak_dbfs: scalar(null),
      times_sec: nd.float32([]),
      momentary_lufs: nd.float32([]),
      short_term_lufs: nd.float32([]),
    };
    const emptyMeta = {
      integrated_lufs: null,
      loudness_range_lu: null,
      true_peak_dbtp: null,
      sample_peak_dbfs: null,
      series_hop_ms: hop,
    };
    if (!ctx.audio.hasAudio || !ctx.audio.wavPath) {
      return {
        status: 'empty',
        emptyReason: 'no_audio_stream',
        arrays: emptyArrays,
        meta: { ...emptyMeta, integrated_null_reason: 'no_audio_stream', sample_rate: null, channels: 0 },
      };
    }
    const result = await runInWorker<LoudnessResult | null>(
      new URL('../dsp/loudness.task.js', import.meta.url),
      { wavPath: ctx.audio.wavPath, hopMs: hop },
      {
        onProgress: ctx.progress,
        signal: ctx.signal,
      },
    );
    if (!result || result.isDigitalSilence) {
      return {
        status: 'empty',
        emptyReason: 'silent_audio',
        arrays: {
          ...emptyArrays,
          times_sec: result?.timesSec ? nd.float32(result.timesSec) : nd.float32([]),
          momentary_lufs: result ? nd.float32(result.momentaryLufs) : nd.float32([]),
          short_term_lufs: result ? nd.float32(result.shortTermLufs) : nd.float32([]),
        },
        meta: {
          ...emptyMeta,
          integrated_null_reason: 'silent_audio',
          sample_rate: ctx.audio.sampleRate,
          channels: ctx.audio.channels,
        },
        notes: 'digital silence',
      };
    }
    const round = (v: number | null): number | null => (v === null ? null : Math.round(v * 1000) / 1000);
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
        integrated_lufs: round(result.integratedLufs),
        integrated_null_reason: result.integratedNullReason,
        loudness_range_lu: round(result.loudnessRangeLu),
        true_peak_dbtp: round(result.truePeakDbtp),
        sample_peak_dbfs: round(result.samplePeakDbfs),
        sample_rate: result.sampleRate,
        channels: result.channels,
        series_hop_ms: hop,
      },
      notes:
        result.integratedLufs === null
          ? `integrated loudness undefined (${result.integratedNullReason})`
          : `I=${result.integratedLufs.toFixed(1)} LUFS, LRA=${result.loudnessRangeLu?.toFixed(1) ?? 'n/a'} LU, TP=${result.truePeakDbtp?.toFixed(1) ?? 'n/a'} dBTP`,
    };
  },
};
