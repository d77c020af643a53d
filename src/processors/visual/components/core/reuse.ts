// Near-duplicate frame reuse (issue 17 "do less work"): a provider skips model inference on a frame
// that is a near-duplicate of the last frame it did infer, and takes that frame's result. The test
// is a 32×18 grey thumbnail (area means): similarity = 1 − mean |Δ| / 255 against the last
// inferred frame (the anchor, not the previous frame, so slow drift still ends a run of reuse).
// A cut changes the thumbnail far beyond the threshold, so reuse never crosses a shot boundary;
// `maxGapSec` bounds how old a reused result can be. Decisions depend only on the pixels and the
// config, so a run stays reproducible; each frame records whether it was reused and the similarity.
import { z } from 'zod';
import { nd, type NdArray } from '../../../../contracts/index.js';

export const THUMB_W = 32;
export const THUMB_H = 18;

/** Reuse settings as a provider's config declares them (shared by the providers that reuse). */
export const reuseConfigShape = {
  /**
   * Skip inference on frames that are near-duplicates of the last inferred frame and reuse its
   * result (recorded per frame in `reused` / `reuse_similarity`); false computes every frame.
   */
  reuse_near_duplicates: z.boolean().default(true),
  /** Thumbnail similarity (1 − mean |Δ| / 255) at or above which a frame reuses the anchor's result. */
  reuse_min_similarity: z.number().min(0).max(1).default(0.98),
  /** A result is reused at most this long after the frame it was computed on (seconds). */
  reuse_max_gap_sec: z.number().min(0).default(1),
};

/** Reuse settings in code form. */
export interface ReuseParams {
  enabled: boolean;
  minSimilarity: number;
  maxGapSec: number;
}

/** The params of a config that spreads `reuseConfigShape`. */
export function reuseParamsOf(config: {
  reuse_near_duplicates: boolean;
  reuse_min_similarity: number;
  reuse_max_gap_sec: number;
}): ReuseParams {
  return {
    enabled: config.reuse_near_duplicates,
    minSimilarity: config.reuse_min_similarity,
    maxGapSec: config.reuse_max_gap_sec,
  };
}

/** The per-frame arrays of a provider that reuses (N = its frames). */
export const REUSE_ARRAYS = {
  reused: {
    dtype: 'bool',
    shape: ['N'],
    description:
      'the frame was not inferred: it carries the result of the last inferred frame (near-duplicate)',
  },
  reuse_similarity: {
    dtype: 'float32',
    shape: ['N'],
    description:
      'thumbnail similarity (1 − mean |Δ| / 255, 32×18 grey) to the last inferred frame; NaN on the first frame',
  },
} as const;

/** The 32×18 grey thumbnail (area means, BT.601 luma) of an RGB24 frame. */
export function frameThumbnail(rgb: Uint8Array, width: number, height: number): Float32Array {
  const out = new Float32Array(THUMB_W * THUMB_H);
  const counts = new Float32Array(THUMB_W * THUMB_H);
  // Column → thumbnail column, computed once per frame width.
  const tx = new Int32Array(width);
  for (let x = 0; x < width; x++) tx[x] = Math.min(THUMB_W - 1, Math.floor((x * THUMB_W) / width));
  for (let y = 0; y < height; y++) {
    const row = Math.min(THUMB_H - 1, Math.floor((y * THUMB_H) / height)) * THUMB_W;
    let p = y * width * 3;
    for (let x = 0; x < width; x++, p += 3) {
      const t = row + (tx[x] as number);
      out[t] =
        (out[t] as number) +
        0.299 * (rgb[p] as number) +
        0.587 * (rgb[p + 1] as number) +
        0.114 * (rgb[p + 2] as number);
      counts[t] = (counts[t] as number) + 1;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / Math.max(1, counts[i] as number);
  return out;
}

/** 1 − mean |a − b| / 255 of two thumbnails (1: identical). */
export function thumbnailSimilarity(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] as number) - (b[i] as number));
  return 1 - sum / a.length / 255;
}

/** One frame's decision: infer it, or reuse the anchor's result. */
export interface ReuseDecision {
  reuse: boolean;
  /** Similarity to the anchor (NaN when there is none yet). */
  similarity: number;
}

/** Decides frame by frame, in time order, which frames reuse the last inferred frame's result. */
export class ReusePlanner {
  #anchor: Float32Array | null = null;
  #anchorTimeSec = 0;

  constructor(readonly params: ReuseParams) {}

  decide(thumbnail: Float32Array, timeSec: number): ReuseDecision {
    const similarity = this.#anchor ? thumbnailSimilarity(this.#anchor, thumbnail) : Number.NaN;
    const reuse =
      this.params.enabled &&
      this.#anchor !== null &&
      timeSec - this.#anchorTimeSec <= this.params.maxGapSec + 1e-9 &&
      similarity >= this.params.minSimilarity;
    if (!reuse) {
      this.#anchor = thumbnail;
      this.#anchorTimeSec = timeSec;
    }
    return { reuse, similarity };
  }
}

/** The `meta.reuse` record of a provider that reuses. */
export const reuseMetaSchema = z.object({
  enabled: z.boolean(),
  min_similarity: z.number(),
  max_gap_sec: z.number(),
  reused_frames: z.number().int().nonnegative(),
});

/** The per-frame arrays and the `meta.reuse` record of a run with reuse (see `runOverFrames`). */
export function reuseRecord(
  run: { reused: Uint8Array; reuseSimilarity: Float32Array },
  params: ReuseParams,
): {
  arrays: { reused: NdArray; reuse_similarity: NdArray };
  meta: z.infer<typeof reuseMetaSchema>;
  reusedFrames: number;
} {
  const n = run.reused.length;
  const reusedFrames = run.reused.reduce((a, b) => a + b, 0);
  return {
    arrays: { reused: nd.bool(run.reused, [n]), reuse_similarity: nd.float32(run.reuseSimilarity, [n]) },
    meta: {
      enabled: params.enabled,
      min_similarity: params.minSimilarity,
      max_gap_sec: params.maxGapSec,
      reused_frames: reusedFrames,
    },
    reusedFrames,
  };
}
