// Long series stay responsive: a plot draws at most a few thousand points. Downsampling picks a
// subset of the original samples (never averages or moves them): per bucket of consecutive samples
// the first and last, and for every series its minimum, its maximum and its first gap (NaN), so
// peaks, dips and silences survive at any zoom-out. The data itself is never changed.

/** Plots with at most this many samples are drawn as they are. */
export const MAX_DISPLAY_POINTS = 4000;

/**
 * Indices (ascending) of the samples to draw, or null when all of them are drawn. `series` are
 * the y arrays sharing the x axis; NaN and null are gaps.
 */
export function displayIndices(
  length: number,
  series: readonly ArrayLike<number | null>[],
  maxPoints = MAX_DISPLAY_POINTS,
): Int32Array | null {
  if (length <= maxPoints) return null;
  const perBucket = 2 + 3 * Math.max(1, series.length);
  const buckets = Math.max(1, Math.floor(maxPoints / perBucket));
  const size = Math.ceil(length / buckets);
  const keep = new Uint8Array(length);
  for (let start = 0; start < length; start += size) {
    const end = Math.min(length, start + size);
    keep[start] = 1;
    keep[end - 1] = 1;
    for (const values of series) {
      let min = -1;
      let max = -1;
      let gap = -1;
      for (let i = start; i < end; i += 1) {
        const v = values[i];
        if (v === null || v === undefined || Number.isNaN(v)) {
          if (gap < 0) gap = i;
          continue;
        }
        if (min < 0 || v < (values[min] as number)) min = i;
        if (max < 0 || v > (values[max] as number)) max = i;
      }
      if (min >= 0) keep[min] = 1;
      if (max >= 0) keep[max] = 1;
      if (gap >= 0) keep[gap] = 1;
    }
  }
  let count = 0;
  for (let i = 0; i < length; i += 1) count += keep[i] as number;
  const indices = new Int32Array(count);
  let k = 0;
  for (let i = 0; i < length; i += 1) if (keep[i]) indices[k++] = i;
  return indices;
}

/** The values at `indices` (all of them when null), NaN as null (uPlot's gap). */
export function pick(values: ArrayLike<number | null>, indices: Int32Array | null): (number | null)[] {
  const out: (number | null)[] = [];
  const n = indices ? indices.length : values.length;
  for (let k = 0; k < n; k += 1) {
    const v = values[indices ? (indices[k] as number) : k];
    out.push(v === null || v === undefined || Number.isNaN(v) ? null : v);
  }
  return out;
}
