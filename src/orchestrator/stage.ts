import {
  toDataProcessorError,
  type ArtifactRef,
  type Manifest,
  type ManifestComponent,
  type RunIdentity,
} from '../contracts/index.js';
import type { ResultStore } from '../storage/index.js';
import { adoptCacheHit, type CacheHit } from './cache.js';
import type { RunEventListener } from './events.js';
import type { PlanStage } from './plan.js';

/** Statuses whose artifacts are results: kept on resume, reusable from the cache. */
const FINISHED = new Set(['ok', 'empty']);

/** What resolving one stage needs from its run. */
export interface StageContext {
  store: ResultStore;
  runDir: string;
  identity: RunIdentity;
  stage: PlanStage;
  /** The interrupted run's manifest when resuming (R-ORC-4), else null. */
  previous: Manifest | null;
  /** False: compute, never reuse or wait (`--no-cache`, or a handoff a reader needs). */
  useCache: boolean;
  /** The newest valid cache entry for this stage's key (R-ORC-3), or null. */
  lookup: () => Promise<CacheHit | null>;
  /** Reused artifacts to check by size only (their sha256 is checked before anything reads them). */
  adoptSizeOnly: ((artifact: ArtifactRef) => boolean) | undefined;
  /** R-ORC-5: how long to wait for another run computing the same key. */
  claimTimeoutMs: number;
  claimWaitNote: string;
  emit: RunEventListener;
  /** Records the stage's entry in the manifest (R-MAN-3). */
  record: (entry: ManifestComponent) => Promise<ManifestComponent>;
}

/** How a stage computes its artifacts; returns its manifest entry. */
export type StageCompute = (startedAt: Date) => Promise<ManifestComponent>;

/**
 * The one place where a stage — the Segmenter or any component — becomes a manifest entry: kept
 * from before an interruption (resume), reused from another run (cache hit), waited for while
 * another run computes it (claim), or computed. A computed entry is recorded while the stage's
 * claim is still held, so a run waiting for the claim finds it in the cache the moment it gets it.
 */
export async function resolveStage(ctx: StageContext, compute: StageCompute): Promise<ManifestComponent> {
  const { stage, store, runDir, record } = ctx;
  const blankBase = { required: stage.required };
  const key = stage.key;
  const startedAt = new Date();
  ctx.emit({ type: 'stage_started', stage: stage.name });
  const kept = ctx.previous?.components.find(
    (c) => c.name === stage.name && c.idempotency_key === key && FINISHED.has(c.status),
  );
  if (kept && (await store.verifyArtifacts(runDir, kept.artifacts)).length === 0)
    return record({ ...kept, ...blankBase });
  if (!ctx.useCache) return record({ ...(await compute(startedAt)), idempotency_key: key });

  const adopt = async (): Promise<ManifestComponent | { unusable: string } | null> => {
    const hit = await ctx.lookup();
    if (!hit) return null;
    try {
      return await adoptCacheHit(store, runDir, hit, stage.required, startedAt, ctx.adoptSizeOnly);
    } catch (error) {
      // A source that no longer matches its sha256 is a miss: compute instead, and say so.
      return {
        unusable: `cache entry of run ${hit.source.run_id} unusable: ${toDataProcessorError(error).message}`,
      };
    }
  };
  const early = await adopt();
  if (early && !('unusable' in early)) return record(early);
  // R-ORC-5: one computation per key at a time across runs and workers. A run that finds the key
  // claimed waits (without blocking its other stages) and then takes the other run's artifacts.
  let claimed = false;
  try {
    return await store.claims.withClaim(
      { platformId: ctx.identity.platform_id, videoId: ctx.identity.video_id },
      key,
      async () => {
        claimed = true;
        const late = early ? null : await adopt();
        if (late && !('unusable' in late)) return record(late);
        const entry = await compute(startedAt);
        const unusable = [early, late].flatMap((a) => (a && 'unusable' in a ? [a.unusable] : []));
        return record({ ...entry, idempotency_key: key, warnings: [...unusable, ...entry.warnings] });
      },
      { timeoutMs: ctx.claimTimeoutMs },
    );
  } catch (error) {
    // Only a wait that never got the claim is a DEPENDENCY_TIMEOUT; anything else is the stage's own failure.
    if (claimed) throw error;
    const failure = toDataProcessorError(error);
    if (failure.code !== 'STORAGE_IO') throw failure;
    const finished = new Date();
    return record({
      ...blankEntryOf(stage),
      status: 'error',
      started_at: startedAt.toISOString(),
      finished_at: finished.toISOString(),
      duration_ms: finished.getTime() - startedAt.getTime(),
      error: `another run is computing ${stage.name} (key ${key.slice(0, 12)}…) and it did not finish within ${ctx.claimWaitNote}`,
      error_code: 'DEPENDENCY_TIMEOUT',
    });
  }
}

/** A stage's manifest entry before anything ran (R-MAN-2): `skipped` until it records otherwise. */
export function blankEntryOf(stage: PlanStage): ManifestComponent {
  return {
    name: stage.name,
    kind: stage.kind,
    status: 'skipped',
    started_at: null,
    finished_at: null,
    duration_ms: null,
    artifacts: [],
    producer_version: stage.producer_version,
    schema_version: stage.schema_version,
    device_used: null,
    batch_size: null,
    error: null,
    error_code: null,
    notes: null,
    warnings: [],
    models_used: [],
    model_signature: null,
    idempotency_key: stage.key,
    cache_hit: false,
    cache_source: null,
    retries: 0,
    required: stage.required,
  };
}
