// Shared plumbing of the visual core providers: their own frames (R-SEG-3), read in planned
// batches and run through the model system's batch runner (R-BAT-1..3).
import {
  DataProcessorError,
  DependencyError,
  type ComponentContext,
  type FrameAccess,
  type NpzSchema,
  type ResourceProfile,
} from '../../../../contracts/index.js';
import { z } from 'zod';
import { modelsOf, planBatchSize, type ModelAccess } from '../../../../models/index.js';
import { ReusePlanner, frameThumbnail, type ReuseParams } from './reuse.js';

/** The per-frame axis every core provider's NPZ starts with (N = the provider's own frames). */
export const FRAME_AXIS_ARRAYS = {
  frame_indices: {
    dtype: 'int32',
    shape: ['N'],
    description: 'union-domain indices of the frames analysed',
  },
  source_frame_indices: {
    dtype: 'int32',
    shape: ['N'],
    description: 'source-domain index of each frame',
  },
  times_sec: {
    dtype: 'float32',
    shape: ['N'],
    unit: 'sec',
    description: 'presentation time of each frame',
  },
} as const satisfies NpzSchema['arrays'];

/** `device` config key of a model-calling provider (R-MOD-3); a profile's model mapping overrides it. */
export const deviceSchema = z
  .union([z.literal('cpu'), z.literal('auto'), z.templateLiteral(['cuda:', z.number().int().nonnegative()])])
  .default('cpu');

/** The frames a core provider reads; DEPENDENCY_MISSING when the Segmenter planned none. */
export function ownFrames(ctx: ComponentContext<unknown>, name: string): FrameAccess {
  if (!ctx.frames) {
    throw new DependencyError(
      'DEPENDENCY_MISSING',
      `${name} needs its frame_indices in frames_dir (planned by the Segmenter); it never samples frames itself.`,
    );
  }
  return ctx.frames;
}

/** The model system a core provider loads through; it is given by the orchestrator for every component with `models()`. */
export function modelAccess(ctx: ComponentContext<unknown>, name: string): ModelAccess {
  return modelsOf(ctx, name);
}

/** Frame `index` of the batch result `part`. */
export interface FrameSlot<B> {
  part: B;
  index: number;
}

/** What `runOverFrames` returns. */
export interface FramesRun<B> {
  /** One slot per frame, in frame order (a reused frame shares its anchor's slot). */
  slots: FrameSlot<B>[];
  batchSize: number;
  /** Per frame: 1 when the frame reused the last inferred frame's result (near-duplicate). */
  reused: Uint8Array;
  /** Per frame: thumbnail similarity to the last inferred frame (NaN: first frame, or reuse not asked for). */
  reuseSimilarity: Float32Array;
}

/**
 * Runs `runBatch` over every frame of `frames`, `batchSize` frames at a time (planned from the
 * component's resource profile); an OOM shrinks the batch (R-BAT-3) and later batches keep the
 * smaller size. Frames are read in chunks planned by memory; each chunk's inference batch comes
 * from the model system's planner (fed by measured throughput, R-BAT-4), so it can change from
 * chunk to chunk. Returns one slot per frame, in frame order, and the batch size the run ended with.
 * With `reuse`, frames that are near-duplicates of the last inferred frame are not inferred and
 * take its slot (see reuse.ts); only the others are batched.
 */
export async function runOverFrames<B>(
  ctx: ComponentContext<unknown>,
  frames: FrameAccess,
  models: ModelAccess,
  resources: ResourceProfile,
  runBatch: (pixels: Uint8Array, count: number, width: number, height: number) => Promise<B>,
  reuse?: ReuseParams,
): Promise<FramesRun<B>> {
  const total = frames.frameIndices.length;
  const readSize = planBatchSize(resources, { units: total });
  let batchSize = readSize;
  let oomCap = Number.POSITIVE_INFINITY;
  const slots: FrameSlot<B>[] = [];
  const reused = new Uint8Array(total);
  const reuseSimilarity = new Float32Array(total).fill(Number.NaN);
  if (total === 0) return { slots, batchSize, reused, reuseSimilarity };
  const planner = reuse ? new ReusePlanner(reuse) : null;
  let anchor: FrameSlot<B> | null = null;
  for await (const batch of frames.batches(readSize)) {
    const frameBytes = batch.width * batch.height * 3;
    const count = batch.unionIndices.length;
    const first = slots.length;
    // Which frames of this batch are inferred (the rest reuse the anchor before them).
    const inferred: number[] = [];
    for (let i = 0; i < count; i++) {
      if (planner) {
        const pixels = batch.pixels.subarray(i * frameBytes, (i + 1) * frameBytes);
        const decision = planner.decide(
          frameThumbnail(pixels, batch.width, batch.height),
          frames.timestampsSec[first + i] ?? 0,
        );
        reuseSimilarity[first + i] = decision.similarity;
        if (decision.reuse) {
          reused[first + i] = 1;
          continue;
        }
      }
      inferred.push(i);
    }
    let pixels = batch.pixels;
    if (inferred.length < count) {
      pixels = new Uint8Array(inferred.length * frameBytes);
      inferred.forEach((i, j) =>
        pixels.set(batch.pixels.subarray(i * frameBytes, (i + 1) * frameBytes), j * frameBytes),
      );
    }
    const units = inferred.map((_, j) => j);
    if (units.length > 0)
      batchSize = Math.min(oomCap, models.planBatchSize(resources, { units: units.length }));
    const run = await models.runBatches(
      units,
      async (sub) => {
        const start = sub[0] ?? 0;
        const part = await runBatch(
          pixels.subarray(start * frameBytes, (start + sub.length) * frameBytes),
          sub.length,
          batch.width,
          batch.height,
        );
        return sub.map((_, index) => ({ part, index }));
      },
      { batchSize: Math.max(1, Math.min(batchSize, units.length)), signal: ctx.signal },
    );
    if (run.retries > 0) oomCap = batchSize = run.batchSize;
    let j = 0;
    for (let i = 0; i < count; i++) {
      if (reused[first + i] !== 1) anchor = run.results[j++] ?? null;
      if (anchor === null)
        throw new DataProcessorError('INTERNAL', 'a reused frame has no inferred frame before it');
      slots.push(anchor);
    }
    ctx.progress(slots.length, total);
  }
  return { slots, batchSize, reused, reuseSimilarity };
}

/** Copies `width` elements of slot `from` of `src` into slot `to` of `dst`. */
export function copySlot<T extends Float32Array | Int32Array | Uint8Array>(
  dst: T,
  to: number,
  src: T,
  from: number,
  width: number,
): void {
  dst.set(src.subarray(from * width, (from + 1) * width), to * width);
}
