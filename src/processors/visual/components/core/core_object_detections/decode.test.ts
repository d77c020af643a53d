import { describe, expect, it } from 'vitest';
import { letterboxRect } from '../image-ops.js';
import { decodeCenterNet, decodeNanoDet, distributionFocalDistance } from './decode.js';

const params = { scoreThreshold: 0.3, iouThreshold: 0.5, maxDetections: 20 };

describe('distributionFocalDistance', () => {
  it('is the expected bin index of the softmax', () => {
    // Uniform over 11 bins → mean index 5.
    expect(distributionFocalDistance(new Float32Array(11), 0, 11)).toBeCloseTo(5);
    // A dominant bin 3 → ≈ 3.
    const peaked = new Float32Array(11).fill(-50);
    peaked[3] = 50;
    expect(distributionFocalDistance(peaked, 0, 11)).toBeCloseTo(3);
    // Two equal bins 2 and 4 → 3; read at an offset.
    const two = new Float32Array(15).fill(-50);
    two[4 + 2] = 0;
    two[4 + 4] = 0;
    expect(distributionFocalDistance(two, 4, 11)).toBeCloseTo(3);
  });
});

describe('decodeNanoDet', () => {
  it('decodes a cell’s best class and GFL box sides through the letterbox', () => {
    // One level, 13×13 (stride 32 at 416): cell (2, 1) has centre (80, 48).
    const cells = 169;
    const scores = new Float32Array(cells * 80);
    const regression = new Float32Array(cells * 44).fill(-50);
    const cell = 1 * 13 + 2;
    scores[cell * 80 + 0] = 0.4;
    scores[cell * 80 + 2] = 0.9; // car wins
    // Sides left, top, right, bottom = 1, 1, 2, 3 strides.
    [1, 1, 2, 3].forEach((bin, side) => (regression[cell * 44 + side * 11 + bin] = 50));
    // A cell below threshold elsewhere contributes nothing.
    scores[100 * 80 + 5] = 0.2;
    const rect = letterboxRect(416, 416, 416, 416);
    const d = decodeNanoDet([{ grid: 13, scores, regression }], rect, params, 416, 416);
    expect(Array.from(d.classIds)).toEqual([2]);
    expect(d.scores[0]).toBeCloseTo(0.9);
    expect(Array.from(d.boxes).map((v) => Math.round(v))).toEqual([80 - 32, 48 - 32, 80 + 64, 48 + 96]);
  });
});

describe('decodeCenterNet', () => {
  it('thresholds, suppresses same-class duplicates, maps to frame pixels and clips', () => {
    // Frame 1024×512 → input 512: scale 0.5, 128 input px of bar on top.
    const rect = letterboxRect(1024, 512, 512, 512);
    const rows = [
      [100, 200, 200, 300, 0.9, 0], // person
      [105, 200, 205, 300, 0.8, 0], // duplicate person (IoU 0.9): suppressed
      [105, 200, 205, 300, 0.7, 56], // a chair at the same place: kept (other class)
      [0, 100, 50, 140, 0.6, 2], // extends into the bar: clipped at y = 0
      [300, 300, 400, 400, 0.1, 0], // below threshold
    ];
    const d = decodeCenterNet(Float32Array.from(rows.flat()), rect, params, 1024, 512);
    expect(Array.from(d.classIds)).toEqual([0, 56, 2]);
    expect(Array.from(d.boxes.subarray(0, 4))).toEqual([200, 144, 400, 344]);
    expect(Array.from(d.boxes.subarray(8, 12))).toEqual([0, 0, 100, 24]);
  });
});
