// Cut detection on synthetic frames and on frames decoded by ffmpeg from generated videos with
// cuts at known frames.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ffmpeg, makeShotVideo, makeTempDir } from '../../../../../../test/support/media.js';
import { detectTransitions, frameFeatures, transitionScore, type DetectParams } from './detect.js';

const PARAMS: DetectParams = {
  cutThreshold: 0.3,
  localRatio: 2.5,
  localWindow: 8,
  minShotSec: 0.4,
  gradualThreshold: 0.05,
  gradualMinFrames: 4,
};
const W = 64;
const H = 36;

function solid(r: number, g: number, b: number): Uint8Array {
  const out = new Uint8Array(W * H * 3);
  for (let i = 0; i < W * H; i += 1) out.set([r, g, b], i * 3);
  return out;
}

function decodeAll(path: string, width: number, height: number): Uint8Array[] {
  const raw = execFileSync(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-i',
      path,
      '-vf',
      `scale=${width}:${height}`,
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-',
    ],
    { maxBuffer: 1 << 30 },
  );
  const frameBytes = width * height * 3;
  return Array.from({ length: raw.length / frameBytes }, (_, i) =>
    raw.subarray(i * frameBytes, (i + 1) * frameBytes),
  );
}

function detectOn(frames: Uint8Array[], width: number, height: number, fps: number) {
  const features = frames.map((f) => frameFeatures(f, 0, width, height));
  const times = Float64Array.from(frames, (_, i) => i / fps);
  return detectTransitions(features, times, PARAMS);
}

describe('transition score', () => {
  it('is 0 for identical frames and high for different colours', () => {
    const red = frameFeatures(solid(220, 20, 20), 0, W, H);
    const blue = frameFeatures(solid(20, 20, 220), 0, W, H);
    expect(transitionScore(red, red)).toBe(0);
    expect(transitionScore(red, blue)).toBeGreaterThan(0.5);
  });

  it('finds the cut in a synthetic sequence at the right position and none in a static one', () => {
    const frames = [
      ...Array.from({ length: 20 }, () => solid(200, 30, 30)),
      ...Array.from({ length: 20 }, () => solid(30, 30, 200)),
    ];
    const d = detectOn(frames, W, H, 25);
    expect(d.cutPositions).toEqual([20]);
    expect(Number.isNaN(d.scores[0])).toBe(true);
    expect(
      detectOn(
        Array.from({ length: 30 }, () => solid(90, 90, 90)),
        W,
        H,
        25,
      ).cutPositions,
    ).toEqual([]);
  });
});

describe('on decoded video', () => {
  const dir = makeTempDir('cuts');

  it('finds the cuts of a 4-shot video at the generated frames (±1) and nothing else', () => {
    const path = join(dir, 'shots.mp4');
    const truth = makeShotVideo(path, {
      width: 320,
      height: 180,
      fps: 25,
      shotSeconds: [2, 3, 2, 2],
      toneDbfs: null,
    });
    const d = detectOn(decodeAll(path, 320, 180), 320, 180, 25);
    expect(d.cutPositions).toHaveLength(truth.cutFrames.length);
    d.cutPositions.forEach((c, i) =>
      expect(Math.abs(c - (truth.cutFrames[i] ?? -99))).toBeLessThanOrEqual(1),
    );
  });

  it('reports no hard cut in one continuous moving shot', () => {
    const path = join(dir, 'moving.mp4');
    makeShotVideo(path, { width: 320, height: 180, shotSeconds: [6], toneDbfs: null });
    const d = detectOn(decodeAll(path, 320, 180), 320, 180, 25);
    expect(d.cutPositions).toEqual([]);
  });

  it('reports a fade to black and back as gradual transitions, not hard cuts', () => {
    const path = join(dir, 'fade.mp4');
    // Bars fade out over frames 50–74, then a new scene fades in over frames 75–99.
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'smptebars=s=320x180:r=25:d=3',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=320x180:r=25:d=3',
      '-filter_complex',
      '[0:v]fade=t=out:st=2:d=1[a];[1:v]fade=t=in:st=0:d=1[b];[a][b]concat=n=2:v=1:a=0[v]',
      '-map',
      '[v]',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      path,
    ]);
    const d = detectOn(decodeAll(path, 320, 180), 320, 180, 25);
    expect(d.cutPositions).toEqual([]);
    expect(d.gradual.length).toBeGreaterThanOrEqual(1);
    const [start, end] = d.gradual[0] ?? [0, 0];
    expect(start).toBeGreaterThanOrEqual(48);
    expect(end).toBeLessThanOrEqual(102);
  });

  it('localises cuts to the sampling step when frames are sampled sparsely', () => {
    const path = join(dir, 'sparse.mp4');
    const truth = makeShotVideo(path, {
      width: 320,
      height: 180,
      fps: 25,
      shotSeconds: [3, 3],
      toneDbfs: null,
    });
    const all = decodeAll(path, 320, 180);
    const step = 3;
    const sampled = all.filter((_, i) => i % step === 0);
    const features = sampled.map((f) => frameFeatures(f, 0, 320, 180));
    const d = detectTransitions(
      features,
      Float64Array.from(sampled, (_, k) => (k * step) / 25),
      PARAMS,
    );
    expect(d.cutPositions).toHaveLength(1);
    const sourceIndex = (d.cutPositions[0] ?? 0) * step;
    expect(sourceIndex).toBeGreaterThanOrEqual(truth.cutFrames[0] ?? 0);
    expect(sourceIndex - (truth.cutFrames[0] ?? 0)).toBeLessThan(step);
  });
});
