import { z } from 'zod';
import { idSchema } from './identity.js';

/** R-NPZ-3: the closed vocabulary of reasons for a valid empty artifact. */
export const EMPTY_REASONS = [
  'no_audio_stream',
  'silent_audio',
  'no_faces_detected',
  'no_text_detected',
  'no_speech',
  'no_text_input',
  'no_objects_detected',
  'too_few_frames',
  'dependency_empty',
] as const;
export const emptyReasonSchema = z.enum(EMPTY_REASONS);
export type EmptyReason = z.infer<typeof emptyReasonSchema>;

export const ARTIFACT_STATUSES = ['ok', 'empty', 'error'] as const;
export type ArtifactStatus = (typeof ARTIFACT_STATUSES)[number];

const isoUtc = z.iso.datetime({ offset: false });

/** R-MOD-2: one model a component called. */
export const modelUsedSchema = z
  .object({
    model_name: z.string().min(1),
    model_version: z.string().min(1),
    weights_digest: z.string().min(1),
    runtime: z.enum(['inprocess', 'triton']),
    engine: z.string().min(1),
    precision: z.enum(['fp32', 'fp16', 'int8']),
    device: z.string().min(1),
  })
  .loose();
export type ModelUsed = z.infer<typeof modelUsedSchema>;

/** R-NPZ-2 keys every `meta` must carry. */
export const REQUIRED_META_KEYS = [
  'producer',
  'producer_version',
  'schema_version',
  'created_at',
  'platform_id',
  'video_id',
  'run_id',
  'config_hash',
  'sampling_policy_version',
  'dataprocessor_version',
  'status',
  'empty_reason',
] as const;

/**
 * R-NPZ-2 meta of every NPZ artifact. Components add their own keys (validated by their schema);
 * the optional keys below are set whenever they apply.
 */
export const npzMetaSchema = z
  .object({
    producer: z.string().min(1),
    producer_version: z.string().min(1),
    schema_version: z.string().min(1),
    created_at: isoUtc,
    platform_id: idSchema,
    video_id: idSchema,
    run_id: idSchema,
    config_hash: z.string().regex(/^[0-9a-f]{64}$/),
    sampling_policy_version: z.string().min(1),
    dataprocessor_version: z.string().min(1),
    status: z.enum(ARTIFACT_STATUSES),
    empty_reason: emptyReasonSchema.nullable(),
    device_used: z.string().optional(),
    engine: z.string().optional(),
    precision: z.string().optional(),
    batch_size: z.number().int().positive().optional(),
    models_used: z.array(modelUsedSchema).optional(),
    model_signature: z.string().nullable().optional(),
    seed: z.number().int().nullable().optional(),
    runtime_env: z.record(z.string(), z.unknown()).optional(),
    git_commit: z.string().nullable().optional(),
  })
  .loose()
  .superRefine((meta, ctx) => {
    if (meta.status === 'empty' && meta.empty_reason === null) {
      ctx.addIssue({ code: 'custom', path: ['empty_reason'], message: 'required when status is "empty"' });
    }
    if (meta.status !== 'empty' && meta.empty_reason !== null) {
      ctx.addIssue({
        code: 'custom',
        path: ['empty_reason'],
        message: 'must be null unless status is "empty"',
      });
    }
  });
export type NpzMeta = z.infer<typeof npzMetaSchema>;
