import {
  AUDIO_DIR,
  DataProcessorError,
  FRAMES_DIR,
  MANIFEST_SCHEMA_VERSION,
  computeConfigHash,
  METADATA_FILE,
  modelSignature,
  toDataProcessorError,
  type ArtifactRef,
  type AudioAccess,
  type AudioMetadata,
  type Component,
  type ComponentModel,
  type FramesMetadata,
  type Manifest,
  type ManifestComponent,
  type RunIdentity,
} from '../contracts/index.js';
import { applyCpuPlan, createModelAccess, planCpu, type ModelSystemOptions } from '../models/index.js';
import { COMPONENTS } from '../processors/index.js';
import { parseAudioMetadata, parseFramesMetadata, runSegmenter } from '../segmenter/index.js';
import {
  acquireRunLease,
  isDeletedSince,
  isLeaseLive,
  openResultStore,
  readLeases,
  readTombstone,
  storeScratchSpace,
  videoDeletedError,
  type ResultStore,
  type Tombstone,
} from '../storage/index.js';
import { findCacheHit, type CacheHit } from './cache.js';
import { modelSystemFor, probeForPlan, type RunEnvironment, type SegmenterStageConfig } from './compile.js';
import { mappedModelAccess, runComponent } from './component-runner.js';
import type { RunEventListener } from './events.js';
import { storeDependencyInputs } from './inputs.js';
import { runPlanSchema, type PlanStage, type RunPlan } from './plan.js';
import { runScheduled } from './scheduler.js';
import { blankEntryOf, resolveStage, type StageContext } from './stage.js';
import { RunStateWriter } from './state.js';

export interface ExecuteOptions extends RunEnvironment {
  onEvent?: RunEventListener;
  signal?: AbortSignal;
}

export interface RunOutcome {
  runDir: string;
  identity: RunIdentity;
  manifest: Manifest;
  status: 'ok' | 'error';
}

const SEGMENTER = 'segmenter';

/**
 * R-BAT-4: a stage's model calls join the process's coalescer under a group key of component,
 * producer version, model_signature, effective config (preprocessing/analysis parameters) and
 * resolution bucket (the analysed frame size); only calls with equal keys share a batch.
 */
function crossVideoSystem(
  system: ModelSystemOptions,
  stage: PlanStage,
  frames: FramesMetadata,
  runDir: string,
  options: ExecuteOptions,
): ModelSystemOptions {
  if (!options.coalescer) return system;
  const key = [
    stage.name,
    stage.producer_version,
    stage.models?.signature ?? '',
    computeConfigHash({ config: stage.config ?? null }),
    `${frames.analysis_width}x${frames.analysis_height}`,
  ].join('|');
  return {
    ...system,
    crossVideo: { coalescer: options.coalescer, group: { key, component: stage.name, member: runDir } },
  };
}

/** The Segmenter's outputs as the components read them. */
interface Segmentation {
  frames: FramesMetadata;
  audio: AudioMetadata;
}

/**
 * Execute a compiled plan (R-ORC-1): creates (or resumes) the run, then runs every stage — the
 * Segmenter first, each component once what it reads is done, within the resource limits — each
 * through `resolveStage` (kept on resume, reused from the cache, waited for, or computed), keeping
 * the manifest and the state files current after every stage. Everything goes through the store port.
 */
export async function executeRun(planInput: RunPlan, options: ExecuteOptions = {}): Promise<RunOutcome> {
  const plan = runPlanSchema.parse(planInput);
  const store = options.store ?? (await openResultStore(plan.store_root));
  const { platform_id, video_id } = plan.identity;
  // R-PRV-3 tombstone semantics: a deletion of the video after the plan was compiled (so also one
  // while its job waited in a queue) stops the run; a plan deleted before it starts does no work.
  const since = plan.compiled_at ?? new Date().toISOString();
  const deletedSince = async (): Promise<Tombstone | null> => {
    const tombstone = await readTombstone(store, platform_id, video_id);
    return isDeletedSince(tombstone, since) ? tombstone : null;
  };
  const deletedBefore = await deletedSince();
  if (deletedBefore) throw videoDeletedError(platform_id, video_id, deletedBefore);
  // The lease tells retention GC that this run is in progress.
  const lease = await acquireRunLease(store, plan.identity);
  let outcome: RunOutcome | null = null;
  let failure: Error | null = null;
  try {
    outcome = await executeLeased(plan, options, store, deletedSince);
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
  }
  await lease.release().catch(() => undefined);
  const tombstone = await deletedSince();
  if (tombstone) {
    // Whatever the run wrote after the deletion is removed; so is the video's folder when nothing
    // else of it is left (its claims, leases), so the video is gone as the deletion promised.
    await store.removeRun(store.runDir(platform_id, video_id, plan.identity.run_id));
    const leases = await readLeases(store, platform_id, video_id);
    if (
      (await store.listRuns(platform_id, video_id)).length === 0 &&
      ![...leases.values()].some((l) => isLeaseLive(l))
    )
      await store.removeVideo(platform_id, video_id);
    throw videoDeletedError(platform_id, video_id, tombstone);
  }
  if (failure !== null) throw failure;
  return outcome as RunOutcome;
}

/**
 * CPU threads a stage keeps busy under the run's CPU plan (cpu-budget.ts): a stage running models
 * on the CPU in-process spreads them over every core (TFJS workers, ONNX Runtime intra-op threads),
 * so it runs alone; any other stage (the Segmenter's ffmpeg included: it runs before the others)
 * counts one.
 */
function stageCpuThreads(stage: PlanStage, cores: number): number {
  const onCpu = stage.models?.models_used.some((m) => m.runtime === 'inprocess' && m.device === 'cpu');
  return onCpu ? cores : 1;
}

async function executeLeased(
  plan: RunPlan,
  options: ExecuteOptions,
  store: ResultStore,
  deletedSince: () => Promise<Tombstone | null>,
): Promise<RunOutcome> {
  const started = performance.now();
  const { identity } = plan;
  const registry = options.components ?? COMPONENTS;
  const componentOf = (name: string): Component | undefined => registry.find((c) => c.name === name);
  const runDir = store.runDir(identity.platform_id, identity.video_id, identity.run_id);
  const settings = plan.options.orchestrator;
  // One CPU budget for the engines of this run (issue 17); results do not depend on it.
  const callsTfjs = plan.stages.some((s) =>
    s.models?.models_used.some((m) => m.engine === 'tfjs' && m.runtime === 'inprocess'),
  );
  await applyCpuPlan(settings.plan_cpu ? planCpu(settings.cpu_threads) : null, { warmTfjs: callsTfjs });

  // Events go to the listener and, once the run exists, to the state writer (R-ORC-4).
  let stateWriter: RunStateWriter | null = null;
  const emit = throttleProgress((event) => {
    options.onEvent?.(event);
    void stateWriter?.record(event).catch(() => undefined);
  });

  const previous = await openRun(store, runDir, plan);
  const stageByName = new Map(plan.stages.map((s) => [s.name, s]));
  const runModels: Record<string, { mapping: unknown; models_used: unknown[] }> = Object.fromEntries(
    plan.stages
      .filter((s) => s.models !== null || s.model_problem !== null)
      .map((s) => [s.name, { mapping: s.models?.mapping ?? null, models_used: s.models?.models_used ?? [] }]),
  );
  const base: Manifest = {
    schema_version: MANIFEST_SCHEMA_VERSION,
    run: {
      ...identity,
      created_at: previous?.run.created_at ?? new Date().toISOString(),
      updated_at: new Date().toISOString(),
      frames_dir: FRAMES_DIR,
      root_path: store.describeRun(runDir),
      profile: plan.profile.name,
      models: runModels,
      selection: (plan.effective_config.selection as string[] | null) ?? null,
      status: 'running',
      error: null,
      error_code: null,
    },
    components: plan.stages.map((s) => blankEntryOf(s)),
  };
  let manifest = previous
    ? await store.updateManifest(runDir, { run: { ...base.run } })
    : await store.updateManifest(runDir, {}, base);
  const processorOf = (stage: string): string => stageByName.get(stage)?.processor ?? 'unknown';
  stateWriter = await RunStateWriter.open(store, runDir, identity.run_id, processorOf);
  emit({
    type: 'run_started',
    run_dir: runDir,
    run_id: identity.run_id,
    video_id: identity.video_id,
    stages: plan.stages.map((s) => s.name),
  });

  const ttlMs = settings.cache_ttl_days * 86_400_000;
  const lookup = (name: string): Promise<CacheHit | null> =>
    plan.options.use_cache
      ? findCacheHit({ store, identity, component: name, key: stageByName.get(name)?.key ?? '', ttlMs })
      : Promise.resolve(null);
  // Decisions that depend on which stages the cache will serve: when every frame reader is a hit,
  // reused frame batches are checked by size only (and by sha256 the moment anything reads them);
  // a stage whose handoff a computed reader needs is computed, since a cached run's scratch is gone.
  const hits = new Map(
    await Promise.all(plan.stages.map(async (s) => [s.name, await lookup(s.name)] as const)),
  );
  const frameReaders = plan.stages.filter((s) => componentOf(s.name)?.budget);
  const framesUnread = frameReaders.every((s) => hits.get(s.name));
  const handoffNeeded = (name: string): boolean =>
    (componentOf(name)?.handoffs?.length ?? 0) > 0 &&
    plan.stages.some(
      (s) => (s.depends_on.includes(name) || s.optional_inputs.includes(name)) && !hits.get(s.name),
    );

  // Once the video is deleted, nothing more is committed: the remaining stages are skipped and the
  // run ends with VIDEO_DELETED (executeRun removes what it wrote).
  let deleted = false;
  const stopIfDeleted = async (): Promise<boolean> => {
    if (!deleted && (await deletedSince())) {
      deleted = true;
      stopReason ??= 'the video was deleted';
      controller.abort();
    }
    return deleted;
  };
  const record = async (entry: ManifestComponent): Promise<ManifestComponent> => {
    if (runModels[entry.name] && entry.status !== 'skipped')
      runModels[entry.name] = { ...runModels[entry.name]!, models_used: entry.models_used };
    if (await stopIfDeleted()) return entry;
    try {
      manifest = await store.updateManifest(runDir, {
        run: { updated_at: new Date().toISOString(), models: { ...runModels } },
        components: [entry],
      });
    } catch (error) {
      // The deletion may have removed the run under this write.
      if (!(await stopIfDeleted())) throw error;
    }
    return entry;
  };
  const stageContext = (stage: PlanStage): StageContext => ({
    store,
    runDir,
    identity,
    stage,
    previous,
    useCache: plan.options.use_cache && !(stage.name !== SEGMENTER && handoffNeeded(stage.name)),
    lookup: () => lookup(stage.name),
    adoptSizeOnly:
      stage.name === SEGMENTER && framesUnread ? (a: ArtifactRef) => a.type === 'npy' : undefined,
    claimTimeoutMs: (settings.dependency_expected_sec + settings.dependency_grace_sec) * 1000,
    claimWaitNote: `${settings.dependency_expected_sec} s + ${settings.dependency_grace_sec} s grace`,
    emit,
    record,
  });

  // Frame batches reused by size only are hashed once, before the first frame reader computes.
  let framesVerified: Promise<void> | null = null;
  const verifyFramesOnce = (): Promise<void> =>
    (framesVerified ??= (async () => {
      const segmenterEntry = entries.get(SEGMENTER);
      if (!framesUnread || !segmenterEntry?.cache_hit) return;
      const problems = await store.verifyArtifacts(
        runDir,
        segmenterEntry.artifacts.filter((a) => a.type === 'npy'),
      );
      if (problems.length > 0)
        throw new DataProcessorError(
          'STORAGE_IO',
          `frame batches reused from the cache do not match their sha256: ${problems.join('; ')}`,
        );
    })());

  let segmentation: Segmentation | null = null;
  const segmentationOf = async (): Promise<Segmentation> =>
    (segmentation ??= {
      frames: parseFramesMetadata(await readText(store, runDir, `${FRAMES_DIR}/${METADATA_FILE}`)),
      audio: parseAudioMetadata(await readText(store, runDir, `${AUDIO_DIR}/${METADATA_FILE}`)),
    });

  const controller = new AbortController();
  options.signal?.addEventListener('abort', () => controller.abort(), { once: true });
  const entries = new Map<string, ManifestComponent>();
  let stopReason: string | null = null;

  /** How a stage computes its artifacts when nothing can be reused. */
  const compute = async (stage: PlanStage, startedAt: Date): Promise<ManifestComponent> => {
    if (stage.kind === 'segmenter') {
      const config = stage.config as SegmenterStageConfig;
      const probe = await probeForPlan(plan.input.path, plan.input.sha256, config.segmenter);
      const result = await runSegmenter({
        probe,
        identity,
        runDir,
        store,
        budgets: new Map(Object.entries(config.budgets)),
        minHeights: new Map(Object.entries(config.min_heights)),
        config: config.segmenter,
        signal: controller.signal,
        onProgress: (done, total) => emit({ type: 'stage_progress', stage: SEGMENTER, done, total }),
      });
      segmentation = result;
      const finished = new Date();
      return {
        ...blankEntryOf(stage),
        status: 'ok',
        started_at: startedAt.toISOString(),
        finished_at: finished.toISOString(),
        duration_ms: finished.getTime() - startedAt.getTime(),
        artifacts: result.artifacts,
        device_used: 'cpu',
        batch_size: result.frames.batch_size,
        model_signature: modelSignature([]),
        notes: `${result.frames.total_frames} union frames of ${result.frames.source_total_frames}; ${result.frames.analysis_width}x${result.frames.analysis_height}; audio: ${result.audio.has_audio ? 'yes' : 'none'}`,
      };
    }
    const component = componentOf(stage.name);
    if (!component)
      throw new DataProcessorError('INTERNAL', `the plan names ${stage.name}, which is not registered here`);
    if (component.budget) await verifyFramesOnce();
    const { frames, audio } = await segmentationOf();
    const mapping = (stage.models?.mapping ?? []) as ComponentModel[];
    const modelSystem = crossVideoSystem(modelSystemFor(mapping, options), stage, frames, runDir, options);
    return runComponent(component, blankEntryOf(stage), stage.config, {
      store,
      runDir,
      identity,
      frames,
      audio: await audioAccess(store, runDir, audio),
      inputs: storeDependencyInputs({
        store,
        runDir,
        reader: stage.name,
        allowed: [...stage.depends_on, ...stage.optional_inputs].filter((d) => d !== SEGMENTER),
        entryOf: (name) => entries.get(name),
        componentOf,
      }),
      scratch: storeScratchSpace(store, runDir, identity),
      document: plan.document,
      signal: controller.signal,
      emit,
      maxRetries: plan.options.max_retries,
      models: stage.models ? () => mappedModelAccess(createModelAccess(modelSystem), mapping) : undefined,
    });
  };

  // R-ORC-1/2: every stage once what it reads is done; a stage whose hard dependency failed or was
  // skipped is skipped; after a required failure nothing new starts (fail-fast).
  await runScheduled(
    // Optional inputs that are in the run finish before their reader starts (R-DEP-2).
    plan.stages.map((s) => ({
      name: s.name,
      dependsOn: [...s.depends_on, ...s.optional_inputs],
      memoryMb: s.memory_mb,
      cpuThreads: settings.plan_cpu ? stageCpuThreads(s, settings.cpu_threads) : 1,
    })),
    {
      maxParallel: settings.max_parallel_components,
      memoryBudgetMb: settings.memory_budget_mb,
      ...(settings.plan_cpu ? { cpuThreads: settings.cpu_threads } : {}),
    },
    async ({ name }) => {
      const stage = stageByName.get(name) as PlanStage;
      const blank = blankEntryOf(stage);
      const blocked = stage.depends_on
        .map((d) => entries.get(d))
        .find((e) => e && (e.status === 'error' || e.status === 'skipped'));
      let entry: ManifestComponent;
      if (stopReason || blocked) {
        entry = await record({
          ...blank,
          notes: blocked
            ? `skipped: dependency ${blocked.name} is ${blocked.status}`
            : `skipped: ${stopReason}`,
        });
      } else if (stage.model_problem) {
        // R-MOD-1/3: a model that is not installed or a device that is not there fails it before it runs.
        emit({ type: 'stage_started', stage: name });
        const now = new Date().toISOString();
        entry = await record({
          ...blank,
          status: 'error',
          started_at: now,
          finished_at: now,
          duration_ms: 0,
          error: stage.model_problem.message,
          error_code: stage.model_problem.error_code,
        });
      } else {
        entry = await resolveStage(stageContext(stage), (startedAt) => compute(stage, startedAt)).catch(
          (error: unknown) => {
            const failure = toDataProcessorError(error);
            return record({ ...blank, status: 'error', error: failure.message, error_code: failure.code });
          },
        );
      }
      entries.set(name, entry);
      if (entry.status === 'error' && entry.required && !stopReason)
        stopReason = `required component ${entry.name} failed`;
      emit({
        type: 'stage_finished',
        stage: entry.name,
        status: entry.status,
        duration_ms: entry.duration_ms ?? 0,
        error_code: entry.error_code,
        error: entry.error,
        notes: entry.notes,
        cache_hit: entry.cache_hit,
      });
      return entry;
    },
  );

  const segmenterEntry = entries.get(SEGMENTER);
  const failedRequired = [...entries.values()].find((e) => e.status === 'error' && e.required);
  const status = failedRequired ? 'error' : 'ok';
  if (segmenterEntry?.status === 'error' && segmenterEntry.error_code === 'INPUT_UNREADABLE' && !previous) {
    // The input was never a valid video: leave nothing that could be taken for a result (R-SEG-2).
    await stateWriter.close().catch(() => undefined);
    await store.removeRun(runDir);
    throw new DataProcessorError('INPUT_UNREADABLE', segmenterEntry.error ?? 'the input is unreadable');
  }
  if (await stopIfDeleted()) {
    await stateWriter.close().catch(() => undefined);
    return { runDir, identity, manifest, status: 'error' };
  }
  manifest = await store.updateManifest(runDir, {
    run: {
      updated_at: new Date().toISOString(),
      status,
      error: failedRequired ? `${failedRequired.name}: ${failedRequired.error}` : null,
      error_code: failedRequired?.error_code ?? null,
    },
  });
  // R-PRV-2: the raw-text handoffs live only as long as the run, unless the raw policy keeps them.
  if (!plan.options.store_raw_payload) await store.removeScratch(runDir);
  emit({ type: 'run_finished', run_dir: runDir, status, duration_ms: performance.now() - started });
  // The event log and checkpoints are complete before the run is reported done.
  await stateWriter.close();
  if (segmenterEntry?.status === 'error')
    throw new DataProcessorError(
      segmenterEntry.error_code ?? 'INTERNAL',
      segmenterEntry.error ?? 'the Segmenter failed',
    );
  return { runDir, identity, manifest, status };
}

/** Creates the run, or for a resume reads what the interrupted run left and clears its debris. */
async function openRun(store: ResultStore, runDir: string, plan: RunPlan): Promise<Manifest | null> {
  const { platform_id, video_id, run_id } = plan.identity;
  if (!plan.options.resume) {
    if (await store.hasRun(runDir))
      throw new DataProcessorError(
        'INPUT_INVALID',
        `Run ${platform_id}/${video_id}/${run_id} already exists at ${runDir}; choose another --run-id, or --resume it.`,
      );
    await store.createRun(runDir);
    return null;
  }
  const previous = await store.readManifest(runDir);
  if (!previous || previous.run.config_hash !== plan.identity.config_hash)
    throw new DataProcessorError('INPUT_INVALID', `Run ${run_id} cannot be resumed with this plan.`);
  // Whatever the interrupted process was writing is incomplete: remove it (R-ST-3 GC).
  await store.removeStaleTemps(runDir);
  await store.removeScratch(runDir);
  return previous;
}

async function readText(store: ResultStore, runDir: string, path: string): Promise<string> {
  const bytes = await store.readFile(runDir, path);
  if (bytes === null)
    throw new DataProcessorError(
      'DEPENDENCY_MISSING',
      `${path} is missing in ${runDir}; the Segmenter has not run.`,
    );
  return Buffer.from(bytes).toString('utf8');
}

async function audioAccess(store: ResultStore, runDir: string, audio: AudioMetadata): Promise<AudioAccess> {
  return {
    hasAudio: audio.has_audio,
    wavPath: audio.file ? await store.localFile(runDir, `${AUDIO_DIR}/${audio.file}`) : null,
    sampleRate: audio.sample_rate,
    channels: audio.channels,
    durationSec: audio.duration_sec,
  };
}

/** Passes every event through, but progress at most every 200 ms per stage (and always the last). */
function throttleProgress(listener: RunEventListener, intervalMs = 200): RunEventListener {
  const last = new Map<string, number>();
  return (event) => {
    if (event.type === 'stage_progress') {
      const now = performance.now();
      if (event.done < event.total && now - (last.get(event.stage) ?? -Infinity) < intervalMs) return;
      last.set(event.stage, now);
    }
    listener(event);
  };
}
