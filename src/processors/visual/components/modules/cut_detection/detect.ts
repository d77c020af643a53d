/**
 * Content-based shot boundary detection over sampled frames (pure functions, no I/O).
 *
 * Per frame, one pass over the pixels (every 2nd pixel of every 2nd row) builds a 128-bin joint
 * Y/U/V colour histogram (8×4×4, soft-binned) and a 16×16 grid of mean luma. The transition score between
 * consecutive sampled frames combines the histogram's L1 distance (what changed in colour
 * content) and the grid's mean absolute difference (what changed in layout); both are in [0, 1].
 */

export const HIST_BINS = 128;
export const GRID = 16;

export interface FrameFeatures {
  histogram: Float32Array;
  grid: Float32Array;
}

/** Bin position of a value for `bins` equal bins over 0..255, centred (so 0.5 lies mid-bin). */
function position(value: number, bins: number): [number, number, number] {
  const p = Math.min(bins - 1, Math.max(0, (value * bins) / 256 - 0.5));
  const lo = Math.floor(p);
  return [lo, Math.min(bins - 1, lo + 1), p - lo];
}

/**
 * Adds one pixel to the 8×4×4 histogram with trilinear soft binning: a pixel's weight is shared
 * between neighbouring bins, so a gradual change (a fade) moves mass smoothly instead of making a
 * spike each time values cross a bin edge.
 */
function addSoft(histogram: Float32Array, luma: number, u: number, v: number): void {
  const [y0, y1, fy] = position(luma, 8);
  const [u0, u1, fu] = position(u, 4);
  const [v0, v1, fv] = position(v, 4);
  for (const [yb, wy] of [
    [y0, 1 - fy],
    [y1, fy],
  ] as const) {
    for (const [ub, wu] of [
      [u0, 1 - fu],
      [u1, fu],
    ] as const) {
      const wyu = wy * wu;
      const base = (yb << 4) | (ub << 2);
      histogram[base | v0] = (histogram[base | v0] as number) + wyu * (1 - fv);
      histogram[base | v1] = (histogram[base | v1] as number) + wyu * fv;
    }
  }
}

/** Features of one RGB24 frame at `pixels[offset …]`. */
export function frameFeatures(
  pixels: Uint8Array,
  offset: number,
  width: number,
  height: number,
): FrameFeatures {
  const histogram = new Float32Array(HIST_BINS);
  const gridSum = new Float32Array(GRID * GRID);
  const gridCount = new Float32Array(GRID * GRID);
  const stride = width * 3;
  let samples = 0;
  for (let y = 0; y < height; y += 2) {
    const gy = Math.min(GRID - 1, Math.floor((y * GRID) / height));
    let p = offset + y * stride;
    for (let x = 0; x < width; x += 2, p += 6) {
      const r = pixels[p] as number;
      const g = pixels[p + 1] as number;
      const b = pixels[p + 2] as number;
      // BT.601 integer approximations; U and V shifted into 0..255.
      const luma = (77 * r + 150 * g + 29 * b) >> 8;
      const u = ((-43 * r - 85 * g + 128 * b) >> 8) + 128;
      const v = ((128 * r - 107 * g - 21 * b) >> 8) + 128;
      addSoft(histogram, luma, u, v);
      const cell = gy * GRID + Math.min(GRID - 1, Math.floor((x * GRID) / width));
      gridSum[cell] = (gridSum[cell] as number) + luma;
      gridCount[cell] = (gridCount[cell] as number) + 1;
      samples += 1;
    }
  }
  for (let i = 0; i < HIST_BINS; i += 1) histogram[i] = (histogram[i] as number) / samples;
  const grid = new Float32Array(GRID * GRID);
  for (let i = 0; i < grid.length; i += 1)
    grid[i] = (gridCount[i] as number) > 0 ? (gridSum[i] as number) / (gridCount[i] as number) / 255 : 0;
  return { histogram, grid };
}

/** Score in [0, 1] of the change between two frames. */
export function transitionScore(a: FrameFeatures, b: FrameFeatures): number {
  let hist = 0;
  for (let i = 0; i < HIST_BINS; i += 1)
    hist += Math.abs((a.histogram[i] as number) - (b.histogram[i] as number));
  let grid = 0;
  for (let i = 0; i < a.grid.length; i += 1) grid += Math.abs((a.grid[i] as number) - (b.grid[i] as number));
  const histDistance = hist / 2;
  const gridDistance = Math.min(1, (grid / a.grid.length) * 4);
  return 0.6 * histDistance + 0.4 * gridDistance;
}

export interface DetectParams {
  /** A hard cut needs at least this score. */
  cutThreshold: number;
  /** … and at least this multiple of the local median score (ignores steady motion). */
  localRatio: number;
  /** Neighbours on each side for the local median. */
  localWindow: number;
  /** Shots shorter than this (seconds) are merged into the previous one. */
  minShotSec: number;
  /** Scores above this (but below a cut) may form a gradual transition. */
  gradualThreshold: number;
  /** A gradual transition spans at least this many sampled frames. */
  gradualMinFrames: number;
}

export interface Detection {
  /** Score between sampled frame k−1 and k (NaN for k = 0). */
  scores: Float32Array;
  /** Positions k (in the sampled sequence) where a new shot starts with a hard cut. */
  cutPositions: number[];
  /** Gradual transitions as [first, last] positions in the sampled sequence. */
  gradual: [number, number][];
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Hard cuts: score ≥ cutThreshold and ≥ localRatio × the median of its neighbours' scores, at
 * least minShotSec after the previous boundary. Gradual transitions: a run of ≥ gradualMinFrames
 * consecutive scores above gradualThreshold (no hard cut inside) whose end frame differs from its
 * start frame by at least cutThreshold.
 */
export function detectTransitions(
  features: readonly FrameFeatures[],
  timesSec: Float64Array,
  params: DetectParams,
): Detection {
  const n = features.length;
  const scores = new Float32Array(n).fill(Number.NaN);
  for (let k = 1; k < n; k += 1)
    scores[k] = transitionScore(features[k - 1] as FrameFeatures, features[k] as FrameFeatures);
  const cutPositions: number[] = [];
  let lastBoundaryTime = Number.NEGATIVE_INFINITY;
  for (let k = 1; k < n; k += 1) {
    const s = scores[k] as number;
    if (s < params.cutThreshold) continue;
    const neighbours: number[] = [];
    for (let j = Math.max(1, k - params.localWindow); j <= Math.min(n - 1, k + params.localWindow); j += 1) {
      if (j !== k) neighbours.push(scores[j] as number);
    }
    if (s < params.localRatio * median(neighbours)) continue;
    const t = timesSec[k] as number;
    if (t - lastBoundaryTime < params.minShotSec && cutPositions.length > 0) {
      // Two boundaries too close: keep the stronger one.
      const previous = cutPositions[cutPositions.length - 1] as number;
      if (s > (scores[previous] as number)) {
        cutPositions[cutPositions.length - 1] = k;
        lastBoundaryTime = t;
      }
      continue;
    }
    cutPositions.push(k);
    lastBoundaryTime = t;
  }
  const isCut = new Set(cutPositions);
  const gradual: [number, number][] = [];
  let k = 1;
  while (k < n) {
    if ((scores[k] as number) >= params.gradualThreshold && !isCut.has(k)) {
      let end = k;
      while (end + 1 < n && (scores[end + 1] as number) >= params.gradualThreshold && !isCut.has(end + 1))
        end += 1;
      const span = end - k + 1;
      if (
        span >= params.gradualMinFrames &&
        transitionScore(features[k - 1] as FrameFeatures, features[end] as FrameFeatures) >=
          params.cutThreshold
      ) {
        gradual.push([k, end]);
      }
      k = end + 1;
    } else k += 1;
  }
  return { scores, cutPositions, gradual };
}
