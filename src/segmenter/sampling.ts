import type { FrameBudget } from '../contracts/index.js';

/**
 * Sampling policy sp_v1 (R-SEG-3). Changing anything in this file's rule must change the version.
 *
 * count = min(total frames, clamp(round(targetPerMinute × duration / 60 s), min, max))
 * Frames are spaced evenly in presentation time from the first to the last frame; each target
 * time takes the nearest frame, and ties with an earlier pick move to the next unused frame, so
 * indices are strictly increasing and exactly `count` long.
 */
export const SAMPLING_POLICY_VERSION = 'sp_v1';

/**
 * SPEC §3 R-SEG-3 default budgets (min–max from the spec; targets per minute chosen so a typical
 * 1-minute video gets distinct counts per component). Components take theirs from here.
 */
export const DEFAULT_FRAME_BUDGETS = {
  cut_detection: { min: 400, targetPerMinute: 900, max: 1500 },
  core_clip: { min: 200, targetPerMinute: 300, max: 800 },
  core_depth_midas: { min: 120, targetPerMinute: 150, max: 400 },
  core_face_landmarks: { min: 200, targetPerMinute: 400, max: 800 },
  shot_quality: { min: 200, targetPerMinute: 500, max: 1000 },
} as const satisfies Record<string, FrameBudget>;

export function frameCount(budget: FrameBudget, durationSec: number, totalFrames: number): number {
  const wanted = Math.round((budget.targetPerMinute * durationSec) / 60);
  const clamped = Math.min(budget.max, Math.max(budget.min, wanted));
  return Math.max(0, Math.min(totalFrames, clamped));
}

/** Index of the frame whose timestamp is nearest to `t` (timestamps ascending). */
function nearestIndex(timestamps: Float64Array, t: number): number {
  let lo = 0;
  let hi = timestamps.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((timestamps[mid] ?? 0) < t) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && t - (timestamps[lo - 1] ?? 0) <= (timestamps[lo] ?? 0) - t) return lo - 1;
  return lo;
}

/** Source-domain indices (i-th presented frame) of `count` frames evenly spaced in time. */
export function sampleSourceIndices(timestampsSec: Float64Array, count: number): Int32Array {
  const total = timestampsSec.length;
  if (count >= total) return Int32Array.from({ length: total }, (_, i) => i);
  const out = new Int32Array(count);
  if (count === 0) return out;
  const first = timestampsSec[0] ?? 0;
  const last = timestampsSec[total - 1] ?? 0;
  let previous = -1;
  for (let k = 0; k < count; k += 1) {
    const t = count === 1 ? first : first + ((last - first) * k) / (count - 1);
    let index = nearestIndex(timestampsSec, t);
    if (index <= previous) index = previous + 1;
    // Leave room for the picks still to come.
    index = Math.min(index, total - (count - k));
    out[k] = index;
    previous = index;
  }
  return out;
}

export interface UnionPlan {
  /** Sorted, de-duplicated source indices of every frame any component needs. */
  unionSource: Int32Array;
  perComponent: Map<string, { sourceIndices: Int32Array; unionIndices: Int32Array; budget: FrameBudget }>;
}

/** Builds the union of all components' source indices and maps each into the union domain. */
export function planUnion(
  timestampsSec: Float64Array,
  durationSec: number,
  budgets: ReadonlyMap<string, FrameBudget>,
): UnionPlan {
  const perSource = new Map<string, { sourceIndices: Int32Array; budget: FrameBudget }>();
  const all = new Set<number>();
  for (const [name, budget] of budgets) {
    const sourceIndices = sampleSourceIndices(
      timestampsSec,
      frameCount(budget, durationSec, timestampsSec.length),
    );
    perSource.set(name, { sourceIndices, budget });
    for (const i of sourceIndices) all.add(i);
  }
  const unionSource = Int32Array.from([...all].sort((a, b) => a - b));
  const position = new Map<number, number>();
  unionSource.forEach((s, u) => position.set(s, u));
  const perComponent = new Map<
    string,
    { sourceIndices: Int32Array; unionIndices: Int32Array; budget: FrameBudget }
  >();
  for (const [name, { sourceIndices, budget }] of perSource) {
    perComponent.set(name, {
      sourceIndices,
      unionIndices: sourceIndices.map((s) => position.get(s) ?? -1),
      budget,
    });
  }
  return { unionSource, perComponent };
}
