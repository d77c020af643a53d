import { z } from 'zod';
import {
  COMPONENT_KINDS,
  ERROR_CODE_NAMES,
  idSchema,
  modelUsedSchema,
  videoDocumentSchema,
} from '../contracts/index.js';
import { orchestratorConfigSchema } from './config.js';

/*
 * A compiled run (compile, then execute): everything `compileRun` decided — identity, effective
 * config, the stages with their idempotency keys and planned model signatures — as plain JSON, so
 * that the API can validate a request at submit time and a queue job can carry it to any worker.
 * Execution (`executeRun`) takes a plan only and never re-decides any of it.
 */

export const PLAN_VERSION = 1;

const modelMappingSchema = z
  .object({
    model: z.string().min(1),
    version: z.string().optional(),
    device: z.string().optional(),
    precision: z.enum(['fp32', 'fp16', 'int8']).optional(),
    runtime: z.enum(['inprocess', 'triton']).optional(),
  })
  .strict();

/** One stage of a run: the Segmenter or a component, with everything needed to run or reuse it. */
export const planStageSchema = z
  .object({
    name: z.string().min(1),
    kind: z.enum(COMPONENT_KINDS),
    processor: z.enum(['segmenter', 'audio', 'text', 'visual']),
    producer_version: z.string().min(1),
    schema_version: z.string().min(1),
    required: z.boolean(),
    /** Stages of this plan it needs finished (hard dependencies). */
    depends_on: z.array(z.string()),
    /** Stages of this plan it reads when they finished (R-DEP-2); absent ones are not in the plan. */
    optional_inputs: z.array(z.string()),
    /** R-ORC-3 idempotency key. */
    key: z.string().regex(/^[0-9a-f]{64}$/),
    /** The stage's own effective config (validated by its schema). */
    config: z.unknown(),
    /** R-MOD-2/4: the models it will load (after the profile's mapping) and their planned signature. */
    models: z
      .object({
        mapping: z.array(modelMappingSchema),
        models_used: z.array(modelUsedSchema),
        signature: z.string(),
      })
      .strict()
      .nullable(),
    /** A model or device that cannot be had (MODEL_NOT_FOUND, DEVICE_UNAVAILABLE): the stage fails at once. */
    model_problem: z
      .object({ error_code: z.enum(ERROR_CODE_NAMES), message: z.string() })
      .strict()
      .nullable(),
    /** Memory the scheduler reserves while it runs (MiB). */
    memory_mb: z.number().nonnegative(),
  })
  .strict();
export type PlanStage = z.infer<typeof planStageSchema>;

export const runPlanSchema = z
  .object({
    plan_version: z.literal(PLAN_VERSION),
    identity: z
      .object({
        platform_id: idSchema,
        video_id: idSchema,
        run_id: idSchema,
        config_hash: z.string().regex(/^[0-9a-f]{64}$/),
        sampling_policy_version: z.string().min(1),
        dataprocessor_version: z.string().min(1),
      })
      .strict(),
    /**
     * When `compileRun` made the plan (ISO UTC). A deletion of the video at or after this moment
     * (R-PRV-3) stops the run — also one deleted while its job waited in the queue, so a deletion
     * request is never undone by work submitted before it. Absent (plans of older versions): the
     * moment execution starts.
     */
    compiled_at: z.iso.datetime().optional(),
    /** Where the run is stored: the result store's root and the run's directory in it. */
    store_root: z.string().min(1),
    run_dir: z.string().min(1),
    input: z.object({ path: z.string().min(1), sha256: z.string(), bytes: z.number().int() }).strict(),
    profile: z.object({ name: z.string().min(1), generation: z.string().min(1) }).strict(),
    /** The effective config whose canonical hash is `identity.config_hash` (R-ID-2). */
    effective_config: z.record(z.string(), z.unknown()),
    /** Stages in the order they start when ready: the Segmenter first, then the graph's topological order. */
    stages: z.array(planStageSchema).min(1),
    /** The run's text inputs (SPEC §4 Text processor); only its sha256 is in the config. */
    document: videoDocumentSchema.nullable(),
    options: z
      .object({
        resume: z.boolean(),
        use_cache: z.boolean(),
        store_raw_payload: z.boolean(),
        max_retries: z.number().int().nonnegative(),
        orchestrator: orchestratorConfigSchema,
      })
      .strict(),
  })
  .strict();
export type RunPlan = z.infer<typeof runPlanSchema>;
