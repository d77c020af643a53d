import { z } from 'zod';
import { nd, type Component, type ComponentResult } from '../../../../../contracts/index.js';
import {
  FRAME_AXIS_ARRAYS,
  copySlot,
  deviceSchema,
  modelAccess,
  ownFrames,
  runOverFrames,
} from '../frames.js';
import { REUSE_ARRAYS, reuseConfigShape, reuseMetaSchema, reuseParamsOf, reuseRecord } from '../reuse.js';
import { COCO_CLASSES } from './coco-classes.js';
import type { DetectorName } from './decode.js';
import { DEFAULT_OBJECT_PARAMS, detectObjects, type ObjectArrays } from './objects.js';

const NAME = 'core_object_detections';
const P = DEFAULT_OBJECT_PARAMS;
/** Registry model of each detector (CenterNet is the default: see DESIGN.md). */
export const OBJECT_MODELS: Record<DetectorName, string> = {
  centernet: 'centernet-coco',
  nanodet: 'nanodet-coco',
};

/** `core_object_detections` config (see `ObjectParams` in decode.ts). */
const configSchema = z
  .object({
    detector: z.enum(['centernet', 'nanodet']).default('centernet'),
    score_threshold: z.number().min(0).max(1).default(P.scoreThreshold),
    iou_threshold: z.number().min(0).max(1).default(P.iouThreshold),
    /** Detections kept per frame: the K of the arrays. */
    max_objects: z.number().int().min(1).max(100).default(P.maxDetections),
    device: deviceSchema,
    ...reuseConfigShape,
  })
  .strict();
export type ObjectDetectionsConfig = z.infer<typeof configSchema>;

const metaSchema = z
  .object({
    detector: z.enum(['centernet', 'nanodet']),
    max_objects: z.number().int().positive(),
    thresholds: z.record(z.string(), z.number()),
    frames_with_objects: z.number().int().nonnegative(),
    total_objects: z.number().int().nonnegative(),
    /** Detections per class name over all frames (only classes that occur). */
    class_counts: z.record(z.string(), z.number().int().positive()),
    reuse: reuseMetaSchema,
  })
  .loose();

// One unit = one frame: the 512² float32 input (3 MB) + the frame; the graphs run one frame per call.
const RESOURCES = { memoryMbPerUnit: 8, devices: ['cpu'] as const, minBatch: 1, maxBatch: 16 };

/**
 * `core_object_detections` (SPEC §4): COCO objects per frame (CenterNet by default), padded to
 * K = `max_objects`: boxes NaN, class ids −1, scores NaN; `class_names[class_id]` names a class.
 */
export const coreObjectDetections: Component<ObjectDetectionsConfig> = {
  name: NAME,
  kind: 'core',
  processor: 'visual',
  version: '0.1.0',
  dependsOn: [],
  // Not in the SPEC's defaults: ~0.3 s/frame on a shared CPU, so fewer frames than faces (objects change slowly).
  budget: { min: 24, targetPerMinute: 120, max: 400 },
  resources: RESOURCES,
  configSchema,
  models: (config) => [{ model: OBJECT_MODELS[config.detector], device: config.device }],
  schema: {
    file: 'object_detections.npz',
    schemaVersion: '1.0',
    arrays: {
      ...FRAME_AXIS_ARRAYS,
      ...REUSE_ARRAYS,
      object_count: { dtype: 'int32', shape: ['N'], description: 'detections kept on the frame (≤ K)' },
      object_present: {
        dtype: 'bool',
        shape: ['N', 'K'],
        description: 'slot k of frame n holds a detection',
      },
      boxes: {
        dtype: 'float32',
        shape: ['N', 'K', 4],
        unit: 'px',
        description: 'box x0, y0, x1, y1 in analysis-frame pixels, by descending score; NaN padding',
      },
      class_ids: { dtype: 'int32', shape: ['N', 'K'], description: 'index into class_names; −1 padding' },
      scores: { dtype: 'float32', shape: ['N', 'K'], description: 'detector score; NaN padding' },
      class_names: {
        dtype: 'unicode',
        shape: ['C'],
        description: 'COCO class name of each class id (C = 80)',
      },
    },
    meta: metaSchema,
  },
  knownSymbols: (ctx) =>
    ctx.frames
      ? { N: ctx.frames.frameIndices.length, K: ctx.config.max_objects, C: COCO_CLASSES.length }
      : {},

  async run(ctx): Promise<ComponentResult> {
    const frames = ownFrames(ctx, NAME);
    const models = modelAccess(ctx, NAME);
    const c = ctx.config;
    const params = {
      scoreThreshold: c.score_threshold,
      iouThreshold: c.iou_threshold,
      maxDetections: c.max_objects,
    };
    const model = await models.load(OBJECT_MODELS[c.detector], { device: c.device });
    const reuse = reuseParamsOf(c);
    const run = await runOverFrames(
      ctx,
      frames,
      models,
      RESOURCES,
      (pixels, count, w, h) => detectObjects(c.detector, model, pixels, w, h, count, params),
      reuse,
    );
    const { slots, batchSize } = run;
    const reused = reuseRecord(run, reuse);
    const n = frames.frameIndices.length;
    const K = c.max_objects;
    const out: ObjectArrays = {
      counts: new Int32Array(n),
      boxes: new Float32Array(n * K * 4).fill(Number.NaN),
      classIds: new Int32Array(n * K).fill(-1),
      scores: new Float32Array(n * K).fill(Number.NaN),
    };
    slots.forEach(({ part, index }, k) => {
      copySlot(out.counts, k, part.counts, index, 1);
      copySlot(out.boxes, k, part.boxes, index, K * 4);
      copySlot(out.classIds, k, part.classIds, index, K);
      copySlot(out.scores, k, part.scores, index, K);
    });
    const present = new Uint8Array(n * K);
    const classCounts: Record<string, number> = {};
    let total = 0;
    let withObjects = 0;
    for (let f = 0; f < n; f++) {
      const count = out.counts[f] ?? 0;
      total += count;
      if (count > 0) withObjects += 1;
      present.fill(1, f * K, f * K + count);
      for (let k = 0; k < count; k++) {
        const name = COCO_CLASSES[out.classIds[f * K + k] ?? -1] ?? 'unknown';
        classCounts[name] = (classCounts[name] ?? 0) + 1;
      }
    }
    const empty = total === 0;
    return {
      status: empty ? 'empty' : 'ok',
      emptyReason: empty ? 'no_objects_detected' : null,
      arrays: {
        frame_indices: nd.int32(Int32Array.from(frames.frameIndices)),
        source_frame_indices: nd.int32(Int32Array.from(frames.sourceFrameIndices)),
        times_sec: nd.float32(Float32Array.from(frames.timestampsSec)),
        ...reused.arrays,
        object_count: nd.int32(out.counts, [n]),
        object_present: nd.bool(present, [n, K]),
        boxes: nd.float32(out.boxes, [n, K, 4]),
        class_ids: nd.int32(out.classIds, [n, K]),
        scores: nd.float32(out.scores, [n, K]),
        class_names: nd.unicode([...COCO_CLASSES]),
      },
      meta: {
        detector: c.detector,
        max_objects: K,
        thresholds: { score_threshold: c.score_threshold, iou_threshold: c.iou_threshold },
        frames_with_objects: withObjects,
        total_objects: total,
        class_counts: classCounts,
        reuse: reused.meta,
      },
      notes: `${empty ? `no objects on ${n} frames` : `${total} objects on ${withObjects} of ${n} frames`}; ${reused.reusedFrames} reused`,
      deviceUsed: model.device,
      batchSize,
      modelsUsed: models.used(),
    };
  },
};
