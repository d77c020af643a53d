/**
 * Content-based shot boundary detection over a component's sampled frames. Pure, deterministic
 * functions without I/O: the component (`index.ts`) feeds them pixels and maps the positions they
 * return (0..n-1 in the sampled sequence) to source-domain frame indices.
 *
 * Pipeline:
 * 1. `frameFeatures` — one pass over every 2nd pixel of every 2nd row builds a soft-binned joint
 *    Y/U/V colour histogram (what colours are there) and a luma thumbnail (where the light is).
 * 2. `transitionScores` — per consecutive pair, a weighted mix of the histograms' L1 distance and
 *    the thumbnails' mean absolute difference, in [0, 1].
 * 3. `detectHardCuts` — a score high in absolute terms and relative to its neighbours' median,
 *    with a minimum shot length in source frames.
 * 4. `detectGradualTransitions` — runs of moderately elevated scores (fades, dissolves) whose
 *    accumulated change is large.
 * 5. `shotStartPositions` — the shot list from both kinds of boundaries.
 */

/** Luma bins of the joint histogram. */
export const LUMA_BINS = 8;
/** Bins per chroma axis (U and V) of the joint histogram. */
export const CHROMA_BINS = 4;
/** Size of `FrameFeatures.histogram`: LUMA_BINS × CHROMA_BINS × CHROMA_BINS. */
export const HIST_BINS = LUMA_BINS * CHROMA_BINS * CHROMA_BINS;
/** Thumbnail columns and rows: a fixed grid whatever the frame's aspect, so scores compare across videos. */
export const THUMB_COLS = 16;
export const THUMB_ROWS = 16;
// Every PIXEL_STEP-th pixel of every PIXEL_STEP-th row: at 320 px height that is still ~45k
// samples per frame, far more than a 128-bin histogram and a 256-cell thumbnail need, for a
// quarter of the memory traffic.
const PIXEL_STEP = 2;

/** What one frame contributes to the transition scores. */
export interface FrameFeatures {
  /** Joint Y/U/V histogram, HIST_BINS bins summing to 1; bin = (y × CHROMA_BINS + u) × CHROMA_BINS + v. */
  histogram: Float32Array;
  /** Mean luma per cell in [0, 1], THUMB_ROWS × THUMB_COLS row-major. */
  thumbnail: Float32Array;
}

/**
 * Soft-binning tables for one axis: value → lower bin offset, upper bin offset, weight of the
 * upper bin. Bins are centred (value (b + 0.5) × 256 / bins lies mid-bin b), and a value's weight
 * is shared linearly between the two nearest bin centres, so a fade moves histogram mass smoothly
 * instead of jumping whole bins when values cross a bin edge (which would make a flat-colour
 * fade look like a string of hard cuts).
 */
function softBinTable(bins: number, stride: number): { lo: Int32Array; hi: Int32Array; up: Float64Array } {
  const lo = new Int32Array(256);
  const hi = new Int32Array(256);
  const up = new Float64Array(256);
  for (let value = 0; value < 256; value += 1) {
    const position = Math.min(bins - 1, Math.max(0, ((value + 0.5) * bins) / 256 - 0.5));
    const bin = Math.floor(position);
    lo[value] = bin * stride;
    hi[value] = Math.min(bins - 1, bin + 1) * stride;
    up[value] = position - bin;
  }
  return { lo, hi, up };
}

const LUMA_TABLE = softBinTable(LUMA_BINS, CHROMA_BINS * CHROMA_BINS);
const CHROMA_U_TABLE = softBinTable(CHROMA_BINS, CHROMA_BINS);
const CHROMA_V_TABLE = softBinTable(CHROMA_BINS, 1);

interface SamplingLayout {
  width: number;
  height: number;
  /** Thumbnail column of each sampled x. */
  columnCell: Int32Array;
  /** Thumbnail cell offset (row × THUMB_COLS) of each sampled y. */
  rowCell: Int32Array;
  /** Number of samples falling into each thumbnail cell. */
  samplesPerCell: Float64Array;
  samples: number;
}

// All frames of one component share one size, so the layout is built once per size.
let cachedLayout: SamplingLayout | null = null;

function layoutFor(width: number, height: number): SamplingLayout {
  if (cachedLayout?.width === width && cachedLayout.height === height) return cachedLayout;
  const columnCell = new Int32Array(width);
  for (let x = 0; x < width; x += 1) columnCell[x] = Math.floor((x * THUMB_COLS) / width);
  const rowCell = new Int32Array(height);
  for (let y = 0; y < height; y += 1) rowCell[y] = Math.floor((y * THUMB_ROWS) / height) * THUMB_COLS;
  const samplesPerCell = new Float64Array(THUMB_COLS * THUMB_ROWS);
  let samples = 0;
  for (let y = 0; y < height; y += PIXEL_STEP) {
    for (let x = 0; x < width; x += PIXEL_STEP) {
      samplesPerCell[rowCell[y]! + columnCell[x]!]! += 1;
      samples += 1;
    }
  }
  cachedLayout = { width, height, columnCell, rowCell, samplesPerCell, samples };
  return cachedLayout;
}

/**
 * Features of one RGB24 frame stored at `pixels[offset … offset + width × height × 3)` (C order,
 * as in a `FrameBatch`). Throws a RangeError when the buffer is too short for that frame.
 */
export function frameFeatures(
  pixels: Uint8Array,
  offset: number,
  width: number,
  height: number,
): FrameFeatures {
  if (!(width >= 1 && height >= 1 && offset >= 0 && offset + width * height * 3 <= pixels.length)) {
    throw new RangeError(
      `frameFeatures: a ${width}x${height} RGB frame at offset ${offset} does not fit a buffer of ${pixels.length} bytes`,
    );
  }
  const layout = layoutFor(width, height);
  const { columnCell, rowCell } = layout;
  const { lo: yLo, hi: yHi, up: yUp } = LUMA_TABLE;
  const { lo: uLo, hi: uHi, up: uUp } = CHROMA_U_TABLE;
  const { lo: vLo, hi: vHi, up: vUp } = CHROMA_V_TABLE;
  // Float64 accumulators: float32 would round away small weights once a bin holds thousands.
  const histogram = new Float64Array(HIST_BINS);
  const cellSum = new Float64Array(THUMB_COLS * THUMB_ROWS);
  const rowBytes = width * 3;
  for (let y = 0; y < height; y += PIXEL_STEP) {
    const cellRow = rowCell[y]!;
    let p = offset + y * rowBytes;
    for (let x = 0; x < width; x += PIXEL_STEP, p += 3 * PIXEL_STEP) {
      const r = pixels[p]!;
      const g = pixels[p + 1]!;
      const b = pixels[p + 2]!;
      // BT.601 in 8-bit integer arithmetic; U and V shifted into 0..255 (>> floors, so the
      // extremes land exactly on 0 and 255).
      const luma = (77 * r + 150 * g + 29 * b) >> 8;
      const u = ((-43 * r - 85 * g + 128 * b) >> 8) + 128;
      const v = ((128 * r - 107 * g - 21 * b) >> 8) + 128;
      // Trilinear soft binning: 8 weighted adds (see softBinTable).
      const wy1 = yUp[luma]!;
      const wu1 = uUp[u]!;
      const wv1 = vUp[v]!;
      const wy0 = 1 - wy1;
      const wu0 = 1 - wu1;
      const wv0 = 1 - wv1;
      const y0 = yLo[luma]!;
      const y1 = yHi[luma]!;
      const u0 = uLo[u]!;
      const u1 = uHi[u]!;
      const v0 = vLo[v]!;
      const v1 = vHi[v]!;
      let w = wy0 * wu0;
      histogram[y0 + u0 + v0]! += w * wv0;
      histogram[y0 + u0 + v1]! += w * wv1;
      w = wy0 * wu1;
      histogram[y0 + u1 + v0]! += w * wv0;
      histogram[y0 + u1 + v1]! += w * wv1;
      w = wy1 * wu0;
      histogram[y1 + u0 + v0]! += w * wv0;
      histogram[y1 + u0 + v1]! += w * wv1;
      w = wy1 * wu1;
      histogram[y1 + u1 + v0]! += w * wv0;
      histogram[y1 + u1 + v1]! += w * wv1;
      cellSum[cellRow + columnCell[x]!]! += luma;
    }
  }
  const normalisedHistogram = new Float32Array(HIST_BINS);
  for (let i = 0; i < HIST_BINS; i += 1) normalisedHistogram[i] = histogram[i]! / layout.samples;
  const thumbnail = new Float32Array(cellSum.length);
  for (let i = 0; i < cellSum.length; i += 1) {
    const count = layout.samplesPerCell[i]!;
    thumbnail[i] = count > 0 ? cellSum[i]! / count / 255 : 0;
  }
  return { histogram: normalisedHistogram, thumbnail };
}

// The mean absolute luma difference of two unrelated frames is typically 0.1–0.3 (mostly mid
// tones); this gain maps that onto the histogram distance's range before clamping to 1.
const THUMB_GAIN = 4;

/**
 * Change between two frames in [0, 1]: `histogramWeight × L1(histograms) / 2 +
 * (1 − histogramWeight) × min(1, 4 × mean |thumbnail difference|)`. 0 for identical frames. The
 * histogram part ignores motion within a shot but misses cuts between similar palettes; the
 * thumbnail part sees layout changes but also motion — together they cover each other.
 */
export function transitionScore(a: FrameFeatures, b: FrameFeatures, histogramWeight = 0.5): number {
  let histogramL1 = 0;
  for (let i = 0; i < HIST_BINS; i += 1) histogramL1 += Math.abs(a.histogram[i]! - b.histogram[i]!);
  let thumbnailL1 = 0;
  const cells = a.thumbnail.length;
  for (let i = 0; i < cells; i += 1) thumbnailL1 += Math.abs(a.thumbnail[i]! - b.thumbnail[i]!);
  const histogramDistance = Math.min(1, histogramL1 / 2);
  const thumbnailDistance = Math.min(1, (THUMB_GAIN * thumbnailL1) / cells);
  return histogramWeight * histogramDistance + (1 - histogramWeight) * thumbnailDistance;
}

/** Score between sampled frame k−1 and k for every k (NaN for k = 0). */
export function transitionScores(features: readonly FrameFeatures[], histogramWeight = 0.5): Float32Array {
  const scores = new Float32Array(features.length).fill(Number.NaN);
  for (let k = 1; k < features.length; k += 1)
    scores[k] = transitionScore(features[k - 1]!, features[k]!, histogramWeight);
  return scores;
}

/** Detector parameters (the component's config, compiled). */
export interface DetectParams {
  /** Weight of the histogram distance in the score; the thumbnail difference gets the rest. @defaultValue 0.5 */
  histogramWeight: number;
  /** A hard cut needs a score of at least this. @defaultValue 0.3 */
  cutThreshold: number;
  /** … and at least this multiple of the median score of its neighbours (steady motion is not a cut). @defaultValue 2 */
  localRatio: number;
  /** Neighbouring scores on each side that form that median. @defaultValue 8 */
  localWindow: number;
  /** Source frames between two hard cuts (and from the first frame to the first cut), at least. @defaultValue 8 */
  minShotFrames: number;
  /** Scores of at least this (and no hard cut) form candidate runs for a gradual transition. @defaultValue 0.03 */
  gradualThreshold: number;
  /** A run's median score must be at least this multiple of the scores' median around it. @defaultValue 2 */
  gradualRatio: number;
  /** Positions on each side of a run that form the median around it. @defaultValue 30 */
  gradualWindow: number;
  /** A gradual transition spans at least this many consecutive sampled transitions. @defaultValue 4 */
  gradualMinFrames: number;
  /** … and the frames before and after it differ by a score of at least this. @defaultValue 0.3 */
  gradualMinChange: number;
  /** … and its `blendResidual` is at most this (on the test videos: fades ≈ 0, a dissolve 0.03, pans 0.16–0.4). @defaultValue 0.1 */
  gradualMaxResidual: number;
}

/** Defaults for `DetectParams` (the component's config defaults use these). */
export const DEFAULT_DETECT_PARAMS: Readonly<DetectParams> = {
  histogramWeight: 0.5,
  cutThreshold: 0.3,
  localRatio: 2,
  localWindow: 8,
  minShotFrames: 8,
  gradualThreshold: 0.03,
  gradualRatio: 2,
  gradualWindow: 30,
  gradualMinFrames: 4,
  gradualMinChange: 0.3,
  gradualMaxResidual: 0.1,
};

/** Detector output, in positions 0..n-1 of the sampled sequence. */
export interface Detection {
  /** Score between sampled frame k−1 and k (NaN for k = 0). */
  scores: Float32Array;
  /** Positions k where a new shot starts with a hard cut (the first sampled frame after it), ascending. */
  cutPositions: number[];
  /** Gradual transitions as [first, last] positions whose score belongs to the transition, ascending. */
  gradual: [number, number][];
  /** Positions where shots start: 0, the cuts and the gradual transitions' ends (see `shotStartPositions`). */
  shotStarts: number[];
}

/** Median of `values`; NaN when empty. Sorts `values` in place. */
function medianInPlace(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  values.sort((x, y) => x - y);
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
}

/** Median of the finite scores at positions [from, to] other than `except`; 0 when there are none. */
function localMedian(
  scores: Float32Array,
  from: number,
  to: number,
  except: number,
  scratch: number[],
): number {
  scratch.length = 0;
  for (let j = Math.max(0, from); j <= Math.min(scores.length - 1, to); j += 1) {
    const s = scores[j]!;
    if (j !== except && !Number.isNaN(s)) scratch.push(s);
  }
  return scratch.length === 0 ? 0 : medianInPlace(scratch);
}

/**
 * Hard cuts: position k whose score is ≥ `cutThreshold` and ≥ `localRatio` × the median of the
 * `localWindow` scores on each side (so a burst of fast motion, where every score is high, is
 * not a cut). A cut closer than `minShotFrames` source frames to the previous one (or to the
 * first frame) would make a shot too short: of two such cuts the stronger wins.
 */
export function detectHardCuts(
  scores: Float32Array,
  sourceFrameIndices: ArrayLike<number>,
  params: DetectParams,
): number[] {
  const cuts: number[] = [];
  const scratch: number[] = [];
  const firstFrame = sourceFrameIndices[0] ?? 0;
  for (let k = 1; k < scores.length; k += 1) {
    const s = scores[k]!;
    if (!(s >= params.cutThreshold)) continue;
    const median = localMedian(scores, k - params.localWindow, k + params.localWindow, k, scratch);
    if (s < params.localRatio * median) continue;
    const frame = sourceFrameIndices[k]!;
    const previous = cuts[cuts.length - 1];
    const previousFrame = previous === undefined ? firstFrame : sourceFrameIndices[previous]!;
    if (frame - previousFrame >= params.minShotFrames) cuts.push(k);
    else if (previous !== undefined && s > scores[previous]!) cuts[cuts.length - 1] = k;
  }
  return cuts;
}

/**
 * How far a run of frames is from a pure blend: the mean, over the frames strictly between
 * `before` and `last`, of the squared distance of each frame's thumbnail from the straight line
 * through the thumbnails of `before` and `last`, relative to the squared distance between those
 * two. Cell means are linear in the pixels, so a fade or a dissolve — a per-pixel mix of two
 * pictures — scores ≈ 0 (only motion inside the shots adds to it), while a camera pan or a zoom,
 * which moves content instead of mixing it, scores well above 0.1. 0 when there is no frame in
 * between; Infinity when `before` and `last` are identical.
 */
export function blendResidual(features: readonly FrameFeatures[], before: number, last: number): number {
  const a = features[before]!.thumbnail;
  const b = features[last]!.thumbnail;
  const cells = a.length;
  let span = 0;
  for (let i = 0; i < cells; i += 1) span += (b[i]! - a[i]!) ** 2;
  if (last - before < 2) return 0;
  if (span === 0) return Number.POSITIVE_INFINITY;
  let total = 0;
  for (let m = before + 1; m < last; m += 1) {
    const t = features[m]!.thumbnail;
    // Least-squares mix α of frame m between a and b, then what that mix leaves unexplained.
    let dot = 0;
    for (let i = 0; i < cells; i += 1) dot += (t[i]! - a[i]!) * (b[i]! - a[i]!);
    const alpha = dot / span;
    let residual = 0;
    for (let i = 0; i < cells; i += 1) residual += (t[i]! - a[i]! - alpha * (b[i]! - a[i]!)) ** 2;
    total += residual / span;
  }
  return total / (last - before - 1);
}

/**
 * Gradual transitions (fades, dissolves) — a first version. A candidate is a maximal run of
 * consecutive positions, none of them a hard cut, with scores ≥ `gradualThreshold`. It is a
 * gradual transition [first, last] when
 * - it spans at least `gradualMinFrames` positions (a fade changes the picture a little on
 *   every frame; a cut or a flash on one);
 * - its median score is ≥ `gradualRatio` × the baseline: the larger of the median scores of the
 *   `gradualWindow` positions before it and after it, counting only positions outside every
 *   candidate run (so a fade-out next to a fade-in does not raise the other's baseline). Steady
 *   motion keeps a whole stretch above the threshold and its baseline as high as the run: no
 *   transition. A run with no outside position on either side is rejected;
 * - its accumulated change — the score between the frame before it and its last frame — is
 *   ≥ `gradualMinChange`, as for a cut: the picture really changed;
 * - it is a blend: `blendResidual` ≤ `gradualMaxResidual` (a pan changes the picture gradually
 *   too, but by moving it).
 * A fade-out straight into a fade-in makes one run that is no single blend; such a run is split
 * once, where both halves pass the last three tests best.
 */
export function detectGradualTransitions(
  features: readonly FrameFeatures[],
  scores: Float32Array,
  cutPositions: readonly number[],
  params: DetectParams,
): [number, number][] {
  const n = scores.length;
  const isCut = new Uint8Array(n);
  for (const k of cutPositions) isCut[k] = 1;
  const inRun = new Uint8Array(n);
  const runs: [number, number][] = [];
  for (let k = 1; k < n;) {
    if (isCut[k] || !(scores[k]! >= params.gradualThreshold)) {
      k += 1;
      continue;
    }
    let end = k;
    while (end + 1 < n && !isCut[end + 1] && scores[end + 1]! >= params.gradualThreshold) end += 1;
    runs.push([k, end]);
    inRun.fill(1, k, end + 1);
    k = end + 1;
  }
  // Median of the scores outside every run and every cut in [from, to]; NaN when there are none.
  const outsideMedian = (from: number, to: number): number => {
    const values: number[] = [];
    for (let j = Math.max(1, from); j <= Math.min(n - 1, to); j += 1)
      if (!inRun[j] && !isCut[j]) values.push(scores[j]!);
    return medianInPlace(values);
  };
  // Blend residual of [first, last] when it is long enough, changed enough and is a blend; else NaN.
  const blendFit = (first: number, last: number): number => {
    if (last - first + 1 < params.gradualMinFrames) return Number.NaN;
    const change = transitionScore(features[first - 1]!, features[last]!, params.histogramWeight);
    if (!(change >= params.gradualMinChange)) return Number.NaN;
    const residual = blendResidual(features, first - 1, last);
    return residual <= params.gradualMaxResidual ? residual : Number.NaN;
  };
  const transitions: [number, number][] = [];
  for (const [first, last] of runs) {
    if (last - first + 1 < params.gradualMinFrames) continue;
    const before = outsideMedian(first - params.gradualWindow, first - 1);
    const after = outsideMedian(last + 1, last + params.gradualWindow);
    if (Number.isNaN(before) && Number.isNaN(after)) continue;
    const baseline = Math.max(Number.isNaN(before) ? 0 : before, Number.isNaN(after) ? 0 : after);
    const runMedian = medianInPlace(Array.from(scores.subarray(first, last + 1)));
    if (runMedian < params.gradualRatio * baseline) continue;
    if (!Number.isNaN(blendFit(first, last))) {
      transitions.push([first, last]);
      continue;
    }
    let bestSplit = -1;
    let bestFit = Number.POSITIVE_INFINITY;
    for (let m = first; m < last; m += 1) {
      const fit = Math.max(blendFit(first, m), blendFit(m + 1, last));
      if (fit < bestFit) {
        bestFit = fit;
        bestSplit = m;
      }
    }
    if (bestSplit >= 0) transitions.push([first, bestSplit], [bestSplit + 1, last]);
  }
  return transitions;
}

/**
 * Shot starts: position 0, every hard cut, and the last position of every gradual transition (its
 * frames before that belong to the outgoing shot). A gradual boundary that would leave a shot
 * shorter than `minShotFrames` source frames — next to another boundary, or a fade-out that ends
 * at the last frame — is dropped; hard cuts always stand.
 */
export function shotStartPositions(
  sourceFrameIndices: ArrayLike<number>,
  cutPositions: readonly number[],
  gradual: readonly (readonly [number, number])[],
  minShotFrames: number,
): number[] {
  const n = sourceFrameIndices.length;
  if (n === 0) return [];
  const hard = [0, ...cutPositions];
  const frame = (k: number): number => sourceFrameIndices[k]!;
  // The end of the video counts as a boundary too: the last shot must also be long enough.
  const lastFrameEnd = frame(n - 1) + 1;
  const starts = new Set(hard);
  for (const [, end] of gradual) {
    const all = [...starts].sort((a, b) => a - b);
    const before = all.filter((s) => s <= end).at(-1) ?? 0;
    const after = all.find((s) => s > end);
    const nextFrame = after === undefined ? lastFrameEnd : frame(after);
    if (frame(end) - frame(before) >= minShotFrames && nextFrame - frame(end) >= minShotFrames)
      starts.add(end);
  }
  return [...starts].sort((a, b) => a - b);
}

/**
 * The whole detector over one component's sampled frames. `sourceFrameIndices[k]` is the source
 * index of sampled frame k (ascending); it turns `minShotFrames` into source frames, whatever the
 * sampling step.
 */
export function detectTransitions(
  features: readonly FrameFeatures[],
  sourceFrameIndices: ArrayLike<number>,
  params: DetectParams,
): Detection {
  if (sourceFrameIndices.length !== features.length) {
    throw new RangeError(
      `detectTransitions: ${features.length} frames but ${sourceFrameIndices.length} source indices`,
    );
  }
  const scores = transitionScores(features, params.histogramWeight);
  const cutPositions = detectHardCuts(scores, sourceFrameIndices, params);
  const gradual = detectGradualTransitions(features, scores, cutPositions, params);
  const shotStarts = shotStartPositions(sourceFrameIndices, cutPositions, gradual, params.minShotFrames);
  return { scores, cutPositions, gradual, shotStarts };
}
