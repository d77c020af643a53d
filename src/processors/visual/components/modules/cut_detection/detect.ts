/**
 * Shot boundary detection over a sequence of tiny YUV thumbnails. Pure, deterministic functions
 * without I/O. The sequence is normally the Segmenter's every-frame signal (position k = source
 * frame k, so boundaries are exact to the frame); without it, thumbnails made from the
 * component's union frames (`thumbsFromRgb`), and positions map to source frames through
 * `sourceFrameIndices`.
 *
 * Pipeline:
 * 1. `changeScores` — per consecutive pair, the mean absolute difference of the thumbnails (luma
 *    and chroma with equal weight), in [0, 1].
 * 2. `detectHardCuts` — adaptive: a score must stand out from its neighbourhood (a multiple of the
 *    rolling median of the scores around it, so a dark low-contrast cut counts) and pass a global
 *    floor; the change must persist (`isTransient`: a flash or a strobe returns to the picture it
 *    left within a few frames); shots have a minimum length.
 * 3. `detectGradualTransitions` — runs of elevated change at a coarser stride whose frames are a
 *    blend of the frames before and after (fades, dissolves) or a spatial switch from one to the
 *    other (wipes), refined to the exact first and last frame of the mix.
 * 4. `shotStartPositions` — the shot list from both kinds of boundaries.
 */

/** Thumbnails as rows of `dim` values in [0, 1]: luma cells, then U, then V cells. */
export interface Thumbs {
  count: number;
  dim: number;
  /** Luma values per row (the first `lumaCells` of each row). */
  lumaCells: number;
  data: Float32Array;
}

/** Thumbnails from the Segmenter's signal planes (`y [S, H, W]`, `u`/`v [S, H/2, W/2]`). */
export function thumbsFromSignal(signal: {
  frames: number;
  width: number;
  height: number;
  y: Uint8Array;
  u: Uint8Array;
  v: Uint8Array;
}): Thumbs {
  const luma = signal.width * signal.height;
  const chroma = (signal.width / 2) * (signal.height / 2);
  const dim = luma + 2 * chroma;
  const data = new Float32Array(signal.frames * dim);
  for (let k = 0; k < signal.frames; k += 1) {
    const row = k * dim;
    for (let i = 0; i < luma; i += 1) data[row + i] = signal.y[k * luma + i]! / 255;
    for (let i = 0; i < chroma; i += 1) {
      data[row + luma + i] = signal.u[k * chroma + i]! / 255;
      data[row + luma + chroma + i] = signal.v[k * chroma + i]! / 255;
    }
  }
  return { count: signal.frames, dim, lumaCells: luma, data };
}

/** Grid of the thumbnails made from RGB frames (the signal's own grid). */
export const RGB_THUMB_COLS = 32;
export const RGB_THUMB_ROWS = 18;

/**
 * Thumbnails of `count` RGB24 frames (`[count, height, width, 3]`), on the signal's grid: cell
 * means of BT.601 limited-range Y (32×18) and U, V (16×9), every 2nd pixel of every 2nd row.
 */
export function thumbsFromRgb(pixels: Uint8Array, width: number, height: number, count: number): Thumbs {
  const cols = RGB_THUMB_COLS;
  const rows = RGB_THUMB_ROWS;
  const luma = cols * rows;
  const chroma = (cols / 2) * (rows / 2);
  const dim = luma + 2 * chroma;
  const data = new Float32Array(count * dim);
  const colCell = Int32Array.from({ length: width }, (_, x) => Math.floor((x * cols) / width));
  const rowCell = Int32Array.from({ length: height }, (_, y) => Math.floor((y * rows) / height));
  const ySum = new Float64Array(luma);
  const uSum = new Float64Array(chroma);
  const vSum = new Float64Array(chroma);
  const yCount = new Float64Array(luma);
  const cCount = new Float64Array(chroma);
  const frameBytes = width * height * 3;
  for (let k = 0; k < count; k += 1) {
    ySum.fill(0);
    uSum.fill(0);
    vSum.fill(0);
    yCount.fill(0);
    cCount.fill(0);
    for (let y = 0; y < height; y += 2) {
      const rc = rowCell[y]!;
      for (let x = 0; x < width; x += 2) {
        const p = k * frameBytes + (y * width + x) * 3;
        const r = pixels[p]!;
        const g = pixels[p + 1]!;
        const b = pixels[p + 2]!;
        const cell = rc * cols + colCell[x]!;
        const c = (rc >> 1) * (cols / 2) + (colCell[x]! >> 1);
        ySum[cell]! += 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255;
        uSum[c]! += 128 + (-37.797 * r - 74.203 * g + 112 * b) / 255;
        vSum[c]! += 128 + (112 * r - 93.786 * g - 18.214 * b) / 255;
        yCount[cell]! += 1;
        cCount[c]! += 1;
      }
    }
    const row = k * dim;
    for (let i = 0; i < luma; i += 1) data[row + i] = yCount[i]! > 0 ? ySum[i]! / yCount[i]! / 255 : 0;
    for (let i = 0; i < chroma; i += 1) {
      data[row + luma + i] = cCount[i]! > 0 ? uSum[i]! / cCount[i]! / 255 : 0.5;
      data[row + luma + chroma + i] = cCount[i]! > 0 ? vSum[i]! / cCount[i]! / 255 : 0.5;
    }
  }
  return { count, dim, lumaCells: luma, data };
}

/**
 * Change between thumbnails a and b in [0, 1]: the mean of (mean |Δluma|) and (mean |Δchroma|).
 * 0 for identical frames; two unrelated full-contrast pictures score ≈ 0.1–0.3.
 */
export function distance(t: Thumbs, a: number, b: number): number {
  const { dim, lumaCells, data } = t;
  const ra = a * dim;
  const rb = b * dim;
  let luma = 0;
  for (let i = 0; i < lumaCells; i += 1) luma += Math.abs(data[ra + i]! - data[rb + i]!);
  let chroma = 0;
  for (let i = lumaCells; i < dim; i += 1) chroma += Math.abs(data[ra + i]! - data[rb + i]!);
  return (luma / lumaCells + chroma / (dim - lumaCells)) / 2;
}

/** Score between position k−1 and k for every k (NaN for k = 0). */
export function changeScores(t: Thumbs): Float32Array {
  const scores = new Float32Array(t.count).fill(Number.NaN);
  for (let k = 1; k < t.count; k += 1) scores[k] = distance(t, k - 1, k);
  return scores;
}

/** Detector parameters (the component's config, compiled). */
export interface DetectParams {
  /** Global floor: a hard cut scores at least this (mean absolute change of 0.01 ≈ 2.5 levels of 255). @defaultValue 0.01 */
  cutFloor: number;
  /** … and at least this multiple of the rolling median of the scores around it. @defaultValue 4 */
  localRatio: number;
  /** Positions on each side that form that median. @defaultValue 12 */
  localWindow: number;
  /** … and at least this multiple of both neighbouring scores: a cut happens between two frames, a fast fade over several. @defaultValue 2 */
  peakRatio: number;
  /** A change that returns within this many positions is a flash/strobe, not a cut. @defaultValue 5 */
  flashFrames: number;
  /** "Returns": the frames across the flash differ by less than this fraction of the jump. @defaultValue 0.5 */
  flashSimilarity: number;
  /** Positions between two hard cuts (and from the first frame to the first cut), at least. @defaultValue 6 */
  minShotFrames: number;
  /** Half-length (positions) of the windows tested for a gradual transition. @defaultValue 12 */
  gradualHalfWindow: number;
  /** Positions between two tested window centres. @defaultValue 2 */
  gradualStride: number;
  /** A window's first and last frames differ by at least this. @defaultValue 0.04 */
  gradualMinChange: number;
  /** … its frames are a blend (or wipe) of those two with a mean residual of at most this. @defaultValue 0.08 */
  gradualMaxResidual: number;
  /** … that moves one way: summed steps of the mix α back towards the first frame at most this. @defaultValue 0.25 */
  gradualMaxBacktrack: number;
  /** A gradual transition has at least this many mixed frames (fewer is a cut). @defaultValue 3 */
  gradualMinFrames: number;
  /** … and changes the picture at least this many times faster than its shots do on their own. @defaultValue 1.5 */
  gradualRatio: number;
}

/** Defaults for `DetectParams` (the component's config defaults use these). */
export const DEFAULT_DETECT_PARAMS: Readonly<DetectParams> = {
  cutFloor: 0.01,
  localRatio: 4,
  localWindow: 12,
  peakRatio: 2,
  flashFrames: 5,
  flashSimilarity: 0.5,
  minShotFrames: 6,
  gradualHalfWindow: 12,
  gradualStride: 2,
  gradualMinChange: 0.04,
  gradualMaxResidual: 0.08,
  gradualMaxBacktrack: 0.25,
  gradualMinFrames: 3,
  gradualRatio: 1.5,
};

export type GradualKind = 'fade_in' | 'fade_out' | 'dissolve' | 'wipe';

export interface GradualTransition {
  /** First position that is part of the mix (differs from the outgoing picture). */
  start: number;
  /** First position of the incoming picture alone (the new shot's first frame). */
  end: number;
  kind: GradualKind;
}

export interface HardCut {
  /** First position of the new shot. */
  position: number;
  score: number;
  /** score / rolling median around it (Infinity when that median is 0). */
  ratio: number;
}

/** Detector output, in positions 0..n-1. */
export interface Detection {
  scores: Float32Array;
  cuts: HardCut[];
  gradual: GradualTransition[];
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
export function localMedian(scores: Float32Array, from: number, to: number, except: number): number {
  const values: number[] = [];
  for (let j = Math.max(0, from); j <= Math.min(scores.length - 1, to); j += 1) {
    const s = scores[j]!;
    if (j !== except && !Number.isNaN(s)) values.push(s);
  }
  return values.length === 0 ? 0 : medianInPlace(values);
}

/**
 * True when the change into position k does not persist: the picture before it comes back within
 * `flashFrames` positions (a flash or strobe: k is the first bright frame), or the picture at k was
 * already there just before the jump (k is the frame a flash returns on).
 */
export function isTransient(t: Thumbs, scores: Float32Array, k: number, params: DetectParams): boolean {
  const limit = params.flashSimilarity * scores[k]!;
  for (let m = 1; m <= params.flashFrames; m += 1) {
    if (k + m < t.count && distance(t, k - 1, k + m) < limit) return true;
    if (k - 1 - m >= 0 && distance(t, k - 1 - m, k) < limit) return true;
  }
  return false;
}

/**
 * Hard cuts: position k whose score is ≥ `cutFloor` and ≥ `localRatio` × the median of the
 * `localWindow` scores on each side (steady motion or a busy scene raises the median; a dark,
 * low-contrast scene lowers it, so a small absolute jump there still counts), ≥ `peakRatio` × both
 * neighbouring scores (a fast fade spreads its change over several frames), and whose change
 * persists (`isTransient`). Two cuts closer than `minShotFrames` source frames: the stronger wins.
 */
export function detectHardCuts(
  t: Thumbs,
  scores: Float32Array,
  sourceFrameIndices: ArrayLike<number>,
  params: DetectParams,
): HardCut[] {
  const cuts: HardCut[] = [];
  const firstFrame = sourceFrameIndices[0] ?? 0;
  for (let k = 1; k < scores.length; k += 1) {
    const s = scores[k]!;
    if (!(s >= params.cutFloor)) continue;
    const median = localMedian(scores, k - params.localWindow, k + params.localWindow, k);
    if (s < params.localRatio * median) continue;
    const neighbour = Math.max(scores[k - 1] ?? 0, scores[k + 1] ?? 0);
    if (s < params.peakRatio * (Number.isNaN(neighbour) ? 0 : neighbour)) continue;
    if (isTransient(t, scores, k, params)) continue;
    const cut = { position: k, score: s, ratio: median > 0 ? s / median : Number.POSITIVE_INFINITY };
    const previous = cuts[cuts.length - 1];
    const previousFrame = previous === undefined ? firstFrame : sourceFrameIndices[previous.position]!;
    if (sourceFrameIndices[k]! - previousFrame >= params.minShotFrames) cuts.push(cut);
    else if (previous !== undefined && s > previous.score) cuts[cuts.length - 1] = cut;
  }
  return cuts;
}

/**
 * Least-squares mix α of position m on the line from a to b (0 = a, 1 = b) and what the line
 * leaves unexplained, relative to |b − a|². NaN α when a and b are identical.
 */
export function blendFit(t: Thumbs, a: number, b: number, m: number): { alpha: number; residual: number } {
  const { dim, data } = t;
  let span = 0;
  let dot = 0;
  for (let i = 0; i < dim; i += 1) {
    const ab = data[b * dim + i]! - data[a * dim + i]!;
    span += ab * ab;
    dot += (data[m * dim + i]! - data[a * dim + i]!) * ab;
  }
  if (span === 0) return { alpha: Number.NaN, residual: Number.POSITIVE_INFINITY };
  const alpha = dot / span;
  let residual = 0;
  for (let i = 0; i < dim; i += 1) {
    const ab = data[b * dim + i]! - data[a * dim + i]!;
    residual += (data[m * dim + i]! - data[a * dim + i]! - alpha * ab) ** 2;
  }
  return { alpha, residual: residual / span };
}

/**
 * How far positions `steps` (strictly between a and b) are from a wipe: each cell of a wiped frame
 * holds a's value or b's (or a mix on the moving edge), and a cell that switched to b stays
 * switched. Per cell the mix α is clamped to [0, 1]; the residual is what it leaves unexplained
 * plus every step back towards a, both relative to |b − a|². A pan moves content instead: its
 * cells leave the [a, b] range and go back and forth.
 */
export function wipeResidual(t: Thumbs, a: number, b: number, steps: readonly number[]): number {
  const { dim, data } = t;
  let span = 0;
  for (let i = 0; i < dim; i += 1) span += (data[b * dim + i]! - data[a * dim + i]!) ** 2;
  if (span === 0 || steps.length === 0) return steps.length === 0 ? 0 : Number.POSITIVE_INFINITY;
  const previous = new Float64Array(dim);
  let total = 0;
  for (const m of steps) {
    let residual = 0;
    for (let i = 0; i < dim; i += 1) {
      const va = data[a * dim + i]!;
      const ab = data[b * dim + i]! - va;
      const offset = data[m * dim + i]! - va;
      const alpha = ab === 0 ? 0 : Math.min(1, Math.max(0, offset / ab));
      residual += (offset - alpha * ab) ** 2;
      const back = previous[i]! - alpha;
      if (back > 0) residual += (back * ab) ** 2;
      previous[i] = alpha;
    }
    total += residual / span;
  }
  return total / steps.length;
}

/** Mean and standard deviation of a position's luma cells. */
function lumaStats(t: Thumbs, k: number): { mean: number; std: number } {
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < t.lumaCells; i += 1) {
    const v = t.data[k * t.dim + i]!;
    sum += v;
    sq += v * v;
  }
  const mean = sum / t.lumaCells;
  return { mean, std: Math.sqrt(Math.max(0, sq / t.lumaCells - mean * mean)) };
}

/** A flat dark picture (black in limited or full range): what a fade starts or ends on. */
function isBlack(t: Thumbs, k: number): boolean {
  const { mean, std } = lumaStats(t, k);
  return mean < 0.12 && std < 0.03;
}

/**
 * Whether positions a..b form one transition from picture a to picture b: they differ by at least
 * `gradualMinChange`, and every position between is a one-way mix of the two — a blend (fade,
 * dissolve: `blendFit` residual small, α rising) or a wipe (`wipeResidual` small, and the steps
 * are not better explained by moving the picture: `isMotion`). null when not.
 */
export function transitionFit(
  t: Thumbs,
  a: number,
  b: number,
  params: DetectParams,
): { wipe: boolean; residual: number } | null {
  if (b - a < 2 || !(distance(t, a, b) >= params.gradualMinChange)) return null;
  // blendFit for every m in one pass each: residual = |m − a|² − (m − a)·(b − a)² / |b − a|².
  const { dim, data } = t;
  const ab = new Float64Array(dim);
  let span = 0;
  for (let i = 0; i < dim; i += 1) {
    ab[i] = data[b * dim + i]! - data[a * dim + i]!;
    span += ab[i]! * ab[i]!;
  }
  const alphas = [0];
  let residual = 0;
  let back = 0;
  for (let m = a + 1; m < b; m += 1) {
    let dot = 0;
    let norm = 0;
    for (let i = 0; i < dim; i += 1) {
      const am = data[m * dim + i]! - data[a * dim + i]!;
      dot += am * ab[i]!;
      norm += am * am;
    }
    const alpha = dot / span;
    back += Math.max(0, alphas[alphas.length - 1]! - alpha);
    if (back > params.gradualMaxBacktrack) return null;
    alphas.push(alpha);
    residual += Math.max(0, norm - alpha * dot) / span;
  }
  back += Math.max(0, alphas[alphas.length - 1]! - 1);
  alphas.push(1);
  residual /= b - a - 1;
  if (back > params.gradualMaxBacktrack) return null;
  const middle = Array.from({ length: b - a - 1 }, (_, i) => a + 1 + i);
  // Wipe or not is judged on the frames mid-way (a fade's frames near a and b are nearly a or b too).
  const midway = middle.filter((_, i) => alphas[i + 1]! >= 0.2 && alphas[i + 1]! <= 0.8);
  const binary = midway.length > 0 && switchedness(t, a, b, midway) < WIPE_MAX_MIXED;
  if (residual <= params.gradualMaxResidual) return { wipe: binary, residual };
  if (!binary) return null;
  const wipe = wipeResidual(t, a, b, middle);
  return wipe > params.gradualMaxResidual ? null : { wipe: true, residual: wipe };
}

/** A wipe's cells are mostly switched or not: their mean `switchedness` stays below this. */
const WIPE_MAX_MIXED = 0.3;

/**
 * How "half-mixed" the cells of positions `steps` are between a and b: per cell that changes
 * (|b − a| > 0.04) the clamped mix α, scored 2·min(α, 1 − α) (0 = still a or already b, 1 = an even
 * mix), averaged over cells and steps. A wipe scores near 0 (only its moving edge is mixed), a
 * fade or dissolve ≈ 0.5, content moving inside a shot anything. NaN-free: 1 with no changing cell.
 */
export function switchedness(t: Thumbs, a: number, b: number, steps: readonly number[]): number {
  const { dim, data } = t;
  let sum = 0;
  let count = 0;
  for (const m of steps) {
    for (let i = 0; i < dim; i += 1) {
      const va = data[a * dim + i]!;
      const ab = data[b * dim + i]! - va;
      if (Math.abs(ab) <= 0.04) continue;
      const alpha = Math.min(1, Math.max(0, (data[m * dim + i]! - va) / ab));
      sum += 2 * Math.min(alpha, 1 - alpha);
      count += 1;
    }
  }
  return count === 0 ? 1 : sum / count;
}

/**
 * True when thumbnail q is better explained as thumbnail p shifted by whole cells (a pan or a
 * moving camera) than as p itself: the best shifted match (±8 columns, ±4 rows, over the overlap)
 * differs by less than half as much as the unshifted one. A wipe keeps most cells in place.
 */
export function isMotion(t: Thumbs, p: number, q: number): boolean {
  const cols = RGB_THUMB_COLS;
  const rows = RGB_THUMB_ROWS;
  if (t.lumaCells !== cols * rows) return false;
  const { data, dim } = t;
  const shifted = (dx: number, dy: number): number => {
    let sum = 0;
    const x0 = Math.max(0, dx);
    const x1 = Math.min(cols, cols + dx);
    const y0 = Math.max(0, dy);
    const y1 = Math.min(rows, rows + dy);
    for (let y = y0; y < y1; y += 1) {
      const rq = q * dim + y * cols;
      const rp = p * dim + (y - dy) * cols - dx;
      for (let x = x0; x < x1; x += 1) sum += Math.abs(data[rq + x]! - data[rp + x]!);
    }
    return sum / ((x1 - x0) * (y1 - y0));
  };
  const still = shifted(0, 0);
  let best = Number.POSITIVE_INFINITY;
  for (let dy = -4; dy <= 4; dy += 1)
    for (let dx = -8; dx <= 8; dx += 1) if (dx !== 0 || dy !== 0) best = Math.min(best, shifted(dx, dy));
  return best < 0.5 * still;
}

/**
 * Gradual transitions. Windows of ±`gradualHalfWindow` positions, centred every `gradualStride`,
 * that contain no hard cut and pass `transitionFit` are merged into regions (a long fade passes
 * every window inside it; a short one the windows around it). Each region is refined on every
 * position: `start` is the first position whose mix α (between the region's first and last
 * frame) leaves 0, `end` the first where it reaches 1. A region that is no single transition (a
 * fade-out straight into a fade-in) is split once at its frame farthest from the straight mix.
 * Fewer than `gradualMinFrames` mixed frames is no gradual transition.
 */
export function detectGradualTransitions(
  t: Thumbs,
  cutPositions: readonly number[],
  params: DetectParams,
): GradualTransition[] {
  const half = Math.max(1, Math.floor(params.gradualHalfWindow));
  const stride = Math.max(1, Math.floor(params.gradualStride));
  const cuts = [...cutPositions].sort((x, y) => x - y);
  const crossesCut = (a: number, b: number): boolean => cuts.some((c) => c > a && c <= b);
  const scores = changeScores(t);
  const covered = new Uint8Array(t.count);
  for (let centre = 0; centre < t.count; centre += stride) {
    const a = Math.max(0, centre - half);
    const b = Math.min(t.count - 1, centre + half);
    if (crossesCut(a, b) || !transitionFit(t, a, b, params)) continue;
    covered.fill(1, a, b + 1);
  }
  const regions: [number, number][] = [];
  for (let k = 0; k < t.count;) {
    if (!covered[k]) {
      k += 1;
      continue;
    }
    let end = k;
    while (end + 1 < t.count && covered[end + 1]) end += 1;
    regions.push([k, end]);
    k = end + 1;
  }
  const found: GradualTransition[] = [];
  for (const [a, b] of regions) {
    const parts: [number, number][] = [[a, b]];
    if (!transitionFit(t, a, b, params)) {
      // Split at the frame farthest from the straight mix of a and b (the black between fades).
      let worst = -1;
      let worstResidual = -1;
      for (let m = a + 1; m < b; m += 1) {
        const r = blendFit(t, a, b, m).residual;
        if (r > worstResidual) {
          worstResidual = r;
          worst = m;
        }
      }
      if (worst < 0) continue;
      parts.splice(0, 1, [a, worst], [worst, b]);
    }
    for (const [from, to] of parts) {
      const fit = transitionFit(t, from, to, params);
      if (!fit) continue;
      // A pan over flat areas moves edges across cells like a wipe: a shifted picture explains it.
      let moving = false;
      for (let m = from; fit.wipe && !moving && m + 2 <= to; m += 2) moving = isMotion(t, m, m + 2);
      if (moving) continue;
      const refined = refineTransition(t, from, to, fit.wipe);
      if (
        refined &&
        refined.end - refined.start >= params.gradualMinFrames &&
        stableEnds(t, scores, refined, params)
      )
        found.push(refined);
    }
  }
  return found;
}

/** Frames on each side of a transition that show how fast its shots change on their own. */
const STEADY_FRAMES = 6;

/**
 * A transition goes from one steady picture to another, faster than its shots change on their own:
 * - the frame before `start` differs from each of the 3 before it, and the frame at `end` from each
 *   of the 3 after it, by at most 0.3 × the transition's change (a flash that decays over a few
 *   frames starts on a jump);
 * - its mean per-frame score is ≥ `gradualRatio` × the median per-frame score of the
 *   `STEADY_FRAMES` before it or after it, whichever is lower (a slow zoom changes the picture
 *   gradually too, but no faster than the rest of its shot).
 */
function stableEnds(t: Thumbs, scores: Float32Array, g: GradualTransition, params: DetectParams): boolean {
  const before = g.start - 1;
  const change = distance(t, before, g.end);
  for (let j = 1; j <= 3; j += 1) {
    if (before - j >= 0 && distance(t, before - j, before) > 0.3 * change) return false;
    if (g.end + j < t.count && distance(t, g.end, g.end + j) > 0.3 * change) return false;
  }
  let inside = 0;
  for (let k = g.start; k <= g.end; k += 1) inside += scores[k]!;
  inside /= g.end - g.start + 1;
  const around = (from: number, to: number): number => {
    const values: number[] = [];
    for (let k = Math.max(1, from); k <= Math.min(t.count - 1, to); k += 1) values.push(scores[k]!);
    return medianInPlace(values);
  };
  const rates = [around(before - STEADY_FRAMES + 1, before), around(g.end + 1, g.end + STEADY_FRAMES)].filter(
    (r) => !Number.isNaN(r),
  );
  return rates.length === 0 || inside >= params.gradualRatio * Math.min(...rates);
}

/** Mix α leaves 0 / reaches 1 within this margin. */
const ALPHA_MARGIN = 0.05;

/**
 * Exact span of a transition from picture a to picture b: `start` = first position after a whose
 * α exceeds the margin, `end` = first position from there whose α reaches 1 − margin.
 */
function refineTransition(t: Thumbs, a: number, b: number, wipe: boolean): GradualTransition | null {
  let start = a + 1;
  while (start < b && !(blendFit(t, a, b, start).alpha > ALPHA_MARGIN)) start += 1;
  let end = start;
  while (end < b && !(blendFit(t, a, b, end).alpha >= 1 - ALPHA_MARGIN)) end += 1;
  if (start >= b) return null;
  const kind: GradualKind = wipe
    ? 'wipe'
    : isBlack(t, b) && !isBlack(t, a)
      ? 'fade_out'
      : isBlack(t, a) && !isBlack(t, b)
        ? 'fade_in'
        : 'dissolve';
  return { start, end, kind };
}

/**
 * Shot starts: position 0, every hard cut, and the end of every gradual transition (its first frame
 * of the incoming picture). A gradual boundary that would leave a shot shorter than
 * `minShotFrames` source frames is dropped; hard cuts always stand.
 */
export function shotStartPositions(
  sourceFrameIndices: ArrayLike<number>,
  cutPositions: readonly number[],
  gradualEnds: readonly number[],
  minShotFrames: number,
): number[] {
  const n = sourceFrameIndices.length;
  if (n === 0) return [];
  const frame = (k: number): number => sourceFrameIndices[k]!;
  const lastFrameEnd = frame(n - 1) + 1;
  const starts = new Set([0, ...cutPositions]);
  for (const end of gradualEnds) {
    const all = [...starts].sort((x, y) => x - y);
    const before = all.filter((s) => s <= end).at(-1) ?? 0;
    const after = all.find((s) => s > end);
    const nextFrame = after === undefined ? lastFrameEnd : frame(after);
    if (frame(end) - frame(before) >= minShotFrames && nextFrame - frame(end) >= minShotFrames)
      starts.add(end);
  }
  return [...starts].sort((x, y) => x - y);
}

/** The whole detector. `sourceFrameIndices[k]` is the source frame at position k (ascending). */
export function detectTransitions(
  t: Thumbs,
  sourceFrameIndices: ArrayLike<number>,
  params: DetectParams,
): Detection {
  if (sourceFrameIndices.length !== t.count) {
    throw new RangeError(`detectTransitions: ${t.count} thumbnails but ${sourceFrameIndices.length} indices`);
  }
  const scores = changeScores(t);
  const cuts = detectHardCuts(t, scores, sourceFrameIndices, params);
  const cutPositions = cuts.map((cut) => cut.position);
  const gradual = detectGradualTransitions(t, cutPositions, params);
  const shotStarts = shotStartPositions(
    sourceFrameIndices,
    cutPositions,
    gradual.map((g) => g.end),
    params.minShotFrames,
  );
  return { scores, cuts, gradual, shotStarts };
}
