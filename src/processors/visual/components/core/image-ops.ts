// Pure pixel and box maths shared by the core providers. Everything here works on typed arrays
// only (no I/O, no model runtime), so it can run on the calling thread or in a worker thread.

/** An axis-aligned box in pixel coordinates: [x0, y0) to [x1, y1). */
export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Per-channel affine normalisation `value = pixel × scale[c] + bias[c]` (pixel in 0..255). */
export interface Normalisation {
  scale: readonly [number, number, number];
  bias: readonly [number, number, number];
}

/** `(pixel/255 − mean)/std` per channel (mean/std in 0..1 units, the usual model-card form). */
export function meanStd(mean: readonly number[], std: readonly number[]): Normalisation {
  const c = (i: number): [number, number] => {
    const m = mean[i] ?? 0;
    const s = std[i] ?? 1;
    return [1 / (255 * s), -m / s];
  };
  const [s0, b0] = c(0);
  const [s1, b1] = c(1);
  const [s2, b2] = c(2);
  return { scale: [s0, s1, s2], bias: [b0, b1, b2] };
}

/** `pixel × a + b` on every channel. */
export function affine(a: number, b: number): Normalisation {
  return { scale: [a, a, a], bias: [b, b, b] };
}

/**
 * Letterbox geometry: the source region that, resized to dstW×dstH, shows the whole
 * srcW×srcH image centred with its aspect ratio kept (padding on two sides).
 * `scale` is destination pixels per source pixel.
 */
export function letterboxRect(
  srcW: number,
  srcH: number,
  dstW: number,
  dstH: number,
): Rect & { scale: number } {
  const scale = Math.min(dstW / srcW, dstH / srcH);
  const regionW = dstW / scale;
  const regionH = dstH / scale;
  const x0 = (srcW - regionW) / 2;
  const y0 = (srcH - regionH) / 2;
  return { x0, y0, x1: x0 + regionW, y1: y0 + regionH, scale };
}

/** Maps a point in a dstW×dstH model input sampled from `rect` back to source pixels. */
export function toSource(rect: Rect, dstW: number, dstH: number, x: number, y: number): [number, number] {
  return [rect.x0 + (x * (rect.x1 - rect.x0)) / dstW, rect.y0 + (y * (rect.y1 - rect.y0)) / dstH];
}

export interface SampleOptions {
  dstW: number;
  dstH: number;
  norm: Normalisation;
  /** `nhwc` (TFJS models) or `nchw` (ONNX models). */
  layout: 'nhwc' | 'nchw';
  /** Channel order the model expects. @defaultValue 'rgb' */
  order?: 'rgb' | 'bgr';
  /** Pixel value (0..255) for samples outside the image. @defaultValue 0 */
  padValue?: number;
  /** Write here (at `offset` floats) instead of allocating — used to fill a batch in place. */
  out?: Float32Array;
  offset?: number;
}

/**
 * Bilinear sample of the source region `rect` of an RGB uint8 frame `[height, width, 3]` into a
 * normalised float32 model input of dstW×dstH (pixel-centre aligned, like OpenCV's INTER_LINEAR
 * and TF's half-pixel resize). Samples outside the frame read `padValue`. When downscaling by more
 * than 2× the source is box-filtered first along each axis (taps spaced one source pixel apart) so
 * small detail does not alias.
 */
export function sampleRect(
  pixels: Uint8Array,
  width: number,
  height: number,
  rect: Rect,
  options: SampleOptions,
): Float32Array {
  const { dstW, dstH, norm, layout } = options;
  const bgr = options.order === 'bgr';
  const pad = options.padValue ?? 0;
  const out = options.out ?? new Float32Array(dstW * dstH * 3);
  const base = options.offset ?? 0;
  const stepX = (rect.x1 - rect.x0) / dstW;
  const stepY = (rect.y1 - rect.y0) / dstH;
  // Taps per axis: 1 for up/mild downscale, more for strong downscale (cheap anti-aliasing).
  const tapsX = Math.max(1, Math.floor(stepX / 2 + 0.5));
  const tapsY = Math.max(1, Math.floor(stepY / 2 + 0.5));
  const plane = dstW * dstH;
  const sample = new Float64Array(3);
  const read = (xs: number, ys: number): void => {
    // Outside the frame the sample is the pad value; inside, neighbours clamp to the edge so the
    // border row does not blend with padding.
    if (xs < 0 || ys < 0 || xs > width || ys > height) {
      sample[0] = pad;
      sample[1] = pad;
      sample[2] = pad;
      return;
    }
    // Bilinear read at a continuous source position (pixel centres at integer + 0.5).
    const fx = xs - 0.5;
    const fy = ys - 0.5;
    const ix = Math.floor(fx);
    const iy = Math.floor(fy);
    const ax = fx - ix;
    const ay = fy - iy;
    const x0 = Math.min(width - 1, Math.max(0, ix));
    const x1 = Math.min(width - 1, Math.max(0, ix + 1));
    const y0 = Math.min(height - 1, Math.max(0, iy));
    const y1 = Math.min(height - 1, Math.max(0, iy + 1));
    const i00 = (y0 * width + x0) * 3;
    const i01 = (y0 * width + x1) * 3;
    const i10 = (y1 * width + x0) * 3;
    const i11 = (y1 * width + x1) * 3;
    const w00 = (1 - ax) * (1 - ay);
    const w01 = ax * (1 - ay);
    const w10 = (1 - ax) * ay;
    const w11 = ax * ay;
    for (let c = 0; c < 3; c++) {
      sample[c] =
        w00 * (pixels[i00 + c] ?? 0) +
        w01 * (pixels[i01 + c] ?? 0) +
        w10 * (pixels[i10 + c] ?? 0) +
        w11 * (pixels[i11 + c] ?? 0);
    }
  };
  const acc = new Float64Array(3);
  const taps = tapsX * tapsY;
  for (let dy = 0; dy < dstH; dy++) {
    for (let dx = 0; dx < dstW; dx++) {
      acc[0] = 0;
      acc[1] = 0;
      acc[2] = 0;
      for (let ty = 0; ty < tapsY; ty++) {
        const ys = rect.y0 + stepY * (dy + (ty + 0.5) / tapsY);
        for (let tx = 0; tx < tapsX; tx++) {
          const xs = rect.x0 + stepX * (dx + (tx + 0.5) / tapsX);
          read(xs, ys);
          acc[0] += sample[0] ?? 0;
          acc[1] += sample[1] ?? 0;
          acc[2] += sample[2] ?? 0;
        }
      }
      for (let c = 0; c < 3; c++) {
        const src = bgr ? 2 - c : c;
        const v = (acc[src] ?? 0) / taps;
        const value = v * (norm.scale[c] ?? 1) + (norm.bias[c] ?? 0);
        const idx = layout === 'nhwc' ? base + (dy * dstW + dx) * 3 + c : base + c * plane + dy * dstW + dx;
        out[idx] = value;
      }
    }
  }
  return out;
}

/** Intersection over union of two boxes stored as x0,y0,x1,y1 at offsets a and b of `boxes`. */
export function iou(boxes: ArrayLike<number>, a: number, b: number): number {
  const ax0 = boxes[a * 4] ?? 0;
  const ay0 = boxes[a * 4 + 1] ?? 0;
  const ax1 = boxes[a * 4 + 2] ?? 0;
  const ay1 = boxes[a * 4 + 3] ?? 0;
  const bx0 = boxes[b * 4] ?? 0;
  const by0 = boxes[b * 4 + 1] ?? 0;
  const bx1 = boxes[b * 4 + 2] ?? 0;
  const by1 = boxes[b * 4 + 3] ?? 0;
  const iw = Math.min(ax1, bx1) - Math.max(ax0, bx0);
  const ih = Math.min(ay1, by1) - Math.max(ay0, by0);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy non-maximum suppression: candidates with score ≥ `scoreThreshold`, highest first; a
 * candidate is dropped when its IoU with an already kept box exceeds `iouThreshold`. With
 * `classes`, only boxes of the same class suppress each other. Returns kept indices, best first,
 * at most `maxOut`.
 */
export function nonMaxSuppression(
  boxes: ArrayLike<number>,
  scores: ArrayLike<number>,
  options: { iouThreshold: number; scoreThreshold: number; maxOut: number; classes?: ArrayLike<number> },
): number[] {
  const order: number[] = [];
  for (let i = 0; i < scores.length; i++) if ((scores[i] ?? 0) >= options.scoreThreshold) order.push(i);
  // Stable by index among equal scores so results are deterministic.
  order.sort((a, b) => (scores[b] ?? 0) - (scores[a] ?? 0) || a - b);
  const kept: number[] = [];
  for (const i of order) {
    if (kept.length >= options.maxOut) break;
    let suppressed = false;
    for (const k of kept) {
      if (options.classes && options.classes[k] !== options.classes[i]) continue;
      if (iou(boxes, i, k) > options.iouThreshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push(i);
  }
  return kept;
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
