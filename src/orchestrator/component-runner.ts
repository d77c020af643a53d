// Running one component (R-ORC-6 retries, R-MOD model access) and the manifest entry it yields.
// The orchestrator (run.ts) decides whether a component runs at all (cache, resume, claims); this
// module is what happens once it does.
import {
  modelSignature,
  toDataProcessorError,
  type AudioAccess,
  type Component,
  type ComponentContext,
  type ComponentModel,
  type DependencyInputs,
  type ErrorCode,
  type FramesMetadata,
  type ManifestComponent,
  type RunIdentity,
  type ScratchSpace,
  type VideoDocument,
} from '../contracts/index.js';
import type { ModelAccess } from '../models/index.js';
import { frameAccessFor } from '../segmenter/index.js';
import type { ResultStore } from '../storage/index.js';
import { writeComponentArtifact } from './artifact-writer.js';
import type { RunEventListener } from './events.js';

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
  store: ResultStore;
  runDir: string;
  identity: RunIdentity;
  frames: FramesMetadata;
  audio: AudioAccess;
  inputs: DependencyInputs;
  scratch: ScratchSpace;
  document: VideoDocument | null;
  signal: AbortSignal;
  emit: RunEventListener;
  maxRetries: number;
  /** A fresh model access per attempt (it records what the attempt loaded and batched). */
  models: (() => ModelAccess) | undefined;
}

const RETRY_BASE_DELAY_MS = 200;
/** OOM is handled by the batch policy inside a component (R-BAT-3), not by re-running it whole. */
const NOT_RETRIED_HERE = new Set<ErrorCode>(['OOM']);

export async function runComponent(
  component: Component,
  blank: ManifestComponent,
  config: unknown,
  env: ComponentRunEnv,
): Promise<ManifestComponent> {
  const startedAt = new Date();
  const entry: ManifestComponent = { ...blank, warnings: [...blank.warnings] };
  entry.started_at = startedAt.toISOString();
  const locate = (relativePath: string): Promise<string> => env.store.localFile(env.runDir, relativePath);
  let models: ModelAccess | undefined;
  for (let attempt = 0; ; attempt += 1) {
    try {
      models = env.models?.();
      const ctx: ComponentContext<unknown> = {
        identity: env.identity,
        runDir: env.runDir,
        config,
        frames: component.budget ? frameAccessFor(locate, env.frames, component.name) : null,
        audio: env.audio,
        progress: (done, total) => env.emit({ type: 'stage_progress', stage: component.name, done, total }),
        signal: env.signal,
        inputs: env.inputs,
        scratch: env.scratch,
        document: env.document,
        ...(models ? { models } : {}),
      };
      const ran = await component.run(ctx);
      // The models a component loaded are what it used, in the NPZ meta as in the manifest; the
      // batch size it finished with and the OOM retries it spent likewise (R-BAT-3).
      const batching = models?.batching();
      const result = {
        ...ran,
        ...(ran.modelsUsed || !models ? {} : { modelsUsed: models.used() }),
        batchSize: ran.batchSize ?? batching?.batchSize ?? 1,
        meta: { ...ran.meta, oom_retries: batching?.oomRetries ?? 0 },
      };
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
        models_used: result.modelsUsed ?? [],
        model_signature: modelSignature(result.modelsUsed ?? []),
        oom_retries: batching?.oomRetries ?? 0,
        empty_reason: result.status === 'empty' ? result.emptyReason : null,
        error: null,
        error_code: null,
      });
      break;
    } catch (error) {
      const failure = toDataProcessorError(error);
      Object.assign(entry, {
        status: 'error',
        error: failure.message,
        error_code: failure.code,
        // What was loaded and batched before it failed is on record too (an OOM's retries, R-BAT-3).
        models_used: models?.used() ?? [],
        model_signature: models ? modelSignature(models.used()) : null,
        oom_retries: models?.batching().oomRetries ?? 0,
        batch_size: models?.batching().batchSize ?? null,
      });
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
