// shot_quality as a component over in-memory frames and dependency views (a DependencyInputs
// double: a provider from another sampling cannot be produced by a real run). Checks the join on
// union frames, the per-shot means, dependency_empty fields and the two failure codes.
import { describe, expect, it } from 'vitest';
import {
  DependencyError,
  memoryScratchSpace,
  nd,
  noDependencyInputs,
  type ComponentContext,
  type DependencyInputs,
  type DependencyView,
  type FrameAccess,
  type NdArray,
} from '../../../../../contracts/index.js';
import { shotQuality, type ShotQualityConfig } from './index.js';

const W = 30;
const H = 20;
// Own frames: union 0, 2, 4, 6 = source 0, 10, 20, 30 at 10 fps; solid grey levels.
const UNION = Int32Array.of(0, 2, 4, 6);
const SOURCE = Int32Array.of(0, 10, 20, 30);
const TIMES = Float64Array.of(0, 1, 2, 3);
const LEVELS = [40, 80, 120, 200];

function framesOf(): FrameAccess {
  const pixels = new Uint8Array(UNION.length * W * H * 3);
  LEVELS.forEach((v, k) => pixels.fill(v, k * W * H * 3, (k + 1) * W * H * 3));
  return {
    frameIndices: UNION,
    sourceFrameIndices: SOURCE,
    timestampsSec: TIMES,
    width: W,
    height: H,
    sourceFps: 10,
    async *batches() {
      yield await Promise.resolve({
        unionIndices: UNION,
        sourceIndices: SOURCE,
        timestampsSec: TIMES,
        pixels,
        width: W,
        height: H,
      });
    },
  };
}

/** A dependency view over arrays, its per-frame axis at union `indices`. */
function view(
  name: string,
  arrays: Record<string, NdArray>,
  indices: number[] | null,
  empty = false,
): DependencyView {
  const frameIndices = indices ? Int32Array.from(indices) : null;
  return {
    name,
    status: empty ? 'empty' : 'ok',
    emptyReason: empty ? 'no_faces_detected' : null,
    meta: {},
    arrays,
    frameIndices,
    rowsFor: (union) => Int32Array.from(union, (u) => (frameIndices ? frameIndices.indexOf(u) : -1)),
  };
}

const axis = (union: number[], source: number[]) => ({
  frame_indices: nd.int32(union),
  source_frame_indices: nd.int32(source),
  times_sec: nd.float32(source.map((s) => s / 10)),
});

// Two shots: 0–1.5 s and 1.5 s on.
const CUTS = view(
  'cut_detection',
  {
    shot_start_times_sec: nd.float32([0, 1.5]),
    shot_end_times_sec: nd.float32([1.4, 3]),
  },
  [],
);

/** Faces on union frames 2 (one 6×4 box at the centre) and 5 (none); 2 slots per frame. */
function faces(source2 = 10, empty = false): DependencyView {
  return view(
    'core_face_landmarks',
    {
      ...axis([2, 5], [source2, 25]),
      face_count: nd.int32([1, 0]),
      boxes: nd.float32(
        [12, 8, 18, 12, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN],
        [2, 2, 4],
      ),
    },
    [2, 5],
    empty,
  );
}

function inputsOf(views: DependencyView[]): DependencyInputs {
  return {
    available: () => views.map((v) => v.name).sort(),
    read: (name) => {
      const v = views.find((x) => x.name === name);
      return v
        ? Promise.resolve(v)
        : Promise.reject(new DependencyError('DEPENDENCY_MISSING', `no ${name} in this run`));
    },
  };
}

function ctxOf(inputs: DependencyInputs): ComponentContext<ShotQualityConfig> {
  return {
    identity: {} as never,
    runDir: '/nonexistent',
    config: shotQuality.configSchema.parse({}),
    frames: framesOf(),
    audio: { hasAudio: false, wavPath: null, sampleRate: 48000, channels: 0, durationSec: 0 },
    progress: () => undefined,
    signal: new AbortController().signal,
    inputs,
    scratch: memoryScratchSpace(),
    document: null,
  };
}

const values = (a: NdArray | undefined) => Array.from(a?.data as ArrayLike<number>);

describe('shot_quality component', () => {
  it('joins face framing on shared union frames, means per shot, depth absent → dependency_empty', async () => {
    const result = await shotQuality.run(ctxOf(inputsOf([CUTS, faces()])));
    expect(result.status).toBe('ok');
    const a = result.arrays;
    expect(values(a.exposure)).toEqual(LEVELS.map((v) => Math.fround(v / 255)));
    expect(values(a.shot_index)).toEqual([0, 0, 1, 1]);
    expect(values(a.shot_frame_count)).toEqual([2, 2]);
    // Means of the stored float32 per-frame values, up to float32 rounding.
    const shotExposure = values(a.shot_exposure);
    expect(shotExposure[0]).toBeCloseTo(60 / 255, 6);
    expect(shotExposure[1]).toBeCloseTo(160 / 255, 6);
    // Union frame 2 is own frame 1 and has the face; frame 5 is not one of ours.
    expect(values(a.face_analysed)).toEqual([0, 1, 0, 0]);
    expect(values(a.face_present)).toEqual([0, 1, 0, 0]);
    expect(values(a.face_area_fraction)[1]).toBeCloseTo(24 / 600, 6);
    expect(values(a.face_centre_x)[1]).toBeCloseTo(0.5, 6);
    // Per shot over all the provider's frames: shot 0 has frame 2 (face), shot 1 has frame 5 (none).
    expect(values(a.shot_face_frame_fraction)).toEqual([1, 0]);
    expect(values(a.depth_mean).every(Number.isNaN)).toBe(true);
    const reasons = result.meta?.field_empty_reasons as Record<string, string | null>;
    expect(reasons.depth_mean).toBe('dependency_empty');
    expect(reasons.face_area_fraction).toBeNull();
    expect(reasons.shot_exposure).toBeNull();
  });

  it('an empty face provider leaves the face fields dependency_empty, the rest computed', async () => {
    const result = await shotQuality.run(ctxOf(inputsOf([CUTS, faces(10, true)])));
    expect(result.status).toBe('ok');
    const reasons = result.meta?.field_empty_reasons as Record<string, string | null>;
    expect(reasons.face_area_fraction).toBe('dependency_empty');
    expect(values(result.arrays.shot_face_frame_fraction).every(Number.isNaN)).toBe(true);
    expect(values(result.arrays.sharpness)).toEqual([0, 0, 0, 0]);
  });

  it('fails with CONTRACT_VIOLATION when a provider analysed another source frame under the same union index', async () => {
    await expect(shotQuality.run(ctxOf(inputsOf([CUTS, faces(11)])))).rejects.toMatchObject({
      code: 'CONTRACT_VIOLATION',
      message: expect.stringMatching(/not aligned.*union frame 2 is source frame 10 here but 11/) as unknown,
    });
  });

  it('fails with CONTRACT_VIOLATION when a provider has no per-frame axis or a non-ascending one', async () => {
    const noAxis = view('core_face_landmarks', { face_count: nd.int32([]) }, null);
    await expect(shotQuality.run(ctxOf(inputsOf([CUTS, noAxis])))).rejects.toMatchObject({
      code: 'CONTRACT_VIOLATION',
    });
    const unordered = faces();
    unordered.arrays.frame_indices = nd.int32([5, 2]);
    const reversed = { ...unordered, frameIndices: Int32Array.of(5, 2) };
    await expect(shotQuality.run(ctxOf(inputsOf([CUTS, reversed])))).rejects.toMatchObject({
      code: 'CONTRACT_VIOLATION',
    });
  });

  it('fails with DEPENDENCY_MISSING when a hard dependency did not run (never computes it itself)', async () => {
    await expect(shotQuality.run(ctxOf(inputsOf([CUTS])))).rejects.toMatchObject({
      code: 'DEPENDENCY_MISSING',
    });
    await expect(shotQuality.run(ctxOf(noDependencyInputs('shot_quality')))).rejects.toMatchObject({
      code: 'DEPENDENCY_MISSING',
    });
  });
});
