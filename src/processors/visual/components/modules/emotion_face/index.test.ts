// emotion_face's contract with its face provider, before any model is loaded: the same frames or
// CONTRACT_VIOLATION, and DEPENDENCY_MISSING without the provider (never another face source).
import { describe, expect, it } from 'vitest';
import {
  DependencyError,
  memoryScratchSpace,
  nd,
  type ComponentContext,
  type DependencyView,
  type FrameAccess,
} from '../../../../../contracts/index.js';
import { emotionFace, type EmotionFaceConfig } from './index.js';

const UNION = Int32Array.of(0, 1, 2);
const SOURCE = Int32Array.of(0, 5, 10);

const frames: FrameAccess = {
  frameIndices: UNION,
  sourceFrameIndices: SOURCE,
  timestampsSec: Float64Array.of(0, 0.5, 1),
  width: 8,
  height: 8,
  sourceFps: 10,
  batches() {
    throw new Error('not reached: the alignment check comes first');
  },
};

function faces(indices: number[], source: number[]): DependencyView {
  return {
    name: 'core_face_landmarks',
    status: 'ok',
    emptyReason: null,
    meta: {},
    arrays: { frame_indices: nd.int32(indices), source_frame_indices: nd.int32(source) },
    frameIndices: Int32Array.from(indices),
    rowsFor: (union) => Int32Array.from(union, (u) => indices.indexOf(u)),
  };
}

function ctxOf(view: DependencyView | null): ComponentContext<EmotionFaceConfig> {
  return {
    identity: {} as never,
    runDir: '/nonexistent',
    config: emotionFace.configSchema.parse({}),
    frames,
    audio: { hasAudio: false, wavPath: null, sampleRate: 48000, channels: 0, durationSec: 0 },
    progress: () => undefined,
    signal: new AbortController().signal,
    inputs: {
      available: () => (view ? [view.name] : []),
      read: (name) =>
        view && name === view.name
          ? Promise.resolve(view)
          : Promise.reject(new DependencyError('DEPENDENCY_MISSING', `no ${name}`)),
    },
    scratch: memoryScratchSpace(),
    document: null,
  };
}

describe('emotion_face component', () => {
  it('fails with CONTRACT_VIOLATION when the face provider did not analyse one of its frames', async () => {
    await expect(emotionFace.run(ctxOf(faces([0, 2], [0, 10])))).rejects.toMatchObject({
      code: 'CONTRACT_VIOLATION',
    });
  });

  it('fails with CONTRACT_VIOLATION when the provider holds another source frame under the same union index', async () => {
    await expect(emotionFace.run(ctxOf(faces([0, 1, 2], [0, 6, 10])))).rejects.toMatchObject({
      code: 'CONTRACT_VIOLATION',
    });
  });

  it('fails with DEPENDENCY_MISSING without core_face_landmarks', async () => {
    await expect(emotionFace.run(ctxOf(null))).rejects.toMatchObject({ code: 'DEPENDENCY_MISSING' });
  });
});
