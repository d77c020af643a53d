import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  AUDIO_DIR,
  ContractViolationError,
  type ArtifactRef,
  DataProcessorError,
  FRAMES_DIR,
  MANIFEST_SCHEMA_VERSION,
  computeConfigHash,
  dataprocessorVersion,
  idempotencyKey,
  modelSignature,
  defaultRunId,
  defaultVideoId,
  toDataProcessorError,
  validateId,
  type AudioAccess,
  type AudioMetadata,
  type ComponentModel,
  type Manifest,
  type ErrorCode,
  type FramesMetadata,
  type ManifestComponent,
  type RunIdentity,
} from '../contracts/index.js';
import { COMPONENTS, componentByName } from '../processors/index.js';
import {
  SAMPLING_POLICY_VERSION,
  SEGMENTER_VERSION,
  checkDuration,
  checkInputFile,
  probeVideo,
  readAudioMetadata,
  readFramesMetadata,
  resolveTool,
  runSegmenter,
  segmenterConfigSchema,
  type VideoProbe,
} from '../segmenter/index.js';
import {
  LocalResultStore,
  readManifest,
  removeStaleTemps,
  sha256File,
  updateManifest,
  verifyManifestArtifacts,
  withLock,
} from '../storage/index.js';
import { applyProfileMapping, blankEntry, mappedModelAccess, runComponent } from './component-runner.js';
import { adoptCacheHit, findCacheHit, type CacheHit } from './cache.js';
import { orchestratorConfigSchema, type OrchestratorConfig } from './config.js';
import type { RunEventListener } from './events.js';
import { checkAgainstRegistry, loadGraph, topologicalLevels } from './graph.js';
import { createModelAccess, plannedModelSignature, type ModelSystemOptions } from '../models/index.js';
import { ProfileStore, defaultDatabasePath, type Profile } from './profiles.js';
import { runScheduled } from './scheduler.js';
import { RunStateWriter } from './state.js';

export interface RunRequest {
  videoPath: string;
  /** Root of the result store. */
  storeRoot: string;
  platformId?: string;
  videoId?: string;
  runId?: string;
  /** A profile name (looked up in the profile database), or a profile given in full (API callers and tests). */
  profile?: string | Profile;
  /** The profile database (R-MOD-4); default `defaultDatabasePath()`. */
  databasePath?: string;
  /**
   * R-ORC-4: continue the existing run `runId` after an interruption (a crash, kill -9). Components
   * that finished are kept as they are (never recomputed); the rest run. The effective config must
   * be the one the run started with.
   */
  resume?: boolean;
  /**
   * R-PRV-1/2: keep the run's `_tmp_*` scratch — the raw-text handoffs (OCR strings, transcripts)
   * — after the run (`--store-raw-payload`). By default it is removed when the run ends.
   */
  storeRawPayload?: boolean;
  /** R-ORC-3: false forces recomputation (`--no-cache`): no cache lookup, no waiting for other runs. */
  useCache?: boolean;
  /**
   * The model system's parts (registry, model store, runtime) for components that call models;
   * default: builtin cards, the store at `$DATAPROCESSOR_MODEL_DIR` or `~/.cache/dataprocessor/models`,
   * in-process runtimes.
   */
  modelSystem?: ModelSystemOptions;
  /** How the orchestrator runs (not part of the config hash); see `orchestratorConfigSchema`. */
  orchestrator?: Partial<OrchestratorConfig>;
  /**
   * Fault injection for tests of the error paths (API only, never from the CLI): the named
   * component throws `code` on its first `times` attempts instead of running, after `delayMs`.
   */
  faults?: Readonly<Record<string, { code?: ErrorCode; times?: number; delayMs?: number }>>;
  /** R-ORC-6: retries of a component after a transient (retryable) error; overrides `orchestrator.max_retries`. */
  maxRetries?: number;
  /** Per-section overrides of the effective config (`segmenter`, `components.<name>`). */
  config?: { segmenter?: Record<string, unknown>; components?: Record<string, Record<string, unknown>> };
  onEvent?: RunEventListener;
  signal?: AbortSignal;
}

export interface RunOutcome {
  runDir: string;
  identity: RunIdentity;
  manifest: Manifest;
  status: 'ok' | 'error';
}

const SEGMENTER_SCHEMA_VERSION = '1.0';
const SEGMENTER = 'segmenter';
/** Statuses whose artifacts are results: kept on resume, reusable from the cache. */
const FINISHED = new Set(['ok', 'empty']);

/** A stage's outcome before it is recorded: its manifest entry. */
type StageRunner = (startedAt: Date) => Promise<ManifestComponent>;

/**
 * The canonical entry point for one video (R-ORC-1): validates ids and input before anything is
 * created, forms the run identity once, runs the Segmenter, then the profile's components as the
 * component graph allows (each as soon as what it reads is done, within the resource limits), and
 * keeps the manifest current after every stage. Every stage is first looked up by its idempotency
 * key (R-ORC-3): kept if this run already finished it (resume), reused from another run of the
 * same video if valid, waited for if another run is computing it (R-ORC-5), computed otherwise.
 */
export async function runVideo(request: RunRequest): Promise<RunOutcome> {
  // Events go to the listener and, once the run directory exists, to the state writer (R-ORC-4).
  let stateWriter: RunStateWriter | null = null;
  const emit = throttleProgress((event) => {
    request.onEvent?.(event);
    void stateWriter?.record(event).catch(() => undefined);
  });
  const started = performance.now();
  // R-ID-4 / R-SEC-3: ids are checked before any path is built from them.
  const platformId = validateId('--platform-id', request.platformId ?? 'local');
  if (request.videoId !== undefined) validateId('--video-id', request.videoId);
  if (request.resume && request.runId === undefined)
    throw new DataProcessorError('INPUT_INVALID', 'Resuming needs the --run-id of the run to resume.');
  const runId = validateId('--run-id', request.runId ?? defaultRunId());
  const settings = parseConfig('orchestrator', orchestratorConfigSchema, request.orchestrator ?? {});
  const maxRetries = request.maxRetries ?? settings.max_retries;
  const useCache = request.useCache ?? true;

  const profile =
    typeof request.profile === 'object'
      ? request.profile
      : withProfileStore(request.databasePath ?? defaultDatabasePath(), (db) =>
          db.resolve(typeof request.profile === 'string' ? request.profile : 'default'),
        );
  const components = profile.components.map((pc) => ({ ...pc, component: componentByName(pc.name) }));
  // R-ORC-1: the component graph decides order and parallelism; docs and code must agree.
  const generation = loadGraph().get(profile.generation);
  if (!generation || generation.status !== 'active') {
    throw new DataProcessorError(
      'INPUT_INVALID',
      `Profile ${profile.name} needs generation "${profile.generation}", which is not an active generation of the component graph.`,
    );
  }
  const graphProblems = checkAgainstRegistry(generation, COMPONENTS);
  if (graphProblems.length > 0)
    throw new ContractViolationError(`component graph and code disagree: ${graphProblems.join('; ')}`);
  const missing = components.filter(({ component }) => !generation.nodes.has(component.name));
  if (missing.length > 0) {
    throw new DataProcessorError(
      'INPUT_INVALID',
      `Profile ${profile.name} enables ${missing.map((m) => m.component.name).join(', ')}, not in generation "${generation.name}".`,
    );
  }
  // Topological order: ready components start in this order, so runs are reproducible.
  const order = topologicalLevels(
    generation,
    components.map(({ component }) => component.name),
  ).flat();
  const segmenterConfig = parseConfig('segmenter', segmenterConfigSchema, request.config?.segmenter ?? {});
  const componentConfigs = Object.fromEntries(
    components.map(({ component }) => [
      component.name,
      parseConfig(component.name, component.configSchema, request.config?.components?.[component.name] ?? {}),
    ]),
  );

  // R-SEG-2: tools first, then the input; nothing is created until both pass.
  resolveTool('ffmpeg');
  resolveTool('ffprobe');
  const videoPath = resolve(request.videoPath);
  await checkInputFile(videoPath, segmenterConfig.max_file_bytes);
  const probeInput = async (): Promise<VideoProbe> => {
    const probed = await probeVideo(videoPath, {
      timeoutMs: segmenterConfig.probe_timeout_sec * 1000,
      maxFileBytes: segmenterConfig.max_file_bytes,
      maxDurationSec: segmenterConfig.max_duration_sec,
      memoryLimitMb: segmenterConfig.decode_memory_limit_mb,
    });
    checkDuration(probed, segmenterConfig.min_duration_sec, segmenterConfig.max_duration_sec);
    return probed;
  };
  const inputSha256 = await sha256File(videoPath);
  const videoId = request.videoId ?? defaultVideoId(inputSha256);

  const budgets = new Map(
    components
      .filter(({ component }) => component.budget)
      .map(({ component }) => [component.name, component.budget!]),
  );
  const minHeights = new Map(
    components
      .filter(({ component }) => component.minHeight)
      .map(({ component }) => [component.name, component.minHeight!]),
  );
  const sampling = {
    policy: SAMPLING_POLICY_VERSION,
    budgets: Object.fromEntries(budgets),
    min_heights: Object.fromEntries(minHeights),
  };
  // R-ID-2: everything that changes results is in the effective config, so in its hash.
  const effectiveConfig = {
    profile: profile.name,
    profile_components: profile.components,
    generation: profile.generation,
    segmenter: segmenterConfig,
    components: componentConfigs,
    sampling,
    models: profile.models ?? {},
  };
  const identity: RunIdentity = {
    platform_id: platformId,
    video_id: videoId,
    run_id: runId,
    config_hash: computeConfigHash(effectiveConfig),
    sampling_policy_version: SAMPLING_POLICY_VERSION,
    dataprocessor_version: dataprocessorVersion().version,
  };

  // R-ORC-3 keys. The Segmenter's covers the input's bytes (a reused --video-id can never serve
  // another file's frames), its config and the union's sampling; a component's covers its own share
  // of the config and its dependencies' keys, so a config change re-keys exactly that component and
  // its dependants.
  const keys = new Map<string, string>();
  keys.set(
    SEGMENTER,
    idempotencyKey({
      platform_id: platformId,
      video_id: videoId,
      component: SEGMENTER,
      config_hash: computeConfigHash({ input_sha256: inputSha256, segmenter: segmenterConfig, sampling }),
      sampling_policy_version: SAMPLING_POLICY_VERSION,
      producer_version: SEGMENTER_VERSION,
      schema_version: SEGMENTER_SCHEMA_VERSION,
      model_signature: modelSignature([]),
      dependency_keys: [],
    }),
  );
  const byName = new Map(components.map((c) => [c.component.name, c]));
  const dependenciesOf = (name: string): string[] => generation.nodes.get(name)?.dependsOn ?? [];
  // R-MOD-2/4: the models each component will load (its own declaration, overridden by the
  // profile's mapping), and their signature before anything runs: it is part of the key, and a
  // model that is not installed or a device that is not there fails the component now.
  const modelSystem = request.modelSystem ?? {};
  const modelPlans = new Map<string, { mapping: ComponentModel[]; signature: string }>();
  const modelProblems = new Map<string, DataProcessorError>();
  for (const name of order) {
    const { component } = byName.get(name) as (typeof components)[number];
    const declared = component.models?.(componentConfigs[name]) ?? [];
    if (declared.length === 0) continue;
    const mapping = applyProfileMapping(declared, profile.models?.[name]);
    try {
      const planned = await plannedModelSignature(mapping, modelSystem);
      modelPlans.set(name, { mapping, signature: planned.modelSignature });
    } catch (error) {
      modelProblems.set(name, toDataProcessorError(error));
    }
  }
  for (const name of order) {
    const { component } = byName.get(name) as (typeof components)[number];
    const scope = {
      component: componentConfigs[name],
      segmenter: segmenterConfig,
      sampling: {
        policy: SAMPLING_POLICY_VERSION,
        budget: component.budget ?? null,
        min_height: component.minHeight ?? null,
      },
    };
    keys.set(
      name,
      idempotencyKey({
        platform_id: platformId,
        video_id: videoId,
        component: name,
        config_hash: computeConfigHash(scope),
        sampling_policy_version: SAMPLING_POLICY_VERSION,
        producer_version: component.version,
        schema_version: component.schema.schemaVersion,
        model_signature: modelPlans.get(name)?.signature ?? modelSignature([]),
        dependency_keys: dependenciesOf(name).flatMap((d) => keys.get(d) ?? []),
      }),
    );
  }

  const store = new LocalResultStore(resolve(request.storeRoot));
  const runDir = store.runDir(platformId, videoId, runId);
  const ttlMs = settings.cache_ttl_days * 86_400_000;
  const lookup = (name: string): Promise<CacheHit | null> =>
    useCache
      ? findCacheHit({ store, identity, component: name, key: keys.get(name) ?? '', ttlMs })
      : Promise.resolve(null);
  // A Segmenter output cached from the same bytes under the same Segmenter config (caps and
  // duration limits included) proves that the input passed the same checks: no need to probe it
  // again. Otherwise the input is probed and checked now, before a run exists (R-SEG-1/2).
  let probe: VideoProbe | null =
    request.resume || (await lookup(SEGMENTER)) === null ? await probeInput() : null;
  // When every frame reader is a cache hit too, nothing in this run reads the frames: the reused
  // frame batches are then checked by size only, and by sha256 the moment anything needs them.
  const frameReaders = components
    .filter(({ component }) => component.budget)
    .map(({ component }) => component.name);
  const framesUnread = (await Promise.all(frameReaders.map((n) => lookup(n)))).every((hit) => hit !== null);
  const exists = existsSync(runDir);
  let previous: Manifest | null = null;
  if (request.resume) {
    previous = exists ? await readManifest(runDir) : null;
    if (!previous) {
      throw new DataProcessorError(
        'INPUT_INVALID',
        `There is no run ${platformId}/${videoId}/${runId} to resume at ${runDir}.`,
      );
    }
    if (previous.run.config_hash !== identity.config_hash) {
      throw new DataProcessorError(
        'INPUT_INVALID',
        `Run ${runId} was started with another configuration (config_hash ${previous.run.config_hash.slice(0, 12)}…, now ${identity.config_hash.slice(0, 12)}…); start a new run instead of resuming it.`,
      );
    }
    // Whatever the interrupted process was writing is incomplete: remove it (R-ST-3 GC).
    await removeStaleTemps(runDir);
    await removeScratch(runDir);
  } else if (exists) {
    throw new DataProcessorError(
      'INPUT_INVALID',
      `Run ${platformId}/${videoId}/${runId} already exists at ${runDir}; choose another --run-id, or --resume it.`,
    );
  } else {
    await mkdir(runDir, { recursive: true });
  }
  const now = new Date().toISOString();
  const stageNames = [SEGMENTER, ...order];
  const base: Manifest = {
    schema_version: MANIFEST_SCHEMA_VERSION,
    run: {
      ...identity,
      created_at: previous?.run.created_at ?? now,
      updated_at: now,
      frames_dir: FRAMES_DIR,
      root_path: runDir,
      profile: profile.name,
      models: profile.models ?? {},
      status: 'running',
      error: null,
      error_code: null,
    },
    components: [
      blankEntry(SEGMENTER, 'segmenter', SEGMENTER_VERSION, SEGMENTER_SCHEMA_VERSION, true),
      ...components.map(({ component, required }) =>
        blankEntry(
          component.name,
          component.kind,
          component.version,
          component.schema.schemaVersion,
          required,
        ),
      ),
    ],
  };
  let manifest = previous
    ? await updateManifest(runDir, { run: { ...base.run } })
    : await updateManifest(runDir, {}, base);
  const processorOf = new Map<string, string>([
    [SEGMENTER, SEGMENTER],
    ...components.map(({ component }): [string, string] => [component.name, component.processor]),
  ]);
  const stageProcessor = (stage: string): string => processorOf.get(stage) ?? 'unknown';
  stateWriter = await RunStateWriter.open(runDir, runId, stageProcessor);
  emit({ type: 'run_started', run_dir: runDir, run_id: runId, video_id: videoId, stages: stageNames });

  const touch = (): { updated_at: string } => ({ updated_at: new Date().toISOString() });

  // Frame batches reused from the cache by size only (see framesUnread); hashed once, on first need.
  let unverifiedFrames: ArtifactRef[] = [];
  let framesVerified: Promise<void> | null = null;
  const verifyFramesOnce = (): Promise<void> =>
    (framesVerified ??= (async () => {
      const problems = await verifyManifestArtifacts(runDir, {
        ...manifest,
        components: [{ ...segmenterBlankOf(), artifacts: unverifiedFrames }],
      });
      if (problems.length > 0)
        throw new DataProcessorError(
          'STORAGE_IO',
          `frame batches reused from the cache do not match their sha256: ${problems.join('; ')}`,
        );
    })());

  /** Records a stage's entry in the manifest (R-MAN-3). */
  const record = async (entry: ManifestComponent): Promise<ManifestComponent> => {
    manifest = await updateManifest(runDir, { run: touch(), components: [entry] });
    return entry;
  };

  /**
   * One stage through the cache: kept from before an interruption (resume), reused from another
   * run, waited for while another run computes it, or computed by `compute` — and recorded in the
   * manifest. A computed entry is recorded while the stage's claim is still held, so a run waiting
   * for the claim finds it in the cache the moment it gets the claim.
   */
  const resolveStage = async (blank: ManifestComponent, compute: StageRunner): Promise<ManifestComponent> => {
    const { name, required } = blank;
    const key = keys.get(name) ?? null;
    const startedAt = new Date();
    const kept = previous?.components.find(
      (c) => c.name === name && c.idempotency_key === key && FINISHED.has(c.status),
    );
    if (kept && (await verifyManifestArtifacts(runDir, { ...previous!, components: [kept] })).length === 0) {
      emit({ type: 'stage_started', stage: name });
      return record({ ...kept, required });
    }
    if (!useCache || key === null) {
      emit({ type: 'stage_started', stage: name });
      return record({ ...(await compute(startedAt)), idempotency_key: key });
    }
    const adopt = async (): Promise<ManifestComponent | null> => {
      const hit = await lookup(name);
      if (!hit) return null;
      try {
        const sizeOnly =
          name === SEGMENTER && framesUnread ? (a: ArtifactRef) => a.type === 'npy' : () => false;
        const entry = await adoptCacheHit(store, runDir, hit, required, startedAt, sizeOnly);
        if (name === SEGMENTER && framesUnread) unverifiedFrames = entry.artifacts.filter(sizeOnly);
        return entry;
      } catch (error) {
        // A source that no longer matches its sha256 is a miss: compute instead, and say so.
        const warning = `cache entry of run ${hit.source.run_id} unusable: ${toDataProcessorError(error).message}`;
        return { ...blank, warnings: [warning], status: 'error', error: warning, error_code: 'STORAGE_IO' };
      }
    };
    emit({ type: 'stage_started', stage: name });
    const early = await adopt();
    if (early && early.status !== 'error') return record(early);
    // R-ORC-5: one computation per key at a time across runs and workers. A run that finds the key
    // claimed waits (without blocking its other stages) and then takes the other run's artifacts.
    const claims = join(store.root, platformId, videoId, CLAIMS_DIR);
    await mkdir(claims, { recursive: true });
    const waitMs = (settings.dependency_expected_sec + settings.dependency_grace_sec) * 1000;
    const claim = join(claims, key);
    let claimed = false;
    try {
      return await withLock(
        claim,
        async () => {
          claimed = true;
          const late = early ? null : await adopt();
          if (late && late.status !== 'error') return record(late);
          const entry = await compute(startedAt);
          const unusable = (early ?? late)?.warnings ?? [];
          return record({ ...entry, idempotency_key: key, warnings: [...unusable, ...entry.warnings] });
        },
        { timeoutMs: waitMs },
      );
    } catch (error) {
      // Only a wait that never got the claim is a DEPENDENCY_TIMEOUT; anything else is the stage's own failure.
      if (claimed) throw error;
      const failure = toDataProcessorError(error);
      if (failure.code !== 'STORAGE_IO') throw failure;
      return record({
        ...blank,
        status: 'error',
        idempotency_key: key,
        started_at: startedAt.toISOString(),
        finished_at: new Date().toISOString(),
        duration_ms: Date.now() - startedAt.getTime(),
        error: `another run is computing ${name} (key ${key.slice(0, 12)}…) and it did not finish within ${settings.dependency_expected_sec} s + ${settings.dependency_grace_sec} s grace`,
        error_code: 'DEPENDENCY_TIMEOUT',
      });
    }
  };
  const finishStage = (entry: ManifestComponent): void => {
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
  };

  // Segmenter
  const segmenterBlank = blankEntry(
    SEGMENTER,
    'segmenter',
    SEGMENTER_VERSION,
    SEGMENTER_SCHEMA_VERSION,
    true,
  );
  let segmented: { frames: FramesMetadata; audio: AudioMetadata } | null = null;
  let segEntry: ManifestComponent;
  try {
    segEntry = await resolveStage(segmenterBlank, async (startedAt) => {
      probe ??= await probeInput();
      const result = await runSegmenter({
        probe,
        identity,
        runDir,
        budgets,
        minHeights,
        config: segmenterConfig,
        ...(request.signal ? { signal: request.signal } : {}),
        onProgress: (done, total) => emit({ type: 'stage_progress', stage: SEGMENTER, done, total }),
      });
      segmented = result;
      return {
        ...segmenterBlank,
        status: 'ok',
        started_at: startedAt.toISOString(),
        finished_at: new Date().toISOString(),
        duration_ms: Date.now() - startedAt.getTime(),
        artifacts: result.artifacts,
        device_used: 'cpu',
        batch_size: result.frames.batch_size,
        model_signature: modelSignature([]),
        notes: `${result.frames.total_frames} union frames of ${result.frames.source_total_frames}; ${result.frames.analysis_width}x${result.frames.analysis_height}; audio: ${result.audio.has_audio ? 'yes' : 'none'}`,
      };
    });
  } catch (error) {
    const failure = toDataProcessorError(error);
    segEntry = {
      ...segmenterBlank,
      status: 'error',
      error: failure.message,
      error_code: failure.code,
      idempotency_key: keys.get(SEGMENTER) ?? null,
    };
  }
  if (segEntry.status === 'error') {
    const code = segEntry.error_code ?? 'INTERNAL';
    if (code === 'INPUT_UNREADABLE' && !previous) {
      // The input was never a valid video: leave nothing that could be taken for a result (R-SEG-2).
      finishStage(segEntry);
      await stateWriter.close().catch(() => undefined);
      stateWriter = null;
      await store.removeRun(runDir);
    } else {
      await updateManifest(runDir, {
        run: { ...touch(), status: 'error', error: segEntry.error, error_code: code },
        components: [segEntry],
      });
      finishStage(segEntry);
      emit({
        type: 'run_finished',
        run_dir: runDir,
        status: 'error',
        duration_ms: performance.now() - started,
      });
      await stateWriter.close();
    }
    throw new DataProcessorError(code, segEntry.error ?? 'the Segmenter failed');
  }
  // A kept or reused Segmenter output is read back from the run's own (verified) files.
  const segmentation = segmented ?? {
    frames: await readFramesMetadata(runDir),
    audio: await readAudioMetadata(runDir),
  };
  finishStage(segEntry);

  const audio: AudioAccess = {
    hasAudio: segmentation.audio.has_audio,
    wavPath: segmentation.audio.file ? resolve(runDir, AUDIO_DIR, segmentation.audio.file) : null,
    sampleRate: segmentation.audio.sample_rate,
    channels: segmentation.audio.channels,
    durationSec: segmentation.audio.duration_sec,
  };

  // Components as the graph allows (R-ORC-1): each starts once what it reads is done, within the
  // resource limits. A component whose dependency failed or was skipped is skipped; after a
  // required failure nothing new starts (R-ORC-2 fail-fast), so the rest are recorded as skipped.
  const controller = new AbortController();
  request.signal?.addEventListener('abort', () => controller.abort(), { once: true });
  const entries = new Map<string, ManifestComponent>();
  let stopReason: string | null = null;
  await runScheduled(
    order.map((name) => {
      const { component } = byName.get(name) as (typeof components)[number];
      return {
        name,
        dependsOn: dependenciesOf(name).filter((d) => byName.has(d)),
        memoryMb: component.resources.memoryMbPerUnit * component.resources.maxBatch,
      };
    }),
    { maxParallel: settings.max_parallel_components, memoryBudgetMb: settings.memory_budget_mb },
    async ({ name }) => {
      const { component, required } = byName.get(name) as (typeof components)[number];
      const blank = blankEntry(
        component.name,
        component.kind,
        component.version,
        component.schema.schemaVersion,
        required,
      );
      const blocked = dependenciesOf(name)
        .map((d) => entries.get(d))
        .find((e) => e && (e.status === 'error' || e.status === 'skipped'));
      let entry: ManifestComponent;
      const modelProblem = modelProblems.get(name);
      if (!stopReason && !blocked && modelProblem) {
        emit({ type: 'stage_started', stage: name });
        const now = new Date().toISOString();
        entry = await record({
          ...blank,
          status: 'error',
          started_at: now,
          finished_at: now,
          duration_ms: 0,
          error: modelProblem.message,
          error_code: modelProblem.code,
        });
      } else if (stopReason || blocked) {
        entry = await record({
          ...blank,
          idempotency_key: keys.get(name) ?? null,
          notes: blocked
            ? `skipped: dependency ${blocked.name} is ${blocked.status}`
            : `skipped: ${stopReason}`,
        });
      } else {
        entry = await resolveStage(blank, async () => {
          if (component.budget) await verifyFramesOnce();
          return runComponent(component, required, componentConfigs[component.name], {
            store,
            runDir,
            identity,
            frames: segmentation.frames,
            audio,
            signal: controller.signal,
            emit,
            maxRetries,
            fault: request.faults?.[name],
            models: modelPlans.has(name)
              ? mappedModelAccess(createModelAccess(modelSystem), modelPlans.get(name)?.mapping ?? [])
              : undefined,
          });
        }).catch((error: unknown) => {
          const failure = toDataProcessorError(error);
          return record({ ...blank, status: 'error', error: failure.message, error_code: failure.code });
        });
      }
      entries.set(name, entry);
      if (entry.status === 'error' && entry.required && !stopReason)
        stopReason = `required component ${entry.name} failed`;
      finishStage(entry);
      return entry;
    },
  );
  const failedRequired = [...entries.values()].find((e) => e.status === 'error' && e.required);
  manifest = await updateManifest(runDir, {
    run: {
      ...touch(),
      status: failedRequired ? 'error' : 'ok',
      error: failedRequired ? `${failedRequired.name}: ${failedRequired.error}` : null,
      error_code: failedRequired?.error_code ?? null,
    },
  });
  const status = failedRequired ? 'error' : 'ok';
  // R-PRV-2: the raw-text handoffs live only as long as the run, unless the raw policy keeps them.
  if (!request.storeRawPayload) await removeScratch(runDir);
  emit({ type: 'run_finished', run_dir: runDir, status, duration_ms: performance.now() - started });
  // The event log and checkpoints are complete before the run is reported done.
  await stateWriter.close();
  return { runDir, identity, manifest, status };
}

function segmenterBlankOf(): ManifestComponent {
  return blankEntry(SEGMENTER, 'segmenter', SEGMENTER_VERSION, SEGMENTER_SCHEMA_VERSION, true);
}

function withProfileStore<T>(path: string, use: (store: ProfileStore) => T): T {
  const store = ProfileStore.open(path);
  try {
    return use(store);
  } finally {
    store.close();
  }
}

/** Where runs of one video claim the keys they are computing (R-ORC-5); not a run (ids cannot start with `_`). */
export const CLAIMS_DIR = '_claims';

/** Removes the `_tmp_*` scratch directories of a run (R-ST-1: never results). */
async function removeScratch(runDir: string): Promise<void> {
  for (const entry of await readdir(runDir, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name.startsWith('_tmp_'))
      await rm(join(runDir, entry.name), { recursive: true, force: true });
  }
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

function parseConfig<T>(
  section: string,
  schema: {
    safeParse(
      input: unknown,
    ):
      | { success: true; data: T }
      | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  input: unknown,
): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const what = parsed.error.issues
      .map((i) => `${[section, ...i.path.map(String)].join('.')}: ${i.message}`)
      .join('; ');
    throw new DataProcessorError('INPUT_INVALID', `Invalid configuration: ${what}.`);
  }
  return parsed.data;
}
