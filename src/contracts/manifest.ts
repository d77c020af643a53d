import { z } from 'zod';
import { idSchema } from './identity.js';
import { ERROR_CODE_NAMES } from './errors.js';
import { modelUsedSchema } from './meta.js';

const isoUtc = z.iso.datetime({ offset: false });

export const COMPONENT_KINDS = ['segmenter', 'core', 'module', 'audio', 'text'] as const;
export type ComponentKind = (typeof COMPONENT_KINDS)[number];
export const COMPONENT_STATUSES = ['ok', 'empty', 'error', 'skipped'] as const;
export type ComponentStatus = (typeof COMPONENT_STATUSES)[number];

/** One file a component wrote, relative to the run directory. */
export const artifactRefSchema = z
  .object({
    path: z
      .string()
      .min(1)
      .refine(
        (p) => !p.startsWith('/') && !p.split('/').includes('..'),
        'must be relative to the run directory',
      ),
    type: z.enum(['npz', 'npy', 'json', 'wav']),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    bytes: z.number().int().nonnegative(),
  })
  .strict();
export type ArtifactRef = z.infer<typeof artifactRefSchema>;

/** R-MAN-2: one component's entry in the manifest. */
export const manifestComponentSchema = z
  .object({
    name: z.string().min(1),
    kind: z.enum(COMPONENT_KINDS),
    status: z.enum(COMPONENT_STATUSES),
    started_at: isoUtc.nullable(),
    finished_at: isoUtc.nullable(),
    duration_ms: z.number().nonnegative().nullable(),
    artifacts: z.array(artifactRefSchema),
    producer_version: z.string().min(1),
    schema_version: z.string().min(1),
    device_used: z.string().nullable(),
    batch_size: z.number().int().positive().nullable(),
    error: z.string().nullable(),
    error_code: z.enum(ERROR_CODE_NAMES).nullable(),
    notes: z.string().nullable(),
    warnings: z.array(z.string()),
    models_used: z.array(modelUsedSchema),
    model_signature: z.string().nullable(),
    idempotency_key: z.string().nullable(),
    cache_hit: z.boolean(),
    /**
     * On a cache hit: the run whose computation the artifacts are (their NPZ meta carries that run's
     * identity, byte for byte); null when computed in this run.
     */
    cache_source: z
      .object({
        run_id: idSchema,
        config_hash: z.string().regex(/^[0-9a-f]{64}$/),
        dataprocessor_version: z.string().min(1),
        computed_at: isoUtc,
      })
      .strict()
      .nullable()
      .optional(),
    retries: z.number().int().nonnegative(),
    /** R-BAT-3: out-of-memory retries of the batch runner (each with a smaller batch). */
    oom_retries: z.number().int().nonnegative().optional(),
    required: z.boolean(),
    empty_reason: z.string().nullable().optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.status === 'error' && (c.error === null || c.error_code === null)) {
      ctx.addIssue({
        code: 'custom',
        path: ['error_code'],
        message: 'error and error_code are required when status is "error"',
      });
    }
    if (c.cache_hit !== (c.cache_source != null)) {
      ctx.addIssue({
        code: 'custom',
        path: ['cache_source'],
        message: 'cache_source is given exactly when cache_hit is true',
      });
    }
  });
export type ManifestComponent = z.infer<typeof manifestComponentSchema>;

/** R-MAN-1: the run section of the manifest. */
export const manifestRunSchema = z
  .object({
    platform_id: idSchema,
    video_id: idSchema,
    run_id: idSchema,
    config_hash: z.string().regex(/^[0-9a-f]{64}$/),
    sampling_policy_version: z.string().min(1),
    dataprocessor_version: z.string().min(1),
    created_at: isoUtc,
    updated_at: isoUtc,
    frames_dir: z.string().min(1),
    root_path: z.string().min(1),
    profile: z.string().min(1),
    /**
     * Per component that calls models: the profile's mapping for it (or null) and the models it
     * loaded (`models_used`, with digests) — planned at start, what was loaded once it ran.
     */
    models: z.record(z.string(), z.unknown()),
    /** The ad-hoc component selection (`run --components`), or null for the profile's list. */
    selection: z.array(z.string()).nullable().optional(),
    status: z.enum(['running', 'ok', 'error', 'skipped']),
    error: z.string().nullable(),
    error_code: z.enum(ERROR_CODE_NAMES).nullable(),
    /**
     * R-PRV-3: when retention GC removed the run's frame batches (`frames_dir/*.npy`, the
     * every-frame signal); the rest of the run is intact. Absent/null while the frames are kept.
     */
    frames_expired_at: isoUtc.nullable().optional(),
  })
  .strict();
export type ManifestRun = z.infer<typeof manifestRunSchema>;

export const MANIFEST_SCHEMA_VERSION = '1.0';

export const manifestSchema = z
  .object({
    schema_version: z.literal(MANIFEST_SCHEMA_VERSION),
    run: manifestRunSchema,
    components: z.array(manifestComponentSchema),
  })
  .strict()
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    m.components.forEach((c, i) => {
      if (seen.has(c.name))
        ctx.addIssue({
          code: 'custom',
          path: ['components', i, 'name'],
          message: `duplicate component ${c.name}`,
        });
      seen.add(c.name);
    });
  });
export type Manifest = z.infer<typeof manifestSchema>;

/** R-MAN-3 merge rule: components are keyed by name; a later entry for a name replaces the earlier one. */
export function mergeManifest(
  current: Manifest | null,
  patch: { run?: Partial<ManifestRun>; components?: ManifestComponent[] },
  base?: Manifest,
): Manifest {
  const start = current ?? base;
  if (!start) throw new TypeError('mergeManifest needs a current manifest or a base to start from');
  const byName = new Map(start.components.map((c) => [c.name, c]));
  for (const component of patch.components ?? []) byName.set(component.name, component);
  return {
    schema_version: MANIFEST_SCHEMA_VERSION,
    run: { ...start.run, ...patch.run },
    components: [...byName.values()],
  };
}
