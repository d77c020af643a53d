import { describe, expect, it } from 'vitest';
import {
  affine,
  iou,
  letterboxRect,
  meanStd,
  nonMaxSuppression,
  rotatedToSource,
  sampleRect,
  sampleRotatedSquare,
  toSource,
} from './image-ops.js';

describe('letterbox maths', () => {
  it('centres a wide frame in a square input with bars above and below', () => {
    const r = letterboxRect(400, 200, 256, 256);
    // scale 256/400 = 0.64; the input shows a 400×400 region: 100 source px of bar each side.
    expect(r.scale).toBeCloseTo(0.64);
    expect([r.x0, r.y0, r.x1, r.y1]).toEqual([0, -100, 400, 300]);
    // Input pixel (128, 128) is the frame centre; input row 64 (end of the top bar) is frame row 0.
    expect(toSource(r, 256, 256, 128, 128)).toEqual([200, 100]);
    expect(toSource(r, 256, 256, 0, 64)).toEqual([0, 0]);
  });

  it('keeps a frame that already fits', () => {
    expect(letterboxRect(320, 320, 160, 160)).toEqual({ x0: 0, y0: 0, x1: 320, y1: 320, scale: 0.5 });
  });
});

describe('sampleRect', () => {
  // 2×2 RGB: red, green / blue, white.
  const px = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]);
  const full = { x0: 0, y0: 0, x1: 2, y1: 2 };

  it('copies exactly at scale 1 (NHWC) and normalises', () => {
    const out = sampleRect(px, 2, 2, full, { dstW: 2, dstH: 2, norm: affine(1 / 255, 0), layout: 'nhwc' });
    expect(Array.from(out)).toEqual(Array.from(px).map((v) => v / 255));
  });

  it('writes planes for NCHW and swaps to BGR', () => {
    const out = sampleRect(px, 2, 2, full, {
      dstW: 2,
      dstH: 2,
      norm: affine(1, 0),
      layout: 'nchw',
      order: 'bgr',
    });
    // Plane 0 = blue of the 4 pixels, plane 2 = red.
    expect(Array.from(out.subarray(0, 4))).toEqual([0, 0, 255, 255]);
    expect(Array.from(out.subarray(8, 12))).toEqual([255, 0, 0, 255]);
  });

  it('averages when shrinking to one pixel and pads outside the frame', () => {
    const one = sampleRect(px, 2, 2, full, { dstW: 1, dstH: 1, norm: affine(1, 0), layout: 'nhwc' });
    expect(Array.from(one)).toEqual([127.5, 127.5, 127.5]);
    // Region twice the frame's width to the right: the right output pixel is all padding.
    const padded = sampleRect(
      px,
      2,
      2,
      { x0: 0, y0: 0, x1: 4, y1: 2 },
      {
        dstW: 2,
        dstH: 1,
        norm: affine(1, 0),
        layout: 'nhwc',
        padValue: 114,
      },
    );
    expect(Array.from(padded.subarray(3))).toEqual([114, 114, 114]);
  });

  it('applies mean/std in 0..1 units', () => {
    const n = meanStd([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]);
    const out = sampleRect(px, 2, 2, full, { dstW: 2, dstH: 2, norm: n, layout: 'nhwc' });
    expect(out[0]).toBeCloseTo(1);
    expect(out[1]).toBeCloseTo(-1);
  });
});

describe('rotated square sampling', () => {
  const px = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]);

  it('copies exactly unrotated and reverses the pixels at 180°', () => {
    const norm = affine(1, 0);
    const same = sampleRotatedSquare(px, 2, 2, { cx: 1, cy: 1, size: 2, angle: 0 }, 2, norm);
    expect(Array.from(same)).toEqual(Array.from(px));
    const turned = sampleRotatedSquare(px, 2, 2, { cx: 1, cy: 1, size: 2, angle: Math.PI }, 2, norm);
    expect(Array.from(turned).map(Math.round)).toEqual([255, 255, 255, 0, 0, 255, 0, 255, 0, 255, 0, 0]);
  });

  it('maps input points back through the rotation', () => {
    const [x, y] = rotatedToSource({ cx: 10, cy: 20, size: 8, angle: Math.PI / 2 }, 4, 4, 2);
    // Right edge midpoint of the crop: 4 px along the turned x axis (pointing down).
    expect(x).toBeCloseTo(10);
    expect(y).toBeCloseTo(24);
  });
});

describe('IoU and NMS', () => {
  // Box 0 and 1 overlap by half their width; box 2 is far away.
  const boxes = [0, 0, 10, 10, 5, 0, 15, 10, 100, 100, 110, 110];

  it('computes IoU by hand', () => {
    expect(iou(boxes, 0, 1)).toBeCloseTo(50 / 150);
    expect(iou(boxes, 0, 2)).toBe(0);
    expect(iou(boxes, 0, 0)).toBe(1);
  });

  it('keeps the best of overlapping boxes above the IoU threshold, best first', () => {
    const scores = [0.8, 0.9, 0.7];
    expect(nonMaxSuppression(boxes, scores, { iouThreshold: 0.3, scoreThreshold: 0.5, maxOut: 10 })).toEqual([
      1, 2,
    ]);
    // IoU 1/3 is below a 0.4 threshold: both kept.
    expect(nonMaxSuppression(boxes, scores, { iouThreshold: 0.4, scoreThreshold: 0.5, maxOut: 10 })).toEqual([
      1, 0, 2,
    ]);
    expect(nonMaxSuppression(boxes, scores, { iouThreshold: 0.3, scoreThreshold: 0.75, maxOut: 10 })).toEqual(
      [1],
    );
    expect(nonMaxSuppression(boxes, scores, { iouThreshold: 0.3, scoreThreshold: 0, maxOut: 1 })).toEqual([
      1,
    ]);
  });

  it('only suppresses within a class when classes are given', () => {
    const scores = [0.8, 0.9, 0.7];
    const kept = nonMaxSuppression(boxes, scores, {
      iouThreshold: 0.3,
      scoreThreshold: 0.5,
      maxOut: 10,
      classes: [0, 1, 0],
    });
    expect(kept).toEqual([1, 0, 2]);
  });
});
