import { z } from 'zod';
import {
  ContractViolationError,
  DataProcessorError,
  nd,
  type Component,
  type ComponentResult,
  type DependencyView,
  type NdArray,
} from '../../../../../contracts/index.js';
import { DEFAULT_FRAME_BUDGETS } from '../../../../../segmenter/index.js';
import { FRAME_AXIS_ARRAYS, deviceSchema, modelAccess, ownFrames } from '../../core/frames.js';
import {
  DEFAULT_CROP_SCALE,
  EMOTION_CLASSES,
  classifyEmotions,
  emotionCrop,
  type FaceCrop,
} from './emotion.js';

const NAME = 'emotion_face';
const FACES = 'core_face_landmarks';
const CUTS = 'cut_detection';
/** Registry model: Human's packaged emotion classifier (oarriaga mini-Xception, FER-2013). */
export const EMOTION_MODEL = 'emotion';
const K = EMOTION_CLASSES.length;
const LANDMARKS = 468 * 3;

const configSchema = z
  .object({
    /** Face crop side = the box's longer side × this (Human's detector box enlargement). */
    crop_scale: z.number().min(1).max(3).default(DEFAULT_CROP_SCALE),
    /** Frames read per batch from frames_dir. */
    batch_size: z.number().int().min(1).max(256).default(16),
    device: deviceSchema,
    /**
     * On a frame where core_face_landmarks reused the result of its last inferred frame
     * (near-duplicate, same boxes), reuse that frame's emotions too instead of classifying the
     * crops again; recorded per frame in `reused`. false classifies every frame.
     */
    reuse_near_duplicates: z.boolean().default(true),
  })
  .strict();
export type EmotionFaceConfig = z.infer<typeof configSchema>;

const metaSchema = z
  .object({
    classes: z.array(z.string()),
    total_faces: z.number().int().nonnegative(),
    /** Frames whose emotions were copied from the face provider's anchor frame (see `reused`). */
    reused_frames: z.number().int().nonnegative(),
    num_shots: z.number().int().nonnegative(),
    field_empty_reasons: z.record(z.string(), z.literal('dependency_empty').nullable()),
    inputs_available: z.array(z.string()),
  })
  .loose();

// One unit = one face: its 64×64 grey input (16 KB) and the model's activations (~2 MB on TFJS-wasm).
const RESOURCES = { memoryMbPerUnit: 2, devices: ['cpu'] as const, minBatch: 1, maxBatch: 64 };
const SHOT_FIELDS = ['shot_start_times_sec', 'shot_face_count', 'shot_emotion_mean'] as const;

function arrayOf<D extends NdArray['dtype']>(
  view: DependencyView,
  name: string,
  dtype: D,
): Extract<NdArray, { dtype: D }> {
  const a = view.arrays[name];
  if (a?.dtype !== dtype) throw new ContractViolationError(`${NAME}: ${view.name} has no ${dtype} ${name}`);
  return a as Extract<NdArray, { dtype: D }>;
}

/**
 * `emotion_face` (SPEC §4): emotion probabilities (7 FER classes) of every face that
 * `core_face_landmarks` found, on the same frames (its budget is the face provider's, so the
 * Segmenter plans the same frames; CONTRACT_VIOLATION if they differ). Per face, per frame (mean
 * over the frame's faces) and per shot of `cut_detection` when it is in the run. Empty with
 * `no_faces_detected` when there are no faces; no other face source is ever used.
 */
export const emotionFace: Component<EmotionFaceConfig> = {
  name: NAME,
  kind: 'module',
  processor: 'visual',
  version: '0.1.0',
  dependsOn: [FACES],
  optionalDependsOn: [CUTS],
  budget: DEFAULT_FRAME_BUDGETS.core_face_landmarks,
  resources: RESOURCES,
  configSchema,
  models: (config) => [{ model: EMOTION_MODEL, device: config.device }],
  schema: {
    file: 'emotion_face.npz',
    schemaVersion: '1.0',
    arrays: {
      ...FRAME_AXIS_ARRAYS,
      reused: {
        dtype: 'bool',
        shape: ['N'],
        description:
          'emotions copied from the last frame core_face_landmarks inferred (it reused that frame’s faces here)',
      },
      class_names: {
        dtype: 'unicode',
        shape: ['K'],
        description: 'the K = 7 emotion classes, in column order',
      },
      face_mask: {
        dtype: 'bool',
        shape: ['N', 'F'],
        description: 'slot f of frame n holds a face (core_face_landmarks)',
      },
      emotion_probs: {
        dtype: 'float32',
        shape: ['N', 'F', 'K'],
        description: 'class probabilities of each face (sum 1); NaN padding',
      },
      emotion_top: {
        dtype: 'int32',
        shape: ['N', 'F'],
        description: 'most probable class of each face; −1 padding',
      },
      frame_face_count: { dtype: 'int32', shape: ['N'], description: 'faces classified on the frame' },
      frame_emotion_mean: {
        dtype: 'float32',
        shape: ['N', 'K'],
        description: 'mean probabilities over the frame’s faces; NaN without faces',
      },
      shot_start_times_sec: {
        dtype: 'float32',
        shape: ['S'],
        unit: 'sec',
        description: 'start of each cut_detection shot',
      },
      shot_face_count: { dtype: 'int32', shape: ['S'], description: 'faces classified in the shot' },
      shot_emotion_mean: {
        dtype: 'float32',
        shape: ['S', 'K'],
        description: 'mean probabilities over the shot’s faces; NaN without faces',
      },
    },
    meta: metaSchema,
  },
  knownSymbols: (ctx) => (ctx.frames ? { N: ctx.frames.frameIndices.length, K } : { K }),

  async run(ctx): Promise<ComponentResult> {
    const frames = ownFrames(ctx, NAME);
    const c = ctx.config;
    const n = frames.frameIndices.length;
    const union = Int32Array.from(frames.frameIndices);
    const faces = await ctx.inputs.read(FACES);
    const cuts = ctx.inputs.available().includes(CUTS) ? await ctx.inputs.read(CUTS) : null;

    // The face provider's frames must be exactly ours (same budget, same union frames).
    const rows = faces.rowsFor(union);
    const providerSource = arrayOf(faces, 'source_frame_indices', 'int32').data;
    rows.forEach((r, k) => {
      if (r < 0 || providerSource[r] !== frames.sourceFrameIndices[k]) {
        throw new ContractViolationError(
          `${NAME}: frame ${union[k]} (source ${frames.sourceFrameIndices[k]}) is not a ${FACES} frame; the two must analyse the same frames`,
        );
      }
    });
    const mask = arrayOf(faces, 'face_mask', 'bool');
    const F = mask.shape[1] ?? 0;
    const boxes = arrayOf(faces, 'boxes', 'float32').data;
    const landmarks = arrayOf(faces, 'landmarks', 'float32').data;
    // Frames where the face provider reused its anchor frame's faces take the anchor's emotions
    // (artifacts written before reuse existed have no `reused` array: every frame is classified).
    const facesReused =
      c.reuse_near_duplicates && faces.arrays.reused ? (faces.arrays.reused.data as Uint8Array) : null;
    const ownOfRow = new Map<number, number>();
    rows.forEach((r, k) => ownOfRow.set(r, k));
    const anchorOf = new Int32Array(n).fill(-1);
    let lastInferred = -1;
    rows.forEach((r, k) => {
      if (facesReused?.[r] === 1 && lastInferred >= 0 && ownOfRow.get(lastInferred) !== undefined)
        anchorOf[k] = ownOfRow.get(lastInferred) ?? -1;
      else lastInferred = r;
    });

    const models = modelAccess(ctx, NAME);
    const model = await models.load(EMOTION_MODEL, { device: c.device });
    const probs = new Float32Array(n * F * K).fill(Number.NaN);
    const top = new Int32Array(n * F).fill(-1);
    const ownMask = new Uint8Array(n * F);
    let total = 0;
    let batchSize = models.planBatchSize(RESOURCES, { units: n * Math.max(1, F) });
    let oomCap = Number.POSITIVE_INFINITY;
    let k = 0;
    ctx.progress(0, n);
    for await (const batch of frames.batches(c.batch_size)) {
      if (ctx.signal.aborted) throw new DataProcessorError('INTERNAL', `${NAME} aborted`);
      const frameBytes = batch.width * batch.height * 3;
      const units: { slot: number; crop: FaceCrop }[] = [];
      for (let i = 0; i < batch.unionIndices.length; i++, k++) {
        const r = rows[k] ?? -1;
        if ((anchorOf[k] ?? -1) >= 0) continue;
        for (let f = 0; f < F; f++) {
          if (!mask.data[r * F + f]) continue;
          const slot = r * F + f;
          units.push({
            slot: k * F + f,
            crop: {
              pixels: batch.pixels.subarray(i * frameBytes, (i + 1) * frameBytes),
              width: batch.width,
              height: batch.height,
              roi: emotionCrop(
                boxes.subarray(slot * 4, slot * 4 + 4),
                landmarks.subarray(slot * LANDMARKS, (slot + 1) * LANDMARKS),
                c.crop_scale,
              ),
            },
          });
        }
      }
      if (units.length > 0) {
        // R-BAT-4: each frame batch's inference batch from the measured planner (an OOM caps it).
        batchSize = Math.min(oomCap, models.planBatchSize(RESOURCES, { units: units.length }));
        const run = await models.runBatches(
          units,
          async (sub) => {
            const p = await classifyEmotions(
              model,
              sub.map((u) => u.crop),
            );
            return sub.map((_, j) => p.subarray(j * K, (j + 1) * K));
          },
          { batchSize: Math.min(batchSize, units.length), signal: ctx.signal },
        );
        if (run.retries > 0) oomCap = batchSize = run.batchSize;
        run.results.forEach((p, j) => {
          const slot = units[j]?.slot ?? 0;
          probs.set(p, slot * K);
          top[slot] = p.indexOf(Math.max(...p));
          ownMask[slot] = 1;
        });
        total += units.length;
      }
      ctx.progress(k, n);
    }

    // Reused frames: the anchor frame's emotions (the anchor comes first, so it is classified).
    const reused = new Uint8Array(n);
    for (let k2 = 0; k2 < n; k2++) {
      const a = anchorOf[k2] ?? -1;
      if (a < 0) continue;
      reused[k2] = 1;
      probs.set(probs.subarray(a * F * K, (a + 1) * F * K), k2 * F * K);
      top.set(top.subarray(a * F, (a + 1) * F), k2 * F);
      ownMask.set(ownMask.subarray(a * F, (a + 1) * F), k2 * F);
      for (let f = 0; f < F; f++) total += ownMask[k2 * F + f] ?? 0;
    }
    const reusedFrames = reused.reduce((x, y) => x + y, 0);

    // Aggregates: per frame and per shot, means over faces.
    const frameCount = new Int32Array(n);
    const frameMean = new Float32Array(n * K).fill(Number.NaN);
    const starts =
      cuts && cuts.status === 'ok' ? arrayOf(cuts, 'shot_start_times_sec', 'float32').data : null;
    const S = starts?.length ?? 0;
    const shotSum = new Float64Array(S * K);
    const shotCount = new Int32Array(S);
    for (let i = 0; i < n; i++) {
      const sum = new Float64Array(K);
      for (let f = 0; f < F; f++) {
        if (!ownMask[i * F + f]) continue;
        frameCount[i] = (frameCount[i] ?? 0) + 1;
        for (let j = 0; j < K; j++) sum[j] = (sum[j] ?? 0) + (probs[(i * F + f) * K + j] ?? 0);
      }
      const count = frameCount[i] ?? 0;
      if (count === 0) continue;
      for (let j = 0; j < K; j++) frameMean[i * K + j] = (sum[j] ?? 0) / count;
      if (!starts) continue;
      const t = (frames.timestampsSec[i] ?? 0) + 1e-4;
      let s = 0;
      while (s + 1 < S && (starts[s + 1] ?? Infinity) <= t) s++;
      shotCount[s] = (shotCount[s] ?? 0) + count;
      for (let j = 0; j < K; j++) shotSum[s * K + j] = (shotSum[s * K + j] ?? 0) + (sum[j] ?? 0);
    }
    const shotMean = Float32Array.from(shotSum, (v, i) => {
      const count = shotCount[Math.floor(i / K)] ?? 0;
      return count > 0 ? v / count : Number.NaN;
    });
    const shotsEmpty = starts === null;
    const empty = total === 0;
    return {
      status: empty ? 'empty' : 'ok',
      emptyReason: empty ? 'no_faces_detected' : null,
      arrays: {
        frame_indices: nd.int32(union),
        source_frame_indices: nd.int32(Int32Array.from(frames.sourceFrameIndices)),
        times_sec: nd.float32(Float32Array.from(frames.timestampsSec)),
        reused: nd.bool(reused, [n]),
        class_names: nd.unicode([...EMOTION_CLASSES]),
        face_mask: nd.bool(ownMask, [n, F]),
        emotion_probs: nd.float32(probs, [n, F, K]),
        emotion_top: nd.int32(top, [n, F]),
        frame_face_count: nd.int32(frameCount),
        frame_emotion_mean: nd.float32(frameMean, [n, K]),
        shot_start_times_sec: nd.float32(Float32Array.from(starts ?? [])),
        shot_face_count: nd.int32(shotCount),
        shot_emotion_mean: nd.float32(shotMean, [S, K]),
      },
      meta: {
        classes: [...EMOTION_CLASSES],
        total_faces: total,
        reused_frames: reusedFrames,
        num_shots: S,
        field_empty_reasons: Object.fromEntries(
          SHOT_FIELDS.map((f) => [f, shotsEmpty ? 'dependency_empty' : null]),
        ),
        inputs_available: ctx.inputs.available(),
      },
      notes: empty
        ? `no faces on ${n} frames`
        : `${total} faces classified on ${n} frames (${reusedFrames} reused), ${S} shots`,
      deviceUsed: model.device,
      batchSize,
      modelsUsed: models.used(),
    };
  },
};
