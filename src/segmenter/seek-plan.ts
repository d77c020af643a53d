/**
 * GOP skipping (R-PERF-1): when the union is sparse compared with the keyframe interval, decoding
 * can start at the keyframe before each run of needed frames and stop after the run's last
 * frame, instead of decoding every frame of the video. Pure planning; the decode is in
 * frame-source.ts.
 */

export interface SeekSegment {
  /** Source index of the keyframe decoding starts from. */
  startFrame: number;
  /** Source index of the last needed frame of the segment. */
  endFrame: number;
  /** Positions (in the union, 0…N−1) of the needed frames the segment delivers. */
  unionFrom: number;
  unionTo: number;
}

export interface SeekPlan {
  segments: SeekSegment[];
  /** Frames the decoder reads with this plan (first keyframe … last needed frame of each segment). */
  framesDecoded: number;
}

/**
 * Groups needed frames into decode segments. A new segment starts at the keyframe before a needed
 * frame when that keyframe lies more than `mergeGapFrames` past the previous segment's last frame
 * (restarting costs a process and a seek, worth it only for a real gap).
 */
export function planSeeks(keyframes: Uint8Array, unionSource: Int32Array, mergeGapFrames: number): SeekPlan {
  // Last keyframe at or before each frame.
  const keyBefore = new Int32Array(keyframes.length);
  let lastKey = 0;
  for (let i = 0; i < keyframes.length; i += 1) {
    if (keyframes[i]) lastKey = i;
    keyBefore[i] = lastKey;
  }
  const segments: SeekSegment[] = [];
  unionSource.forEach((source, k) => {
    const key = keyBefore[source] ?? 0;
    const current = segments.at(-1);
    if (current && key - current.endFrame <= mergeGapFrames) {
      current.endFrame = source;
      current.unionTo = k;
    } else segments.push({ startFrame: key, endFrame: source, unionFrom: k, unionTo: k });
  });
  const framesDecoded = segments.reduce((sum, s) => sum + s.endFrame - s.startFrame + 1, 0);
  return { segments, framesDecoded };
}
