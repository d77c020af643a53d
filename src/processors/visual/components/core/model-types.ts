import type { Tensor } from '../../../../models/index.js';

export type { Tensor };

/**
 * The part of a loaded model the pre/post-processing needs: named inputs in, named outputs out.
 * `LoadedModel` of the model system (what `ctx.models.load` returns) satisfies it, and so does the
 * test/bench loader in `_local-runtime.ts`.
 */
export interface InferModel {
  infer(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>>;
}
