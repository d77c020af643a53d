// Cut detection on synthetic pixel arrays (solid colours, noise textures, fades, dissolves) and on
// frames ffmpeg decodes from generated videos whose cuts and transitions lie at known frames.
import { memoryScratchSpace, noDependencyInputs } from '../../../../../contracts/index.js';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ffmpeg, makeTempDir } from '../../../../../../test/support/media.js';
import {
  checkArrays,
  type ComponentContext,
  type FrameAccess,
  type FrameBatch,
  type NdArray,
} from '../../../../../contracts/index.js';
import {
  DEFAULT_DETECT_PARAMS,
  HIST_BINS,
  blendResidual,
  detectHardCuts,
  detectTransitions,
  frameFeatures,
  shotStartPositions,
  transitionScore,
  type DetectParams,
} from './detect.js';
import { cutDetection } from './index.js';

// Large enough that a thumbnail cell averages ~20 samples (noise textures average out).
const W = 192;
const H = 108;
const FRAME_BYTES = W * H * 3;

/** Deterministic PRNG (mulberry32), so noise textures are the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function solid(r: number, g: number, b: number): Uint8Array {
  const out = new Uint8Array(FRAME_BYTES);
  for (let i = 0; i < W * H; i += 1) out.set([r, g, b], i * 3);
  return out;
}

/** A noise texture around a base colour: a fresh texture per seed, the same colour distribution. */
function noise(base: readonly [number, number, number], amplitude: number, seed: number): Uint8Array {
  const next = random(seed);
  const out = new Uint8Array(FRAME_BYTES);
  for (let i = 0; i < out.length; i += 1) {
    const value = (base[i % 3] ?? 0) + (next() * 2 - 1) * amplitude;
    out[i] = Math.max(0, Math.min(255, Math.round(value)));
  }
  return out;
}

/** Per-pixel mix (1 − alpha) × a + alpha × b: what a fade (b black) or a dissolve produces. */
function mix(a: Uint8Array, b: Uint8Array, alpha: number): Uint8Array {
  return a.map((v, i) => Math.round((1 - alpha) * v + alpha * (b[i] ?? 0)));
}

type Rgb = readonly [number, number, number];
const PALETTES: readonly (readonly [Rgb, Rgb])[] = [
  [
    [230, 60, 30],
    [250, 220, 60],
  ],
  [
    [20, 40, 160],
    [200, 230, 250],
  ],
  [
    [30, 120, 40],
    [120, 60, 20],
  ],
];

/** Stripes between two colours, at an angle and frequency set by `seed`: structure everywhere. */
function pattern(seed: number): Uint8Array {
  const next = random(seed);
  const [fx, fy, phase] = [1 + next() * 4, 1 + next() * 4, next() * 6];
  const [c0, c1] = PALETTES[seed % PALETTES.length] ?? [
    [0, 0, 0],
    [255, 255, 255],
  ];
  const out = new Uint8Array(FRAME_BYTES);
  for (let y = 0; y < H; y += 1) {
    for (let x = 0; x < W; x += 1) {
      const v = 0.5 + 0.5 * Math.sin((fx * x) / 25 + (fy * y) / 18 + phase);
      out.set(
        c0.map((c, i) => c + v * ((c1[i] ?? 0) - c)),
        (y * W + x) * 3,
      );
    }
  }
  return out;
}

const everyFrame = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

function detect(frames: readonly Uint8Array[], params: Partial<DetectParams> = {}, width = W, height = H) {
  const features = frames.map((f) => frameFeatures(f, 0, width, height));
  return detectTransitions(features, everyFrame(frames.length), { ...DEFAULT_DETECT_PARAMS, ...params });
}

const repeat = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));

describe('frameFeatures', () => {
  it('gives a histogram summing to 1 and a thumbnail of the mean luma per cell', () => {
    const f = frameFeatures(solid(128, 128, 128), 0, W, H);
    expect(f.histogram).toHaveLength(HIST_BINS);
    expect(f.histogram.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    for (const cell of f.thumbnail) expect(cell).toBeCloseTo(128 / 255, 2);
    const half = solid(0, 0, 0);
    half.fill(255, 0, FRAME_BYTES / 2); // top half white
    const t = frameFeatures(half, 0, W, H).thumbnail;
    expect(t[0]).toBeCloseTo(1, 5);
    expect(t[t.length - 1]).toBeCloseTo(0, 5);
  });

  it('reads the frame at the given offset of a batch buffer, and refuses a buffer that is too short', () => {
    const batch = new Uint8Array(2 * FRAME_BYTES);
    batch.set(solid(200, 30, 30), 0);
    batch.set(solid(30, 30, 200), FRAME_BYTES);
    const second = frameFeatures(batch, FRAME_BYTES, W, H);
    expect(second).toEqual(frameFeatures(solid(30, 30, 200), 0, W, H));
    expect(() => frameFeatures(batch, FRAME_BYTES + 3, W, H)).toThrow(RangeError);
  });
});

describe('transitionScore', () => {
  it('is 0 for identical frames, high for different colours, low for a new texture of the same colours', () => {
    const red = frameFeatures(solid(220, 20, 20), 0, W, H);
    const blue = frameFeatures(solid(20, 20, 220), 0, W, H);
    expect(transitionScore(red, red)).toBe(0);
    expect(transitionScore(red, blue)).toBeGreaterThan(0.5);
    expect(transitionScore(red, blue)).toBeLessThanOrEqual(1);
    const grass = [40, 140, 50] as const;
    const a = frameFeatures(noise(grass, 40, 1), 0, W, H);
    const b = frameFeatures(noise(grass, 40, 2), 0, W, H);
    const sky = frameFeatures(noise([90, 140, 220], 40, 3), 0, W, H);
    expect(transitionScore(a, b)).toBeLessThan(0.1);
    expect(transitionScore(a, sky)).toBeGreaterThan(0.4);
  });
});

describe('hard cuts', () => {
  const grass = [40, 140, 50] as const;
  const sky = [90, 140, 220] as const;

  it('finds the cut between two noise-textured shots at the first frame of the new shot, and nothing else', () => {
    const frames = [...repeat(20, (i) => noise(grass, 40, i)), ...repeat(20, (i) => noise(sky, 40, 100 + i))];
    const d = detect(frames);
    expect(d.cutPositions).toEqual([20]);
    expect(d.gradual).toEqual([]);
    expect(d.shotStarts).toEqual([0, 20]);
    expect(Number.isNaN(d.scores[0])).toBe(true);
    expect(detect(repeat(30, () => solid(90, 90, 90))).cutPositions).toEqual([]);
  });

  it('is adaptive: where every frame differs a lot from the last (fast motion), no score stands out', () => {
    const next = random(7);
    const colour = (): number => Math.round(next() * 255);
    const frames = repeat(40, () => solid(colour(), colour(), colour()));
    const d = detect(frames);
    expect(Math.min(...Array.from(d.scores.subarray(1)))).toBeGreaterThanOrEqual(0);
    expect(d.cutPositions).toEqual([]);
  });

  it('keeps shots at least minShotFrames source frames long: of two close cuts the stronger wins', () => {
    // A 2-frame flash of a different scene between two shots of the same scene.
    const frames = [
      ...repeat(20, (i) => noise(grass, 40, i)),
      ...repeat(2, (i) => solid(250, 250, 250 - i)),
      ...repeat(20, (i) => noise(sky, 40, 50 + i)),
    ];
    expect(detect(frames, { minShotFrames: 1 }).cutPositions).toEqual([20, 22]);
    expect(detect(frames, { minShotFrames: 8 }).cutPositions).toHaveLength(1);
  });

  it('measures the minimum shot length in source frames, whatever the sampling step', () => {
    const scores = new Float32Array(30);
    scores[0] = Number.NaN;
    scores[10] = 0.9;
    scores[12] = 0.8;
    const params = { ...DEFAULT_DETECT_PARAMS, minShotFrames: 8 };
    // Every 5th source frame: the cuts are 10 source frames apart, both stand.
    const every5th = Int32Array.from({ length: 30 }, (_, k) => 5 * k);
    expect(detectHardCuts(scores, every5th, params)).toEqual([10, 12]);
    // Every frame: 2 frames apart, the stronger stands; and none within 8 frames of the start.
    expect(detectHardCuts(scores, everyFrame(30), params)).toEqual([10]);
    scores[3] = 0.9;
    expect(detectHardCuts(scores, everyFrame(30), params)).toEqual([10]);
  });
});

describe('gradual transitions', () => {
  const black = solid(0, 0, 0);

  it('reports a fade to black as one gradual transition over its frames, not as a cut', () => {
    const scene = pattern(1);
    const frames = [
      ...repeat(30, () => scene),
      ...repeat(15, (i) => mix(scene, black, (i + 1) / 15)),
      ...repeat(30, () => black),
    ];
    const d = detect(frames);
    expect(d.cutPositions).toEqual([]);
    expect(d.gradual).toEqual([[30, 44]]);
    expect(d.shotStarts).toEqual([0, 44]);
  });

  it('reports a dissolve between two pictures as one gradual transition', () => {
    const [a, b] = [pattern(2), pattern(3)];
    const frames = [
      ...repeat(30, () => a),
      ...repeat(20, (i) => mix(a, b, (i + 1) / 20)),
      ...repeat(30, () => b),
    ];
    const d = detect(frames);
    expect(d.cutPositions).toEqual([]);
    expect(d.gradual).toEqual([[30, 49]]);
    expect(
      blendResidual(
        frames.map((f) => frameFeatures(f, 0, W, H)),
        29,
        49,
      ),
    ).toBeLessThan(0.01);
  });

  it('splits a fade-out straight into a fade-in (no black hold between) into two transitions', () => {
    const [a, b] = [pattern(4), pattern(5)];
    const frames = [
      ...repeat(30, () => a),
      ...repeat(12, (i) => mix(a, black, (i + 1) / 12)),
      ...repeat(12, (i) => mix(black, b, (i + 1) / 12)),
      ...repeat(30, () => b),
    ];
    const d = detect(frames);
    expect(d.cutPositions).toEqual([]);
    expect(d.gradual).toHaveLength(2);
    const [out, into] = d.gradual;
    expect(Math.abs((out?.[1] ?? 0) - 41)).toBeLessThanOrEqual(1);
    expect(into?.[1]).toBe(53);
  });

  it('rejects runs that are too short or change too little', () => {
    const scene = pattern(6);
    const fadeBy = (depth: number, length: number): Uint8Array[] => [
      ...repeat(30, () => scene),
      ...repeat(length, (i) => mix(scene, black, (depth * (i + 1)) / length)),
      ...repeat(30, () => mix(scene, black, depth)),
    ];
    expect(detect(fadeBy(1, 3)).gradual).toEqual([]); // 3 frames < gradualMinFrames (4)
    expect(detect(fadeBy(0.15, 15)).gradual).toEqual([]); // a slight dimming, not a transition
  });
});

describe('shotStartPositions', () => {
  it('starts shots at 0, at cuts and at gradual ends, dropping gradual ends that leave a too-short shot', () => {
    const source = everyFrame(100);
    expect(shotStartPositions(source, [40], [[60, 70]], 8)).toEqual([0, 40, 70]);
    // A fade-out that ends 3 frames before the end would leave a 3-frame last shot.
    expect(shotStartPositions(source, [40], [[80, 97]], 8)).toEqual([0, 40]);
    // … and one that ends 2 frames after a cut a 2-frame shot.
    expect(shotStartPositions(source, [40], [[35, 42]], 8)).toEqual([0, 40]);
    expect(shotStartPositions(new Int32Array(0), [], [], 8)).toEqual([]);
  });
});

// ---- Real decoded video -------------------------------------------------------------------

const VW = 320;
const VH = 180;
const FPS = 25;

function decodeAll(path: string): Uint8Array[] {
  const raw = execFileSync(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { maxBuffer: 1 << 30 },
  );
  const frameBytes = VW * VH * 3;
  return repeat(raw.length / frameBytes, (i) => raw.subarray(i * frameBytes, (i + 1) * frameBytes));
}

function encode(path: string, inputs: string[], filter: string): Uint8Array[] {
  ffmpeg([
    ...inputs.flatMap((source) => ['-f', 'lavfi', '-i', source]),
    '-filter_complex',
    `${filter},format=yuv420p[v]`,
    '-map',
    '[v]',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    path,
  ]);
  return decodeAll(path);
}

describe('on decoded video', () => {
  const dir = makeTempDir('cut-detection');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const src = (name: string, seconds: number): string =>
    `${name}=s=${VW}x${VH}:r=${FPS},trim=duration=${seconds}`;

  // testsrc2 2.4 s (60 frames) | smptebars 3 s (75) | mandelbrot 2 s (50): cuts at 60 and 135.
  let threeShotFrames: Uint8Array[] | undefined;
  const threeShots = (): Uint8Array[] =>
    (threeShotFrames ??= encode(
      join(dir, 'three.mp4'),
      [src('testsrc2', 2.4), src('smptebars', 3), src('mandelbrot', 2)],
      '[0:v][1:v][2:v]concat=n=3:v=1:a=0',
    ));
  const truth = [60, 135];

  it('finds the two cuts of a 3-shot video at the generated frames (±1), and nothing else', () => {
    const frames = threeShots();
    expect(frames).toHaveLength(185);
    const d = detect(frames, {}, VW, VH);
    expect(d.cutPositions).toHaveLength(2);
    d.cutPositions.forEach((c, i) => expect(Math.abs(c - (truth[i] ?? -99))).toBeLessThanOrEqual(1));
    expect(d.gradual).toEqual([]);
    expect(d.shotStarts).toEqual([0, ...d.cutPositions]);
  });

  it('reports a cut at the first sampled frame of the new shot when frames are sampled sparsely', () => {
    const frames = threeShots();
    // Every 3rd frame, and an uneven pattern (steps 1–7): precision is the sampling step.
    const uneven: number[] = [];
    for (let i = 0, step = 1; i < frames.length; i += step, step = (step % 7) + 1) uneven.push(i);
    for (const sampled of [everyFrame(62).map((i) => i * 3), Int32Array.from(uneven)]) {
      const features = Array.from(sampled, (i) => frameFeatures(frames[i] ?? new Uint8Array(), 0, VW, VH));
      const d = detectTransitions(features, sampled, DEFAULT_DETECT_PARAMS);
      const cutsAt = d.cutPositions.map((k) => sampled[k] ?? -1);
      const expected = truth.map((t) => sampled.find((i) => i >= t));
      expect(cutsAt).toEqual(expected);
    }
  });

  it('reports no hard cut and no transition in one continuous moving shot (testsrc2)', () => {
    const d = detect(encode(join(dir, 'moving.mp4'), [src('testsrc2', 6)], '[0:v]null'), {}, VW, VH);
    expect(d.cutPositions).toEqual([]);
    expect(d.gradual).toEqual([]);
  });

  it('reports no cut and no transition in a camera pan across a detailed picture', () => {
    // A 320x180 window moving 8 px a frame across a 960x540 mandelbrot: scores above the gradual
    // threshold for seconds and a large accumulated change, but the picture moves, it is not mixed.
    const frames = encode(
      join(dir, 'pan.mp4'),
      [`mandelbrot=s=960x540:r=${FPS},trim=duration=3`],
      `[0:v]crop=${VW}:${VH}:x='100+t*200':y=150`,
    );
    const d = detect(frames, {}, VW, VH);
    expect(d.cutPositions).toEqual([]);
    expect(d.gradual).toEqual([]);
    // The blend test is what rejects it: without it the pan would pass as a gradual transition.
    expect(detect(frames, { gradualMaxResidual: Infinity }, VW, VH).gradual).toHaveLength(1);
  });

  it('reports a fade to black and a fade in as gradual transitions, not hard cuts', () => {
    // smptebars fades out over frames 50–74, testsrc2 fades in over frames 75–99.
    const frames = encode(
      join(dir, 'fade.mp4'),
      [src('smptebars', 3), src('testsrc2', 3)],
      '[0:v]fade=t=out:st=2:d=1[a];[1:v]fade=t=in:st=0:d=1[b];[a][b]concat=n=2:v=1:a=0',
    );
    const d = detect(frames, {}, VW, VH);
    expect(d.cutPositions).toEqual([]);
    expect(d.gradual).toHaveLength(2);
    const [out, into] = d.gradual;
    expect(out?.[0]).toBeGreaterThanOrEqual(49);
    expect(out?.[1]).toBeLessThanOrEqual(76);
    expect(into?.[0]).toBeGreaterThanOrEqual(74);
    expect(into?.[1]).toBeLessThanOrEqual(101);
  });

  it('reports a cross-dissolve as one gradual transition over its frames', () => {
    // mandelbrot dissolves into testsrc2 over frames 50–75 (xfade, 1 s at offset 2 s).
    const frames = encode(
      join(dir, 'dissolve.mp4'),
      [src('mandelbrot', 3), src('testsrc2', 3)],
      '[0:v]settb=AVTB[a];[1:v]settb=AVTB[b];[a][b]xfade=transition=fade:duration=1:offset=2',
    );
    const d = detect(frames, {}, VW, VH);
    expect(d.cutPositions).toEqual([]);
    expect(d.gradual).toHaveLength(1);
    const [first, last] = d.gradual[0] ?? [0, 0];
    expect(Math.abs(first - 51)).toBeLessThanOrEqual(2);
    expect(Math.abs(last - 75)).toBeLessThanOrEqual(2);
  });
});

// ---- The component over an in-memory FrameAccess ------------------------------------------

function memoryFrames(frames: readonly Uint8Array[], sourceFrameIndices: Int32Array, fps = 25): FrameAccess {
  const frameIndices = everyFrame(frames.length);
  const timestampsSec = Float64Array.from(sourceFrameIndices, (i) => i / fps);
  return {
    frameIndices,
    sourceFrameIndices,
    timestampsSec,
    width: W,
    height: H,
    sourceFps: fps,
    async *batches(batchSize: number): AsyncIterable<FrameBatch> {
      for (let start = 0; start < frames.length; start += batchSize) {
        const end = Math.min(frames.length, start + batchSize);
        const pixels = new Uint8Array((end - start) * FRAME_BYTES);
        frames.slice(start, end).forEach((f, i) => pixels.set(f, i * FRAME_BYTES));
        await Promise.resolve();
        yield {
          unionIndices: frameIndices.subarray(start, end),
          sourceIndices: sourceFrameIndices.subarray(start, end),
          timestampsSec: timestampsSec.subarray(start, end),
          pixels,
          width: W,
          height: H,
        };
      }
    },
  };
}

function context(frames: FrameAccess | null, progress: [number, number][] = []) {
  return {
    identity: {} as never,
    runDir: '/nonexistent',
    config: cutDetection.configSchema.parse({ batch_size: 16 }),
    frames,
    audio: { hasAudio: false, wavPath: null, sampleRate: 48000, channels: 0, durationSec: 0 },
    progress: (done: number, total: number) => void progress.push([done, total]),
    signal: new AbortController().signal,
    inputs: noDependencyInputs('test'),
    scratch: memoryScratchSpace(),
    document: null,
  } satisfies ComponentContext<unknown>;
}

/** An array's values as plain numbers (this artifact has no int64 or string arrays). */
const values = (a: NdArray | undefined): number[] =>
  a && (a.dtype === 'float32' || a.dtype === 'int32') ? Array.from(a.data) : [];

describe('cut_detection component', () => {
  const grass = [40, 140, 50] as const;
  const sky = [90, 140, 220] as const;

  it('writes contract-valid arrays with cuts and shots in the source domain', async () => {
    // 40 sampled frames, every 2nd source frame from 10: the cut lies between source 48 and 50.
    const frames = [...repeat(20, (i) => noise(grass, 40, i)), ...repeat(20, (i) => noise(sky, 40, 100 + i))];
    const source = Int32Array.from({ length: 40 }, (_, k) => 10 + 2 * k);
    const progress: [number, number][] = [];
    const ctx = context(memoryFrames(frames, source), progress);
    const result = await cutDetection.run(ctx);
    expect(result.status).toBe('ok');
    expect(checkArrays(cutDetection.schema, result.arrays, cutDetection.knownSymbols?.(ctx))).toEqual([]);
    expect(values(result.arrays.cut_frame_indices)).toEqual([50]);
    expect(values(result.arrays.cut_times_sec)).toEqual([Math.fround(50 / 25)]);
    expect(values(result.arrays.shot_start_frame_indices)).toEqual([10, 50]);
    expect(values(result.arrays.shot_end_frame_indices)).toEqual([48, 88]);
    expect(values(result.arrays.gradual_start_frame_indices)).toEqual([]);
    expect(Number.isNaN(values(result.arrays.transition_scores)[0])).toBe(true);
    expect(cutDetection.schema.meta?.parse(result.meta)).toMatchObject({
      num_cuts: 1,
      num_shots: 2,
      max_sampling_gap_frames: 2,
      thresholds: { cut_threshold: DEFAULT_DETECT_PARAMS.cutThreshold },
    });
    expect(progress.at(-1)).toEqual([40, 40]);
  });

  it('gives one shot and no cut for a video without cuts', async () => {
    const frames = repeat(10, (i) => noise(grass, 40, i));
    const result = await cutDetection.run(context(memoryFrames(frames, everyFrame(10))));
    expect(result.status).toBe('ok');
    expect(values(result.arrays.cut_frame_indices)).toEqual([]);
    expect(values(result.arrays.shot_start_frame_indices)).toEqual([0]);
    expect(values(result.arrays.shot_end_frame_indices)).toEqual([9]);
  });

  it('is empty (too_few_frames) with arrays at contract shape when it has fewer than 2 frames', async () => {
    for (const n of [0, 1]) {
      const ctx = context(
        memoryFrames(
          repeat(n, () => solid(1, 2, 3)),
          everyFrame(n),
        ),
      );
      const result = await cutDetection.run(ctx);
      expect(result).toMatchObject({ status: 'empty', emptyReason: 'too_few_frames' });
      expect(checkArrays(cutDetection.schema, result.arrays, { N: n, C: 0, G: 0, S: 0 })).toEqual([]);
    }
  });

  it('fails with CONTRACT_VIOLATION when frames_dir yields fewer frames than its frame_indices', async () => {
    const access = memoryFrames(
      repeat(5, () => solid(1, 2, 3)),
      everyFrame(5),
    );
    const short = { ...access, frameIndices: everyFrame(6), sourceFrameIndices: everyFrame(6) };
    await expect(cutDetection.run(context(short))).rejects.toMatchObject({ code: 'CONTRACT_VIOLATION' });
  });

  it('fails with DEPENDENCY_MISSING without frames (it never samples on its own)', async () => {
    await expect(cutDetection.run(context(null))).rejects.toMatchObject({ code: 'DEPENDENCY_MISSING' });
  });
});
