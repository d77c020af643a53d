import { z } from 'zod';
import { nd, type Component, type ComponentResult } from '../../../../../contracts/index.js';
import { DEFAULT_FRAME_BUDGETS } from '../../../../../segmenter/index.js';
import {
  FRAME_AXIS_ARRAYS,
  copySlot,
  deviceSchema,
  modelAccess,
  ownFrames,
  runOverFrames,
} from '../frames.js';
import { REUSE_ARRAYS, reuseConfigShape, reuseMetaSchema, reuseParamsOf, reuseRecord } from '../reuse.js';
import { FACEMESH_POINTS } from './facemesh.js';
import { DEFAULT_FACE_PARAMS, detectFaceLandmarks, type FaceLandmarkArrays } from './faces.js';

const NAME = 'core_face_landmarks';
const P = DEFAULT_FACE_PARAMS;
export const FACE_DETECTOR_MODEL = 'blazeface';
export const FACE_MESH_MODEL = 'facemesh';

/** `core_face_landmarks` config (see `FaceLandmarksParams` in faces.ts). */
const configSchema = z
  .object({
    /** Faces kept per frame: the F of the arrays. */
    max_faces: z.number().int().min(1).max(32).default(P.maxFaces),
    score_threshold: z.number().min(0).max(1).default(P.scoreThreshold),
    iou_threshold: z.number().min(0).max(1).default(P.iouThreshold),
    min_size_px: z.number().min(0).default(P.minSizePx),
    mesh_min_score: z.number().min(0).max(1).default(P.meshMinScore),
    align_to_eyes: z.boolean().default(P.alignToEyes),
    /** Device of both models (R-MOD-3); a profile's model mapping overrides it. */
    device: deviceSchema,
    ...reuseConfigShape,
  })
  .strict();
export type FaceLandmarksConfig = z.infer<typeof configSchema>;

const metaSchema = z
  .object({
    max_faces: z.number().int().positive(),
    thresholds: z.record(z.string(), z.number()),
    frames_with_faces: z.number().int().nonnegative(),
    total_faces: z.number().int().nonnegative(),
    reuse: reuseMetaSchema,
  })
  .loose();

// One unit = one frame: the 256² detector input (0.8 MB float32) + up to F 192² mesh crops
// (0.44 MB each) + the 568×320 RGB frame; TFJS-wasm keeps its own heap besides.
const RESOURCES = { memoryMbPerUnit: 8, devices: ['cpu'] as const, minBatch: 1, maxBatch: 16 };

/**
 * `core_face_landmarks` (SPEC §4): faces per frame with BlazeFace (short range) and 468 FaceMesh
 * landmarks each, through the model system (see DESIGN.md). Arrays are padded to F = `max_faces`
 * with NaN; `face_present` / `face_count` say which slots are real.
 */
export const coreFaceLandmarks: Component<FaceLandmarksConfig> = {
  name: NAME,
  kind: 'core',
  processor: 'visual',
  version: '0.1.0',
  dependsOn: [],
  budget: DEFAULT_FRAME_BUDGETS.core_face_landmarks,
  resources: RESOURCES,
  configSchema,
  models: (config) => [
    { model: FACE_DETECTOR_MODEL, device: config.device },
    { model: FACE_MESH_MODEL, device: config.device },
  ],
  schema: {
    file: 'face_landmarks.npz',
    schemaVersion: '1.0',
    arrays: {
      ...FRAME_AXIS_ARRAYS,
      ...REUSE_ARRAYS,
      face_present: { dtype: 'bool', shape: ['N'], description: 'whether the frame has at least one face' },
      face_count: { dtype: 'int32', shape: ['N'], description: 'faces found on the frame (≤ F)' },
      face_mask: {
        dtype: 'bool',
        shape: ['N', 'F'],
        description: 'slot f of frame n holds a face (f < face_count)',
      },
      boxes: {
        dtype: 'float32',
        shape: ['N', 'F', 4],
        unit: 'px',
        description: 'face box x0, y0, x1, y1 in analysis-frame pixels; NaN padding',
      },
      scores: { dtype: 'float32', shape: ['N', 'F'], description: 'BlazeFace score; NaN padding' },
      mesh_scores: {
        dtype: 'float32',
        shape: ['N', 'F'],
        description: 'FaceMesh face-presence score; NaN padding',
      },
      landmarks: {
        dtype: 'float32',
        shape: ['N', 'F', FACEMESH_POINTS, 3],
        unit: 'px',
        description: 'FaceMesh landmarks x, y (frame pixels), z (same scale, relative depth); NaN padding',
      },
    },
    meta: metaSchema,
  },
  knownSymbols: (ctx) => (ctx.frames ? { N: ctx.frames.frameIndices.length, F: ctx.config.max_faces } : {}),

  async run(ctx): Promise<ComponentResult> {
    const frames = ownFrames(ctx, NAME);
    const models = modelAccess(ctx, NAME);
    const c = ctx.config;
    const params = {
      maxFaces: c.max_faces,
      scoreThreshold: c.score_threshold,
      iouThreshold: c.iou_threshold,
      minSizePx: c.min_size_px,
      meshMinScore: c.mesh_min_score,
      alignToEyes: c.align_to_eyes,
    };
    const detector = await models.load(FACE_DETECTOR_MODEL, { device: c.device });
    const mesh = await models.load(FACE_MESH_MODEL, { device: c.device });
    const reuse = reuseParamsOf(c);
    const run = await runOverFrames(
      ctx,
      frames,
      models,
      RESOURCES,
      (pixels, count, w, h) => detectFaceLandmarks({ detector, mesh }, pixels, w, h, count, params),
      reuse,
    );
    const { slots, batchSize } = run;
    const reused = reuseRecord(run, reuse);
    const n = frames.frameIndices.length;
    const F = c.max_faces;
    const L = FACEMESH_POINTS * 3;
    const out: FaceLandmarkArrays = {
      facePresent: new Uint8Array(n),
      faceCount: new Int32Array(n),
      boxes: new Float32Array(n * F * 4).fill(Number.NaN),
      scores: new Float32Array(n * F).fill(Number.NaN),
      meshScores: new Float32Array(n * F).fill(Number.NaN),
      landmarks: new Float32Array(n * F * L).fill(Number.NaN),
    };
    slots.forEach(({ part, index }, k) => {
      copySlot(out.facePresent, k, part.facePresent, index, 1);
      copySlot(out.faceCount, k, part.faceCount, index, 1);
      copySlot(out.boxes, k, part.boxes, index, F * 4);
      copySlot(out.scores, k, part.scores, index, F);
      copySlot(out.meshScores, k, part.meshScores, index, F);
      copySlot(out.landmarks, k, part.landmarks, index, F * L);
    });
    const mask = new Uint8Array(n * F);
    let total = 0;
    let withFaces = 0;
    for (let k = 0; k < n; k++) {
      const count = out.faceCount[k] ?? 0;
      total += count;
      if (count > 0) withFaces += 1;
      mask.fill(1, k * F, k * F + count);
    }
    const empty = total === 0;
    return {
      status: empty ? 'empty' : 'ok',
      emptyReason: empty ? 'no_faces_detected' : null,
      arrays: {
        frame_indices: nd.int32(Int32Array.from(frames.frameIndices)),
        source_frame_indices: nd.int32(Int32Array.from(frames.sourceFrameIndices)),
        times_sec: nd.float32(Float32Array.from(frames.timestampsSec)),
        ...reused.arrays,
        face_present: nd.bool(out.facePresent, [n]),
        face_count: nd.int32(out.faceCount, [n]),
        face_mask: nd.bool(mask, [n, F]),
        boxes: nd.float32(out.boxes, [n, F, 4]),
        scores: nd.float32(out.scores, [n, F]),
        mesh_scores: nd.float32(out.meshScores, [n, F]),
        landmarks: nd.float32(out.landmarks, [n, F, FACEMESH_POINTS, 3]),
      },
      meta: {
        max_faces: F,
        thresholds: {
          score_threshold: c.score_threshold,
          iou_threshold: c.iou_threshold,
          min_size_px: c.min_size_px,
          mesh_min_score: c.mesh_min_score,
        },
        frames_with_faces: withFaces,
        total_faces: total,
        reuse: reused.meta,
      },
      notes: `${empty ? `no faces on ${n} frames` : `${total} faces on ${withFaces} of ${n} frames`}; ${reused.reusedFrames} reused`,
      deviceUsed: detector.device,
      batchSize,
      modelsUsed: models.used(),
    };
  },
};
