import { describe, expect, it } from 'vitest';
import { letterboxRect } from '../image-ops.js';
import { blazefaceAnchors, decodeBlazeface } from './blazeface.js';
import { decodeFaceMesh, faceMeshRoi, FACEMESH_POINTS } from './facemesh.js';

describe('BlazeFace anchors', () => {
  const anchors = blazefaceAnchors(256);

  it('has 16×16×2 stride-16 then 8×8×6 stride-32 centres', () => {
    expect(anchors.length / 2).toBe(896);
    // First cell: two anchors at (8, 8); cell (1, 0) at (24, 8).
    expect(Array.from(anchors.subarray(0, 6))).toEqual([8, 8, 8, 8, 24, 8]);
    // Last stride-16 anchor: cell (15, 15) → (248, 248).
    expect(Array.from(anchors.subarray(2 * 511, 2 * 512))).toEqual([248, 248]);
    // First stride-32 anchor at (16, 16), six of them.
    expect(Array.from(anchors.subarray(2 * 512, 2 * 518))).toEqual(Array<number[]>(6).fill([16, 16]).flat());
    expect(Array.from(anchors.subarray(2 * 895))).toEqual([240, 240]);
  });
});

describe('decodeBlazeface', () => {
  const anchors = blazefaceAnchors(256);
  const params = { scoreThreshold: 0.5, iouThreshold: 0.3, maxFaces: 4, minSizePx: 8 };

  it('turns anchor offsets into frame boxes through the letterbox and suppresses duplicates', () => {
    const logits = new Float32Array(896).fill(-10);
    const regressors = new Float32Array(896 * 16);
    // Anchor 0 (8, 8) and its twin anchor 1: a 32×32 face centred at (8+40, 8+56) = (48, 64).
    for (const a of [0, 1]) regressors.set([40, 56, 32, 32], 16 * a);
    logits[0] = 2; // sigmoid ≈ 0.881
    logits[1] = 1; // same box, lower score: suppressed
    // Anchor 600 (stride 32): low score, dropped.
    logits[600] = -1;
    // A 400×200 frame: input pixel = frame pixel × 0.64, 64 input px of bar at the top.
    const rect = letterboxRect(400, 200, 256, 256);
    const faces = decodeBlazeface(logits, regressors, anchors, rect, params);
    expect(faces.scores.length).toBe(1);
    expect(faces.scores[0]).toBeCloseTo(1 / (1 + Math.exp(-2)));
    // Input box (32, 48)–(64, 80); 1 input px = 1.5625 frame px, region starts at y = −100:
    // (32·1.5625, 48·1.5625 − 100)–(64·1.5625, 80·1.5625 − 100) = (50, −25)–(100, 25).
    expect(Array.from(faces.boxes).map((v) => Math.round(v * 100) / 100)).toEqual([50, -25, 100, 25]);
  });

  it('drops faces below the minimum size and caps the count', () => {
    const logits = new Float32Array(896).fill(-10);
    const regressors = new Float32Array(896 * 16);
    // Five non-overlapping 20 px faces on stride-16 anchors (cells (0,0), (8,2), (0,5), (8,7), (0,10)).
    [0, 80, 160, 240, 320].forEach((a, i) => {
      logits[a] = 3 - i * 0.1;
      regressors.set([0, 0, 20, 20], 16 * a);
    });
    const rect = { x0: 0, y0: 0, x1: 256, y1: 256 };
    expect(decodeBlazeface(logits, regressors, anchors, rect, params).scores.length).toBe(4);
    expect(
      decodeBlazeface(logits, regressors, anchors, rect, { ...params, minSizePx: 25 }).scores.length,
    ).toBe(0);
  });
});

describe('FaceMesh geometry', () => {
  it('squares and enlarges the detector box around its centre, turned by the eye line', () => {
    expect(faceMeshRoi([100, 50, 140, 110])).toEqual({ cx: 120, cy: 80, size: 90, angle: 0 });
    // Left eye 20 px right of and 20 px below the right eye: head rolled by 45°.
    expect(faceMeshRoi([100, 50, 140, 110], [110, 70, 130, 90]).angle).toBeCloseTo(Math.PI / 4);
  });

  it('maps crop coordinates back to the frame, through the rotation', () => {
    const mesh = new Float32Array(FACEMESH_POINTS * 3);
    mesh.set([0, 0, 0, 192, 96, -10]);
    // A 96 px crop centred at (148, 248): 0.5 frame px per input px.
    const upright = decodeFaceMesh(mesh, { cx: 148, cy: 248, size: 96, angle: 0 });
    expect(Array.from(upright.subarray(0, 6))).toEqual([100, 200, 0, 196, 248, -5]);
    // Turned by 90°: the crop's right edge midpoint lies below the centre.
    const turned = decodeFaceMesh(mesh, { cx: 148, cy: 248, size: 96, angle: Math.PI / 2 });
    expect(turned[3]).toBeCloseTo(148);
    expect(turned[4]).toBeCloseTo(296);
  });
});
