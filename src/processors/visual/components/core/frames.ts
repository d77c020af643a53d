// Shared plumbing of the visual core providers: their own frames (R-SEG-3), read in planned
// batches and run through the model system's batch runner (R-BAT-1..3).
import {
  DependencyError,
  type ComponentContext,
  type FrameAccess,
  type NpzSchema,
  type ResourceProfile,
} from '../../../../contracts/index.js';
import { z } from 'zod';
import { modelsOf, type ModelAccess } from '../../../../models/index.js';

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

/**
 * Runs `runBatch` over every frame of `frames`, `batchSize` frames at a time (planned from the
 * component's resource profile); an OOM shrinks the batch (R-BAT-3) and later batches keep the
 * smaller size. Returns one slot per frame, in frame order, and the batch size the run ended with.
 */
export async function runOverFrames<B>(
  ctx: ComponentContext<unknown>,
  frames: FrameAccess,
  models: ModelAccess,
  resources: ResourceProfile,
  runBatch: (pixels: Uint8Array, count: number, width: number, height: number) => Promise<B>,
): Promise<{ slots: FrameSlot<B>[]; batchSize: number }> {
  const total = frames.frameIndices.length;
  let batchSize = models.planBatchSize(resources, { units: total });
  const slots: FrameSlot<B>[] = [];
  if (total === 0) return { slots, batchSize };
  for await (const batch of frames.batches(batchSize)) {
    const frameBytes = batch.width * batch.height * 3;
    const units = Array.from({ length: batch.unionIndices.length }, (_, i) => i);
    const run = await models.runBatches(
      units,
      async (sub) => {
        const start = sub[0] ?? 0;
        const part = await runBatch(
          batch.pixels.subarray(start * frameBytes, (start + sub.length) * frameBytes),
          sub.length,
          batch.width,
          batch.height,
        );
        return sub.map((_, index) => ({ part, index }));
      },
      { batchSize: Math.min(batchSize, units.length), signal: ctx.signal },
    );
    if (run.retries > 0) batchSize = run.batchSize;
    slots.push(...run.results);
    ctx.progress(slots.length, total);
  }
  return { slots, batchSize };
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
