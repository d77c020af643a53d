// Running one component (R-ORC-6 retries, R-MOD model access) and the manifest entry it yields.
// The orchestrator (run.ts) decides whether a component runs at all (cache, resume, claims); this
// module is what happens once it does.
import {
  DataProcessorError,
  modelSignature,
  toDataProcessorError,
  type AudioAccess,
  type Component,
  type ComponentContext,
  type ComponentModel,
  type ErrorCode,
  type FramesMetadata,
  type ManifestComponent,
  type RunIdentity,
} from '../contracts/index.js';
import type { ModelAccess } from '../models/index.js';
import { frameAccessFor } from '../segmenter/index.js';
import type { LocalResultStore } from '../storage/index.js';
import { writeComponentArtifact } from './artifact-writer.js';
import type { RunEventListener } from './events.js';
import type { ProfileModel } from './profiles.js';

/** A manifest entry with nothing run yet (`skipped` until the component records otherwise). */
export function blankEntry(
  name: string,
  kind: ManifestComponent['kind'],
  version: string,
  schemaVersion: string,
  required: boolean,
): ManifestComponent {
  return {
    name,
    kind,
    status: 'skipped',
    started_at: null,
    finished_at: null,
    duration_ms: null,
    artifacts: [],
    producer_version: version,
    schema_version: schemaVersion,
    device_used: null,
    batch_size: null,
    error: null,
    error_code: null,
    notes: null,
    warnings: [],
    models_used: [],
    model_signature: null,
    idempotency_key: null,
    cache_hit: false,
    cache_source: null,
    retries: 0,
    required,
  };
}

/**
 * A component's models after the profile's mapping (R-MOD-4): the mapping's device, precision and
 * runtime apply to every model of the component; its model name (and version) replaces the
 * model of a component that loads exactly one.
 */
export function applyProfileMapping(
  declared: readonly ComponentModel[],
  override: ProfileModel | undefined,
): ComponentModel[] {
  if (!override) return [...declared];
  return declared.map((m) => ({
    ...m,
    ...(declared.length === 1 ? { model: override.model, version: override.version } : {}),
    device: override.device as NonNullable<ComponentModel['device']>,
    precision: override.precision,
  }));
}

/**
 * The model access a component gets: loads follow its planned mapping (device, precision,
 * version; the model name for a single-model component), so what runs is what was signed.
 */
export function mappedModelAccess(base: ModelAccess, mapping: readonly ComponentModel[]): ModelAccess {
  return {
    ...base,
    load: (name, options = {}) => {
      const planned =
        mapping.find((m) => m.model === name) ?? (mapping.length === 1 ? mapping[0] : undefined);
      return base.load(planned?.model ?? name, {
        ...options,
        ...(planned?.version !== undefined ? { version: planned.version } : {}),
        ...(planned?.device !== undefined ? { device: planned.device } : {}),
        ...(planned?.precision !== undefined ? { precision: planned.precision } : {}),
      });
    },
  };
}

/** What a component run needs from the orchestrator. */
export interface ComponentRunEnv {
  store: LocalResultStore;
  runDir: string;
  identity: RunIdentity;
  frames: FramesMetadata;
  audio: AudioAccess;
  signal: AbortSignal;
  emit: RunEventListener;
  maxRetries: number;
  fault: { code?: ErrorCode; times?: number; delayMs?: number } | undefined;
  models: ModelAccess | undefined;
}

const RETRY_BASE_DELAY_MS = 200;
/** OOM is handled by the batch policy inside a component (R-BAT-3), not by re-running it whole. */
const NOT_RETRIED_HERE = new Set<ErrorCode>(['OOM']);

export async function runComponent(
  component: Component,
  required: boolean,
  config: unknown,
  env: ComponentRunEnv,
): Promise<ManifestComponent> {
  const startedAt = new Date();
  const entry = blankEntry(
    component.name,
    component.kind,
    component.version,
    component.schema.schemaVersion,
    required,
  );
  entry.started_at = startedAt.toISOString();
  for (let attempt = 0; ; attempt += 1) {
    try {
      if (env.fault?.delayMs) await new Promise((r) => setTimeout(r, env.fault?.delayMs));
      if (env.fault?.code && attempt < (env.fault.times ?? 1)) {
        throw new DataProcessorError(env.fault.code, `injected fault (attempt ${attempt + 1})`);
      }
      const ctx: ComponentContext<unknown> = {
        identity: env.identity,
        runDir: env.runDir,
        config,
        frames: component.budget ? frameAccessFor(env.runDir, env.frames, component.name) : null,
        audio: env.audio,
        progress: (done, total) => env.emit({ type: 'stage_progress', stage: component.name, done, total }),
        signal: env.signal,
        ...(env.models ? { models: env.models } : {}),
      };
      const ran = await component.run(ctx);
      // The models a component loaded are what it used, in the NPZ meta as in the manifest.
      const result = ran.modelsUsed || !env.models ? ran : { ...ran, modelsUsed: env.models.used() };
      const { ref } = await writeComponentArtifact(
        env.store,
        env.runDir,
        component,
        env.identity,
        result,
        component.knownSymbols?.(ctx) ?? {},
      );
      Object.assign(entry, {
        status: result.status,
        artifacts: [ref],
        device_used: result.deviceUsed ?? 'cpu',
        batch_size: result.batchSize ?? 1,
        notes: result.notes ?? null,
        warnings: [...entry.warnings, ...(result.warnings ?? [])],
        models_used: result.modelsUsed ?? env.models?.used() ?? [],
        model_signature: modelSignature(result.modelsUsed ?? env.models?.used() ?? []),
        empty_reason: result.status === 'empty' ? result.emptyReason : null,
        error: null,
        error_code: null,
      });
      break;
    } catch (error) {
      const failure = toDataProcessorError(error);
      Object.assign(entry, { status: 'error', error: failure.message, error_code: failure.code });
      // R-ORC-6: logical errors fail fast; transient ones are retried with bounded backoff.
      if (
        !failure.retryable ||
        NOT_RETRIED_HERE.has(failure.code) ||
        attempt >= env.maxRetries ||
        env.signal.aborted
      )
        break;
      entry.retries = attempt + 1;
      entry.warnings = [...entry.warnings, `attempt ${attempt + 1} failed with ${failure.code}; retrying`];
      await new Promise((resolve) => setTimeout(resolve, RETRY_BASE_DELAY_MS * 2 ** attempt));
    }
  }
  entry.finished_at = new Date().toISOString();
  entry.duration_ms = Date.now() - startedAt.getTime();
  return entry;
}
