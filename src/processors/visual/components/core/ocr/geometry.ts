// Geometry for DB text detection: connected components, convex hull, minimum-area rectangle and
// unclip. Pure functions over typed arrays (worker-safe).
//
// Why hand-written rather than a library: the npm options are OpenCV.js (≈ 10 MB of wasm, loads
// for seconds) or general polygon clippers (clipper-lib) that need a contour tracer in front;
// DB only needs components, a hull and a rotated rectangle, ≈ 150 lines with unit tests.

/** A point list `[x0, y0, x1, y1, …]`. */
export type Points = number[];

/** A rotated rectangle as its 4 corners, clockwise from the top-left-most, `[x, y]` each. */
export type Quad = [[number, number], [number, number], [number, number], [number, number]];

/** 8-connected components of `mask` (1 = on) of a width×height grid; labels 1..count, 0 = off. */
export function connectedComponents(
  mask: Uint8Array,
  width: number,
  height: number,
): { labels: Int32Array; count: number } {
  const labels = new Int32Array(width * height);
  const stack = new Int32Array(width * height);
  let count = 0;
  for (let start = 0; start < mask.length; start++) {
    if (mask[start] === 0 || labels[start] !== 0) continue;
    count++;
    let top = 0;
    stack[top++] = start;
    labels[start] = count;
    while (top > 0) {
      const p = stack[--top] ?? 0;
      const x = p % width;
      const y = (p - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const q = yy * width + xx;
          if (mask[q] !== 0 && labels[q] === 0) {
            labels[q] = count;
            stack[top++] = q;
          }
        }
      }
    }
  }
  return { labels, count };
}

/** Convex hull (Andrew's monotone chain), counter-clockwise in y-down coordinates, no duplicates. */
export function convexHull(points: Points): Points {
  const n = points.length / 2;
  const idx = Array.from({ length: n }, (_, i) => i);
  const px = (i: number): number => points[2 * i] ?? 0;
  const py = (i: number): number => points[2 * i + 1] ?? 0;
  idx.sort((a, b) => px(a) - px(b) || py(a) - py(b));
  const cross = (o: number, a: number, b: number): number =>
    (px(a) - px(o)) * (py(b) - py(o)) - (py(a) - py(o)) * (px(b) - px(o));
  const lower: number[] = [];
  for (const i of idx) {
    while (lower.length >= 2 && cross(lower[lower.length - 2] ?? 0, lower[lower.length - 1] ?? 0, i) <= 0)
      lower.pop();
    lower.push(i);
  }
  const upper: number[] = [];
  for (let k = idx.length - 1; k >= 0; k--) {
    const i = idx[k] ?? 0;
    while (upper.length >= 2 && cross(upper[upper.length - 2] ?? 0, upper[upper.length - 1] ?? 0, i) <= 0)
      upper.pop();
    upper.push(i);
  }
  const hull = lower.slice(0, -1).concat(upper.slice(0, -1));
  if (hull.length === 0 && n > 0) return [px(0), py(0)];
  return hull.flatMap((i) => [px(i), py(i)]);
}

/** Minimum-area enclosing rectangle of a point set (rotating calipers over hull edges). */
export function minAreaRect(points: Points): { cx: number; cy: number; w: number; h: number; angle: number } {
  const hull = convexHull(points);
  const n = hull.length / 2;
  if (n === 1) return { cx: hull[0] ?? 0, cy: hull[1] ?? 0, w: 0, h: 0, angle: 0 };
  let best = { area: Infinity, cx: 0, cy: 0, w: 0, h: 0, angle: 0 };
  for (let e = 0; e < n; e++) {
    const x0 = hull[2 * e] ?? 0;
    const y0 = hull[2 * e + 1] ?? 0;
    const x1 = hull[(2 * e + 2) % (2 * n)] ?? 0;
    const y1 = hull[(2 * e + 3) % (2 * n)] ?? 0;
    const len = Math.hypot(x1 - x0, y1 - y0);
    if (len === 0) continue;
    const ux = (x1 - x0) / len;
    const uy = (y1 - y0) / len;
    let minU = Infinity;
    let maxU = -Infinity;
    let minV = Infinity;
    let maxV = -Infinity;
    for (let k = 0; k < n; k++) {
      const x = hull[2 * k] ?? 0;
      const y = hull[2 * k + 1] ?? 0;
      const u = x * ux + y * uy;
      const v = -x * uy + y * ux;
      minU = Math.min(minU, u);
      maxU = Math.max(maxU, u);
      minV = Math.min(minV, v);
      maxV = Math.max(maxV, v);
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < best.area - 1e-9) {
      const cu = (minU + maxU) / 2;
      const cv = (minV + maxV) / 2;
      best = {
        area,
        cx: cu * ux - cv * uy,
        cy: cu * uy + cv * ux,
        w: maxU - minU,
        h: maxV - minV,
        angle: Math.atan2(uy, ux),
      };
    }
  }
  // Normalise so that w is the side closer to horizontal (angle in (−45°, 45°]).
  let { w, h, angle } = best;
  while (angle > Math.PI / 4) {
    angle -= Math.PI / 2;
    [w, h] = [h, w];
  }
  while (angle <= -Math.PI / 4) {
    angle += Math.PI / 2;
    [w, h] = [h, w];
  }
  return { cx: best.cx, cy: best.cy, w, h, angle };
}

/** Corners of a rotated rectangle: top-left, top-right, bottom-right, bottom-left (y down). */
export function rectCorners(r: { cx: number; cy: number; w: number; h: number; angle: number }): Quad {
  const c = Math.cos(r.angle);
  const s = Math.sin(r.angle);
  const hw = r.w / 2;
  const hh = r.h / 2;
  const at = (u: number, v: number): [number, number] => [r.cx + u * c - v * s, r.cy + u * s + v * c];
  return [at(-hw, -hh), at(hw, -hh), at(hw, hh), at(-hw, hh)];
}

/**
 * DB "unclip": the detector's shrunk text kernel is grown back by D = area × ratio / perimeter
 * (Vatti offset in PaddleOCR). For a rectangle the offset polygon's bounding rectangle is the
 * rectangle grown by D on every side, so that is exact here.
 */
export function unclipRect<T extends { w: number; h: number }>(r: T, ratio: number): T {
  const perimeter = 2 * (r.w + r.h);
  if (perimeter === 0) return r;
  const distance = (r.w * r.h * ratio) / perimeter;
  return { ...r, w: r.w + 2 * distance, h: r.h + 2 * distance };
}
