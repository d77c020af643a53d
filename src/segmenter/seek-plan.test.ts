import { describe, expect, it } from 'vitest';
import { planSeeks } from './seek-plan.js';

/** Keyframe every `gop` frames. */
const gops = (frames: number, gop: number): Uint8Array =>
  Uint8Array.from({ length: frames }, (_, i) => (i % gop === 0 ? 1 : 0));

describe('seek plan', () => {
  it('starts each isolated needed frame at its keyframe and decodes only up to it', () => {
    const plan = planSeeks(gops(1000, 50), Int32Array.from([10, 260, 730]), 20);
    expect(plan.segments).toEqual([
      { startFrame: 0, endFrame: 10, unionFrom: 0, unionTo: 0 },
      { startFrame: 250, endFrame: 260, unionFrom: 1, unionTo: 1 },
      { startFrame: 700, endFrame: 730, unionFrom: 2, unionTo: 2 },
    ]);
    expect(plan.framesDecoded).toBe(11 + 11 + 31);
  });

  it('merges needed frames whose keyframe is within the merge gap into one segment', () => {
    const plan = planSeeks(gops(400, 50), Int32Array.from([5, 40, 60, 380]), 20);
    // 60's keyframe (50) is 10 frames after 40: continue decoding; 380's keyframe (350) is far.
    expect(plan.segments.map((s) => [s.startFrame, s.endFrame, s.unionFrom, s.unionTo])).toEqual([
      [0, 60, 0, 2],
      [350, 380, 3, 3],
    ]);
  });

  it('degenerates to one segment when every GOP holds a needed frame', () => {
    const needed = Int32Array.from({ length: 100 }, (_, i) => i * 10 + 3);
    const plan = planSeeks(gops(1000, 30), needed, 30);
    expect(plan.segments).toHaveLength(1);
    expect(plan.framesDecoded).toBe(994);
  });
});
