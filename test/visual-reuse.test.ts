// Near-duplicate frame reuse (issue 17): the planner on frames generated with ffmpeg (a slow pan
// over a photo, a cut to another photo, a moving test pattern), and the tolerance of reuse against
// the full computation for core_face_landmarks through runVideo on the real models.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNpzFile, type NdArray } from '../src/contracts/index.js';
import { runVideo } from '../src/orchestrator/index.js';
import { ReusePlanner, frameThumbnail } from '../src/processors/visual/index.js';
import { ffmpeg, makeTempDir } from './support/media.js';
import { decodeVideoRgb, faceSamplePath } from './support/visual.js';

const W = 568;
const H = 320;
const FPS = 25;
const SHOT_SEC = 2;
// Pans: 4% of the frame width over the shot (a slow camera move); then a cut.
const SHOTS = ['sample6.jpg', 'sample1.jpg', null] as const;

let dir: string;
let video: string;

beforeAll(() => {
  dir = makeTempDir('visual-reuse');
  const inputs: string[] = [];
  const chains: string[] = [];
  SHOTS.forEach((photo, i) => {
    if (photo) {
      inputs.push(
        '-loop',
        '1',
        '-framerate',
        String(FPS),
        '-t',
        String(SHOT_SEC),
        '-i',
        faceSamplePath(photo),
      );
      chains.push(
        `[${i}:v]scale=${Math.round(W * 1.04)}:${Math.round(H * 1.04)},crop=${W}:${H}:x='(iw-ow)*t/${SHOT_SEC}':y='(ih-oh)/2',setsar=1,format=yuv420p[s${i}]`,
      );
    } else {
      inputs.push('-f', 'lavfi', '-i', `testsrc2=s=${W}x${H}:r=${FPS}:d=${SHOT_SEC}`);
      chains.push(`[${i}:v]setsar=1,format=yuv420p[s${i}]`);
    }
  });
  video = join(dir, 'reuse.mp4');
  ffmpeg([
    ...inputs,
    '-filter_complex',
    `${chains.join(';')};${SHOTS.map((_, i) => `[s${i}]`).join('')}concat=n=${SHOTS.length}:v=1:a=0[v]`,
    ...['-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '16', '-r', String(FPS), video],
  ]);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('near-duplicate reuse planner', () => {
  it('reuses within a shot, never across a cut, and not at all when switched off', () => {
    // Every 4th frame (6.25 frames/s, the face provider's rate on short videos).
    const { pixels, count } = decodeVideoRgb(video, W, H);
    const bytes = W * H * 3;
    const step = 4;
    const planner = new ReusePlanner({ enabled: true, minSimilarity: 0.98, maxGapSec: 1 });
    const off = new ReusePlanner({ enabled: false, minSimilarity: 0.98, maxGapSec: 1 });
    const decisions: { shot: number; reuse: boolean; similarity: number; offReuse: boolean }[] = [];
    for (let i = 0; i < count; i += step) {
      const t = frameThumbnail(pixels.subarray(i * bytes, (i + 1) * bytes), W, H);
      const d = planner.decide(t, i / FPS);
      decisions.push({
        shot: Math.floor(i / (FPS * SHOT_SEC)),
        ...d,
        offReuse: off.decide(t, i / FPS).reuse,
      });
    }
    expect(decisions.some((d) => d.offReuse)).toBe(false);
    expect(Number.isNaN(decisions[0]?.similarity)).toBe(true);
    for (let k = 1; k < decisions.length; k++) {
      const d = decisions[k]!;
      if (d.shot !== decisions[k - 1]!.shot) {
        // The first frame after a cut is far below the threshold and is inferred.
        expect(d.reuse).toBe(false);
        expect(d.similarity).toBeLessThan(0.9);
      }
    }
    // The photo pans are slow: most of their frames reuse; the moving test pattern's hardly any.
    const reusedIn = (shot: number): number => decisions.filter((d) => d.shot === shot && d.reuse).length;
    expect(reusedIn(0)).toBeGreaterThanOrEqual(5);
    expect(reusedIn(1)).toBeGreaterThanOrEqual(5);
    // A reused result is never older than max_gap_sec: at most 6 reused frames in a row at 6.25 fps.
    let run = 0;
    for (const d of decisions) {
      run = d.reuse ? run + 1 : 0;
      expect(run).toBeLessThanOrEqual(6);
    }
  });
});

/** IoU of two x0,y0,x1,y1 boxes. */
function iou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ix = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const iy = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = ix * iy;
  const area = (r: ArrayLike<number>): number => (r[2]! - r[0]!) * (r[3]! - r[1]!);
  return inter / (area(a) + area(b) - inter);
}

describe('core_face_landmarks + emotion_face with reuse vs the full computation', () => {
  it('stays within the stated tolerance: same face counts on ≥ 90% of frames, matched boxes IoU ≥ 0.8 on average, emotion means within 0.05', async () => {
    const emotions: Record<string, Record<string, NdArray>> = {};
    const run = async (reuse: boolean): Promise<Record<string, NdArray>> => {
      const outcome = await runVideo({
        videoPath: video,
        storeRoot: join(dir, 'store'),
        databasePath: join(dir, 'profiles.sqlite'),
        runId: reuse ? 'reuse' : 'full',
        components: ['core_face_landmarks', 'emotion_face'],
        useCache: false,
        config: {
          components: {
            core_face_landmarks: { reuse_near_duplicates: reuse },
            emotion_face: { reuse_near_duplicates: reuse },
          },
        },
      });
      emotions[reuse ? 'reuse' : 'full'] = (
        await readNpzFile(join(outcome.runDir, 'emotion_face', 'emotion_face.npz'))
      ).arrays;
      const entry = outcome.manifest.components.find((c) => c.name === 'core_face_landmarks');
      expect(entry?.status).toBe('ok');
      return (await readNpzFile(join(outcome.runDir, 'core_face_landmarks', 'face_landmarks.npz'))).arrays;
    };
    const full = await run(false);
    const reused = await run(true);
    const n = full.face_count!.shape[0]!;
    const F = full.boxes!.shape[1]!;
    expect(Array.from(full.reused!.data as Uint8Array).every((v) => v === 0)).toBe(true);
    const reusedFlags = reused.reused!.data as Uint8Array;
    const reusedCount = reusedFlags.reduce((a, b) => a + b, 0);
    expect(reusedCount).toBeGreaterThan(n / 4);
    const fullCounts = full.face_count!.data as Int32Array;
    const reuseCounts = reused.face_count!.data as Int32Array;
    let sameCount = 0;
    const ious: number[] = [];
    for (let k = 0; k < n; k++) {
      const sim = (reused.reuse_similarity!.data as Float32Array)[k]!;
      if (reusedFlags[k]) expect(sim).toBeGreaterThanOrEqual(0.98);
      if (fullCounts[k] !== reuseCounts[k]) continue;
      sameCount += 1;
      // Greedy matching of each full-computation box to its best reused box.
      const boxes = (a: Record<string, NdArray>, f: number): Float32Array =>
        (a.boxes!.data as Float32Array).subarray((k * F + f) * 4, (k * F + f + 1) * 4);
      for (let f = 0; f < fullCounts[k]!; f++) {
        let best = 0;
        for (let g = 0; g < reuseCounts[k]!; g++)
          best = Math.max(best, iou(boxes(full, f), boxes(reused, g)));
        ious.push(best);
      }
    }
    expect(sameCount / n).toBeGreaterThanOrEqual(0.9);
    expect(ious.length).toBeGreaterThan(0);
    expect(ious.reduce((a, b) => a + b, 0) / ious.length).toBeGreaterThanOrEqual(0.8);

    // emotion_face follows: the frames the face provider reused take their anchor's emotions.
    const e = emotions.reuse!;
    expect(Array.from(e.reused!.data as Uint8Array)).toEqual(Array.from(reusedFlags));
    expect(Array.from(emotions.full!.reused!.data as Uint8Array).every((v) => v === 0)).toBe(true);
    const K = e.frame_emotion_mean!.shape[1]!;
    const means = e.frame_emotion_mean!.data as Float32Array;
    let anchor = -1;
    for (let k = 0; k < n; k++) {
      if (!reusedFlags[k]) anchor = k;
      else
        expect(Array.from(means.subarray(k * K, (k + 1) * K))).toEqual(
          Array.from(means.subarray(anchor * K, (anchor + 1) * K)),
        );
    }
    // Tolerance: the frame means move by ≤ 0.05 on average against classifying every frame.
    const fullMeans = emotions.full!.frame_emotion_mean!.data as Float32Array;
    let sum = 0;
    let count = 0;
    for (let i = 0; i < means.length; i++) {
      if (Number.isNaN(means[i]!) || Number.isNaN(fullMeans[i]!)) continue;
      sum += Math.abs(means[i]! - fullMeans[i]!);
      count += 1;
    }
    expect(count).toBeGreaterThan(0);
    expect(sum / count).toBeLessThanOrEqual(0.05);
  }, 600_000);
});
