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
  // Separable sampling: per output column/row and tap, the two source indices and the weight of
  // the second, or −1 where the tap falls outside the frame (padding). Computed once, so the
  // inner loop is plain arithmetic over typed arrays.
  const cols = axisTaps(rect.x0, stepX, dstW, tapsX, width);
  const rows = axisTaps(rect.y0, stepY, dstH, tapsY, height);
  const plane = dstW * dstH;
  const taps = tapsX * tapsY;
  // Normalisation is per model channel (after the RGB/BGR choice).
  const [s0, s1, s2] = norm.scale;
  const [b0, b1, b2] = norm.bias;
  for (let dy = 0; dy < dstH; dy++) {
    for (let dx = 0; dx < dstW; dx++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let ty = 0; ty < tapsY; ty++) {
        const ry = (dy * tapsY + ty) * 3;
        const ya = rows[ry] ?? -1;
        const yb = rows[ry + 1] ?? -1;
        const wy = rows[ry + 2] ?? 0;
        for (let tx = 0; tx < tapsX; tx++) {
          const cx = (dx * tapsX + tx) * 3;
          const xa = cols[cx] ?? -1;
          const xb = cols[cx + 1] ?? -1;
          const wx = cols[cx + 2] ?? 0;
          if (xa < 0 || ya < 0) {
            r += pad;
            g += pad;
            b += pad;
            continue;
          }
          const i00 = (ya * width + xa) * 3;
          const i01 = (ya * width + xb) * 3;
          const i10 = (yb * width + xa) * 3;
          const i11 = (yb * width + xb) * 3;
          const w00 = (1 - wx) * (1 - wy);
          const w01 = wx * (1 - wy);
          const w10 = (1 - wx) * wy;
          const w11 = wx * wy;
          r +=
            w00 * (pixels[i00] ?? 0) +
            w01 * (pixels[i01] ?? 0) +
            w10 * (pixels[i10] ?? 0) +
            w11 * (pixels[i11] ?? 0);
          g +=
            w00 * (pixels[i00 + 1] ?? 0) +
            w01 * (pixels[i01 + 1] ?? 0) +
            w10 * (pixels[i10 + 1] ?? 0) +
            w11 * (pixels[i11 + 1] ?? 0);
          b +=
            w00 * (pixels[i00 + 2] ?? 0) +
            w01 * (pixels[i01 + 2] ?? 0) +
            w10 * (pixels[i10 + 2] ?? 0) +
            w11 * (pixels[i11 + 2] ?? 0);
        }
      }
      const v0 = ((bgr ? b : r) / taps) * s0 + b0;
      const v1 = (g / taps) * s1 + b1;
      const v2 = ((bgr ? r : b) / taps) * s2 + b2;
      if (layout === 'nhwc') {
        const o = base + (dy * dstW + dx) * 3;
        out[o] = v0;
        out[o + 1] = v1;
        out[o + 2] = v2;
      } else {
        const o = base + dy * dstW + dx;
        out[o] = v0;
        out[o + plane] = v1;
        out[o + 2 * plane] = v2;
      }
    }
  }
  return out;
}

/**
 * Bilinear taps along one axis: for each output position and tap, [first index, second index,
 * weight of the second] (pixel centres at integer + 0.5, neighbours clamped to the edge inside
 * the frame), first index −1 outside the frame.
 */
function axisTaps(start: number, step: number, count: number, taps: number, size: number): Float64Array {
  const out = new Float64Array(count * taps * 3);
  for (let d = 0; d < count; d++) {
    for (let t = 0; t < taps; t++) {
      const pos = start + step * (d + (t + 0.5) / taps);
      const k = (d * taps + t) * 3;
      if (pos < 0 || pos > size) {
        out[k] = -1;
        out[k + 1] = -1;
        continue;
      }
      const f = pos - 0.5;
      const i = Math.floor(f);
      out[k] = Math.min(size - 1, Math.max(0, i));
      out[k + 1] = Math.min(size - 1, Math.max(0, i + 1));
      out[k + 2] = f - i;
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

/** A square region of side `size` centred at (cx, cy), its x axis turned by `angle` (radians, y down). */
export interface RotatedSquare {
  cx: number;
  cy: number;
  size: number;
  angle: number;
}

/** Maps a point of a dst×dst input sampled from `roi` back to frame pixels. */
export function rotatedToSource(roi: RotatedSquare, dst: number, x: number, y: number): [number, number] {
  const u = (x / dst - 0.5) * roi.size;
  const v = (y / dst - 0.5) * roi.size;
  const c = Math.cos(roi.angle);
  const s = Math.sin(roi.angle);
  return [roi.cx + u * c - v * s, roi.cy + u * s + v * c];
}

/**
 * Bilinear sample of a rotated square region into a dst×dst NHWC RGB float input (into `out` at
 * `offset`); samples outside the frame read `padValue`. Used for face crops aligned to the eyes.
 */
export function sampleRotatedSquare(
  pixels: Uint8Array,
  width: number,
  height: number,
  roi: RotatedSquare,
  dst: number,
  norm: Normalisation,
  out: Float32Array = new Float32Array(dst * dst * 3),
  offset = 0,
  padValue = 0,
): Float32Array {
  const [s0, s1, s2] = norm.scale;
  const [b0, b1, b2] = norm.bias;
  const c = Math.cos(roi.angle);
  const s = Math.sin(roi.angle);
  const step = roi.size / dst;
  for (let y = 0; y < dst; y++) {
    const v = (y + 0.5) * step - roi.size / 2;
    for (let x = 0; x < dst; x++) {
      const u = (x + 0.5) * step - roi.size / 2;
      const sx = roi.cx + u * c - v * s;
      const sy = roi.cy + u * s + v * c;
      let r = padValue;
      let g = padValue;
      let b = padValue;
      if (sx >= 0 && sy >= 0 && sx <= width && sy <= height) {
        const fx = sx - 0.5;
        const fy = sy - 0.5;
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
        r =
          w00 * (pixels[i00] ?? 0) +
          w01 * (pixels[i01] ?? 0) +
          w10 * (pixels[i10] ?? 0) +
          w11 * (pixels[i11] ?? 0);
        g =
          w00 * (pixels[i00 + 1] ?? 0) +
          w01 * (pixels[i01 + 1] ?? 0) +
          w10 * (pixels[i10 + 1] ?? 0) +
          w11 * (pixels[i11 + 1] ?? 0);
        b =
          w00 * (pixels[i00 + 2] ?? 0) +
          w01 * (pixels[i01 + 2] ?? 0) +
          w10 * (pixels[i10 + 2] ?? 0) +
          w11 * (pixels[i11 + 2] ?? 0);
      }
      const o = offset + (y * dst + x) * 3;
      out[o] = r * s0 + b0;
      out[o + 1] = g * s1 + b1;
      out[o + 2] = b * s2 + b2;
    }
  }
  return out;
}
