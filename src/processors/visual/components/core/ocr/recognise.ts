// Text-line crops, the angle classifier and the CTC recogniser of PP-OCRv4: pre-processing and
// decoding. Pure functions over typed arrays (worker-safe).
import type { Quad } from './geometry.js';

/** Recogniser input height (PP-OCRv4 rec: 3×48×W). */
export const REC_HEIGHT = 48;
/** Widest recogniser input; longer lines are squeezed (PaddleOCR's default rec_image_shape 320 × ratio cap). */
export const REC_MAX_WIDTH = 1280;
/** Angle classifier input (ch_ppocr_mobile_v2.0_cls): 3×48×192. */
export const CLS_HEIGHT = 48;
export const CLS_WIDTH = 192;

/** Side lengths of a quad (top edge, left edge). */
export function quadSize(quad: Quad): { w: number; h: number } {
  const [tl, tr, , bl] = quad;
  return { w: Math.hypot(tr[0] - tl[0], tr[1] - tl[1]), h: Math.hypot(bl[0] - tl[0], bl[1] - tl[1]) };
}

/**
 * Orientation of a line crop: PaddleOCR turns a crop whose height ≥ 1.5 × width by 90° (vertical
 * text); `flip` additionally turns it by 180° (the angle classifier said upside down).
 */
export function orientQuad(quad: Quad, flip: boolean): Quad {
  let q = quad;
  const { w, h } = quadSize(q);
  if (h >= 1.5 * w) q = [q[3], q[0], q[1], q[2]];
  if (flip) q = [q[2], q[3], q[0], q[1]];
  return q;
}

/**
 * Samples the quad (corners tl, tr, br, bl in frame pixels) from an RGB uint8 frame into a CHW
 * float input of height `outH` and width `contentW`, placed in a tensor row of width `stride`
 * (right part left as the caller filled it — padding), normalised `(p/255 − 0.5)/0.5`. Bilinear,
 * along the quad's own axes (so rotated lines come out straight).
 */
export function sampleQuad(
  pixels: Uint8Array,
  width: number,
  height: number,
  quad: Quad,
  outH: number,
  contentW: number,
  stride: number,
  out: Float32Array,
  offset: number,
): void {
  const [tl, tr, , bl] = quad;
  const ux = (tr[0] - tl[0]) / contentW;
  const uy = (tr[1] - tl[1]) / contentW;
  const vx = (bl[0] - tl[0]) / outH;
  const vy = (bl[1] - tl[1]) / outH;
  const plane = outH * stride;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < contentW; x++) {
      const sx = tl[0] + (x + 0.5) * ux + (y + 0.5) * vx - 0.5;
      const sy = tl[1] + (x + 0.5) * uy + (y + 0.5) * vy - 0.5;
      const ix = Math.floor(sx);
      const iy = Math.floor(sy);
      const ax = sx - ix;
      const ay = sy - iy;
      const x0 = Math.min(width - 1, Math.max(0, ix));
      const x1 = Math.min(width - 1, Math.max(0, ix + 1));
      const y0 = Math.min(height - 1, Math.max(0, iy));
      const y1 = Math.min(height - 1, Math.max(0, iy + 1));
      for (let c = 0; c < 3; c++) {
        // PaddleOCR feeds BGR.
        const ch = 2 - c;
        const v =
          (1 - ay) *
            ((1 - ax) * (pixels[(y0 * width + x0) * 3 + ch] ?? 0) +
              ax * (pixels[(y0 * width + x1) * 3 + ch] ?? 0)) +
          ay *
            ((1 - ax) * (pixels[(y1 * width + x0) * 3 + ch] ?? 0) +
              ax * (pixels[(y1 * width + x1) * 3 + ch] ?? 0));
        out[offset + c * plane + y * stride + x] = v / 127.5 - 1;
      }
    }
  }
}

/** Width a line takes at height `outH` (aspect kept), capped at `maxW`. */
export function scaledWidth(quad: Quad, outH: number, maxW: number): number {
  const { w, h } = quadSize(quad);
  return Math.max(1, Math.min(maxW, Math.ceil((outH * w) / Math.max(1, h))));
}

/**
 * Angle-classifier batch `[n, 3, 48, 192]` (lines aspect-kept, right-padded with 0). Line i is
 * sampled from `frames[i]` (lines of a batch may come from different frames of one size).
 */
export function preprocessCls(
  frames: readonly Uint8Array[],
  width: number,
  height: number,
  quads: readonly Quad[],
): Float32Array {
  const size = 3 * CLS_HEIGHT * CLS_WIDTH;
  const out = new Float32Array(quads.length * size);
  quads.forEach((q, i) => {
    const frame = frames[i];
    if (frame)
      sampleQuad(
        frame,
        width,
        height,
        q,
        CLS_HEIGHT,
        scaledWidth(q, CLS_HEIGHT, CLS_WIDTH),
        CLS_WIDTH,
        out,
        i * size,
      );
  });
  return out;
}

/** Lines the classifier calls upside down: label 1 ("180") with probability ≥ `threshold` (0.9). */
export function decodeCls(probabilities: Float32Array, threshold = 0.9): boolean[] {
  const n = probabilities.length / 2;
  return Array.from({ length: n }, (_, i) => (probabilities[2 * i + 1] ?? 0) >= threshold);
}

/** Recogniser input widths are whole multiples of this (the line is padded up to it). */
export const REC_WIDTH_STEP = 32;

/** The padded input width of a line `lineWidth` px wide at `REC_HEIGHT`: the next multiple of `REC_WIDTH_STEP`. */
export function recInputWidth(lineWidth: number): number {
  return Math.max(REC_WIDTH_STEP, Math.ceil(lineWidth / REC_WIDTH_STEP) * REC_WIDTH_STEP);
}

/**
 * Recogniser batches: each line is padded (0 = mid grey) to its own `recInputWidth`, and a batch
 * holds only lines of one padded width, at most `batchSize` of them, narrowest first. So a line's
 * input — and, the recogniser being batch-invariant at a fixed shape, its result — never depends
 * on which other lines share its batch (the frame batch the planner chose): runs reproduce. Few
 * distinct widths also spare ONNX Runtime the first-call cost of a new shape.
 * Line i is sampled from `frames[i]`.
 */
export function preprocessRec(
  frames: readonly Uint8Array[],
  width: number,
  height: number,
  quads: readonly Quad[],
  batchSize: number,
): { indices: number[]; data: Float32Array; width: number }[] {
  const widths = quads.map((q) => scaledWidth(q, REC_HEIGHT, REC_MAX_WIDTH));
  const padded = widths.map(recInputWidth);
  const order = quads.map((_, i) => i).sort((a, b) => (padded[a] ?? 0) - (padded[b] ?? 0) || a - b);
  const batches: { indices: number[]; data: Float32Array; width: number }[] = [];
  for (let start = 0; start < order.length;) {
    const batchW = padded[order[start] ?? 0] ?? REC_WIDTH_STEP;
    let end = start;
    while (end < order.length && end - start < batchSize && padded[order[end] ?? 0] === batchW) end += 1;
    const indices = order.slice(start, end);
    const size = 3 * REC_HEIGHT * batchW;
    const data = new Float32Array(indices.length * size);
    indices.forEach((line, k) => {
      const q = quads[line];
      const frame = frames[line];
      if (q && frame)
        sampleQuad(frame, width, height, q, REC_HEIGHT, widths[line] ?? 1, batchW, data, k * size);
    });
    batches.push({ indices, data, width: batchW });
    start = end;
  }
  return batches;
}

/**
 * The recogniser's character table: index 0 is the CTC blank, then the dictionary file's lines,
 * then a space (PaddleOCR's `use_space_char`).
 */
export function ctcAlphabet(dictionaryText: string): string[] {
  const lines = dictionaryText.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return ['', ...lines, ' '];
}

/** One decoded line: text, mean probability of its characters (0 for an empty line). */
export interface DecodedLine {
  text: string;
  score: number;
  chars: number;
}

/**
 * CTC greedy decoding of `probabilities` `[n, T, C]`: arg-max per step, merge repeats, drop
 * blanks (index 0); score = mean arg-max probability of the kept steps.
 */
export function ctcGreedyDecode(
  probabilities: Float32Array,
  n: number,
  steps: number,
  alphabet: readonly string[],
): DecodedLine[] {
  const classes = alphabet.length;
  const lines: DecodedLine[] = [];
  for (let b = 0; b < n; b++) {
    let text = '';
    let chars = 0;
    let sum = 0;
    let previous = -1;
    for (let t = 0; t < steps; t++) {
      const base = (b * steps + t) * classes;
      let best = 0;
      let bestP = -Infinity;
      for (let c = 0; c < classes; c++) {
        const p = probabilities[base + c] ?? 0;
        if (p > bestP) {
          bestP = p;
          best = c;
        }
      }
      if (best !== 0 && best !== previous) {
        text += alphabet[best] ?? '';
        chars++;
        sum += bestP;
      }
      previous = best;
    }
    lines.push({ text, score: chars > 0 ? sum / chars : 0, chars });
  }
  return lines;
}
