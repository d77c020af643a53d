// shot_quality's per-frame measures against an independent computation: OpenCV (cv2.Laplacian,
// cv2.filter2D) and numpy in Debian's python3, on frames ffmpeg generates (test patterns, blur,
// under/over-exposure, colour bars, noise) and on a frame with Gaussian noise of known σ.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ffmpeg, makeTempDir } from '../../../../../../test/support/media.js';
import { PYTHON } from '../../../../../../test/support/numpy.js';
import { DEFAULT_CLIP_LEVELS, faceFraming, frameQuality, immerkaerNoise, lumaPlane } from './metrics.js';

const W = 160;
const H = 90;
const FRAME = W * H * 3;
const dir = makeTempDir('shot-quality-metrics');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One RGB24 frame from a lavfi source and filter chain. */
function lavfiFrame(source: string, filters = ''): Uint8Array {
  const path = join(dir, 'frame.rgb');
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `${source}${source.includes('=') ? ':' : '='}s=${W}x${H}:r=1`,
    '-vf',
    `${filters}${filters ? ',' : ''}format=rgb24`,
    '-frames:v',
    '1',
    '-f',
    'rawvideo',
    '-y',
    path,
  ]);
  const bytes = new Uint8Array(readFileSync(path));
  expect(bytes.length).toBe(FRAME);
  return bytes;
}

/** Flat grey 128 plus Gaussian noise of σ (Box–Muller over a seeded mulberry32). */
function gaussianNoiseFrame(sigma: number, seed: number): Uint8Array {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Uint8Array(FRAME);
  for (let i = 0; i < W * H; i++) {
    const z = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
    const v = Math.max(0, Math.min(255, Math.round(128 + sigma * z)));
    out.fill(v, i * 3, i * 3 + 3);
  }
  return out;
}

const FRAMES: Record<string, Uint8Array> = {
  pattern: lavfiFrame('testsrc2'),
  blurred: lavfiFrame('testsrc2', 'gblur=sigma=3'),
  dark: lavfiFrame('testsrc2', 'eq=brightness=-0.6'),
  bright: lavfiFrame('testsrc2', 'eq=brightness=0.6'),
  bars: lavfiFrame('rgbtestsrc'),
  grey: lavfiFrame('color=c=0x808080'),
  noisy: gaussianNoiseFrame(8, 7),
};
const NAMES = Object.keys(FRAMES);

// The reference: OpenCV for the two filters, numpy for the rest, float64 throughout.
const REFERENCE = String.raw`
import json, sys, math
import numpy as np, cv2
w, h, shadow, highlight = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
frames = np.fromfile(sys.argv[1], dtype=np.uint8).reshape(-1, h, w, 3).astype(np.float64)
out = []
for f in frames:
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    gray = 0.299 * r + 0.587 * g + 0.114 * b
    lap = cv2.Laplacian(gray, cv2.CV_64F, ksize=1, borderType=cv2.BORDER_REFLECT_101)
    m = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)
    conv = cv2.filter2D(gray, cv2.CV_64F, m)[1:-1, 1:-1]
    noise = math.sqrt(math.pi / 2) * np.abs(conv).sum() / (6 * (w - 2) * (h - 2))
    rg = r - g
    yb = 0.5 * (r + g) - b
    colour = math.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * math.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    out.append({
        'sharpness': lap.var(),
        'exposure': gray.mean() / 255,
        'clippedShadows': float((gray <= shadow).mean()),
        'clippedHighlights': float((gray >= highlight).mean()),
        'contrast': gray.std() / 255,
        'colourfulness': colour,
        'noiseSigma': noise,
    })
print(json.dumps(out))
`;

describe('shot_quality per-frame measures', () => {
  const path = join(dir, 'all.rgb');
  writeFileSync(path, Buffer.concat(NAMES.map((n) => FRAMES[n] as Uint8Array)));
  const reference = JSON.parse(
    execFileSync(
      PYTHON,
      [
        '-c',
        REFERENCE,
        path,
        String(W),
        String(H),
        String(DEFAULT_CLIP_LEVELS.shadow),
        String(DEFAULT_CLIP_LEVELS.highlight),
      ],
      { encoding: 'utf8' },
    ),
  ) as Record<string, number>[];
  const ours = NAMES.map((n) => frameQuality(FRAMES[n] as Uint8Array, 0, W, H));

  it('equal OpenCV/numpy on every generated frame (relative 1e-9)', () => {
    NAMES.forEach((name, i) => {
      const want = reference[i] ?? {};
      for (const [key, value] of Object.entries(ours[i] ?? {})) {
        const expected = want[key] ?? Number.NaN;
        expect(Math.abs(value - expected), `${name}.${key}: ${value} vs ${expected}`).toBeLessThanOrEqual(
          1e-9 * Math.max(1, Math.abs(expected)),
        );
      }
    });
  });

  it('order the frames as their making says: blur, exposure, clipping, colour, noise', () => {
    const q = Object.fromEntries(NAMES.map((n, i) => [n, ours[i]!]));
    expect(q.blurred!.sharpness).toBeLessThan(q.pattern!.sharpness / 5);
    expect(q.grey!.sharpness).toBe(0);
    expect(q.grey!.contrast).toBe(0);
    expect(q.grey!.colourfulness).toBe(0);
    expect(q.grey!.noiseSigma).toBe(0);
    expect(q.grey!.exposure).toBeCloseTo(128 / 255, 6);
    expect(q.dark!.exposure).toBeLessThan(q.pattern!.exposure);
    expect(q.bright!.exposure).toBeGreaterThan(q.pattern!.exposure);
    expect(q.dark!.clippedShadows).toBeGreaterThan(0.1);
    expect(q.pattern!.clippedShadows).toBeLessThan(q.dark!.clippedShadows / 2);
    expect(q.bright!.clippedHighlights).toBeGreaterThan(0.01);
    expect(q.pattern!.clippedHighlights).toBeLessThan(q.bright!.clippedHighlights / 2);
    expect(q.bars!.colourfulness).toBeGreaterThan(q.pattern!.colourfulness / 2);
    expect(q.noisy!.colourfulness).toBe(0);
  });

  it('estimates Gaussian noise of known σ within 5 %', () => {
    for (const sigma of [4, 8, 16]) {
      const frame = gaussianNoiseFrame(sigma, sigma);
      const estimate = immerkaerNoise(lumaPlane(frame, 0, W, H), W, H);
      expect(Math.abs(estimate - sigma) / sigma, `σ=${sigma}: ${estimate}`).toBeLessThan(0.05);
    }
  });

  it('reads a frame at a byte offset inside a batch', () => {
    const batch = Buffer.concat([FRAMES.grey!, FRAMES.pattern!]);
    expect(frameQuality(new Uint8Array(batch), FRAME, W, H)).toEqual(ours[NAMES.indexOf('pattern')]);
  });
});

describe('face framing', () => {
  it('measures area, centre and the distance to the nearest thirds intersection', () => {
    // A 40×30 box centred on the upper-left thirds point of a 300×150 frame.
    const f = faceFraming([80, 35, 120, 65], 300, 150);
    expect(f.areaFraction).toBeCloseTo(1200 / 45000, 12);
    expect(f.centreX).toBeCloseTo(1 / 3, 12);
    expect(f.centreY).toBeCloseTo(1 / 3, 12);
    expect(f.thirdsDistance).toBeCloseTo(0, 12);
    // Centred box: every thirds point is (1/6, 1/6) away.
    expect(faceFraming([140, 65, 160, 85], 300, 150).thirdsDistance).toBeCloseTo(
      Math.hypot(1 / 6, 1 / 6),
      12,
    );
    // Clipped to the frame for the area, not for the centre.
    const edge = faceFraming([-20, 0, 20, 10], 100, 100);
    expect(edge.areaFraction).toBeCloseTo(200 / 10000, 12);
    expect(edge.centreX).toBe(0);
  });
});
