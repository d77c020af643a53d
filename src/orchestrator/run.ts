import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  ContractViolationError,
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
  type Component,
  type ComponentContext,
  type Manifest,
  type ErrorCode,
  type ManifestComponent,
  type RunIdentity,
} from '../contracts/index.js';
import { COMPONENTS, componentByName } from '../processors/index.js';
import {
  SAMPLING_POLICY_VERSION,
  SEGMENTER_VERSION,
  checkDuration,
  frameAccessFor,
  probeVideo,
  resolveTool,
  runSegmenter,
  segmenterConfigSchema,
  type SegmenterResult,
} from '../segmenter/index.js';
import { LocalResultStore, sha256File, updateManifest } from '../storage/index.js';
import { writeComponentArtifact } from './artifact-writer.js';
import type { RunEventListener } from './events.js';
import { checkAgainstRegistry, loadGraph, topologicalLevels } from './graph.js';
import { resolveProfile, type Profile } from './profiles.js';
import { RunStateWriter } from './state.js';

export interface RunRequest {
  videoPath: string;
  /** Root of the result store. */
  storeRoot: string;
  platformId?: string;
  videoId?: string;
  runId?: string;
  /** A profile name, or a profile given in full (API callers and tests). */
  profile?: string | Profile;
  /**
   * Fault injection for tests of the error paths (API only, never from the CLI): the named
   * component throws `code` on its first `times` attempts instead of running.
   */
  faults?: Readonly<Record<string, { code: ErrorCode; times: number }>>;
  /** R-ORC-6: retries of a component after a transient (retryable) error; default 2. */
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

function blankEntry(
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
    retries: 0,
    required,
  };
}

/**
 * The canonical entry point for one video (R-ORC-1): validates ids and input before anything is
 * created, forms the run identity once, runs the Segmenter, then the profile's components
 * (independent ones concurrently), and keeps the manifest current after every stage.
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
  const runId = validateId('--run-id', request.runId ?? defaultRunId());

  const profile =
    typeof request.profile === 'object' ? request.profile : resolveProfile(request.profile ?? 'default');
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
  const levels = topologicalLevels(
    generation,
    components.map(({ component }) => component.name),
  );
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
  const probe = await probeVideo(videoPath, {
    timeoutMs: segmenterConfig.probe_timeout_sec * 1000,
    maxFileBytes: segmenterConfig.max_file_bytes,
    maxDurationSec: segmenterConfig.max_duration_sec,
    memoryLimitMb: segmenterConfig.decode_memory_limit_mb,
  });
  checkDuration(probe, segmenterConfig.min_duration_sec, segmenterConfig.max_duration_sec);
  const videoId = request.videoId ?? defaultVideoId(await sha256File(videoPath));

  const budgets = new Map(
    components
      .filter(({ component }) => component.budget)
      .map(({ component }) => [component.name, component.budget!]),
  );
  // R-ID-2: everything that changes results is in the effective config, so in its hash.
  const effectiveConfig = {
    profile: profile.name,
    profile_components: profile.components,
    generation: profile.generation,
    segmenter: segmenterConfig,
    components: componentConfigs,
    sampling: {
      policy: SAMPLING_POLICY_VERSION,
      budgets: Object.fromEntries(budgets),
      min_heights: Object.fromEntries(
        components
          .filter(({ component }) => component.minHeight)
          .map(({ component }) => [component.name, component.minHeight]),
      ),
    },
    models: {},
  };
  const identity: RunIdentity = {
    platform_id: platformId,
    video_id: videoId,
    run_id: runId,
    config_hash: computeConfigHash(effectiveConfig),
    sampling_policy_version: SAMPLING_POLICY_VERSION,
    dataprocessor_version: dataprocessorVersion().version,
  };

  const store = new LocalResultStore(resolve(request.storeRoot));
  const runDir = store.runDir(platformId, videoId, runId);
  if (existsSync(runDir)) {
    throw new DataProcessorError(
      'INPUT_INVALID',
      `Run ${platformId}/${videoId}/${runId} already exists at ${runDir}; choose another --run-id.`,
    );
  }
  await mkdir(runDir, { recursive: true });
  const now = new Date().toISOString();
  const stageNames = ['segmenter', ...components.map(({ component }) => component.name)];
  const base: Manifest = {
    schema_version: MANIFEST_SCHEMA_VERSION,
    run: {
      ...identity,
      created_at: now,
      updated_at: now,
      frames_dir: FRAMES_DIR,
      root_path: runDir,
      profile: profile.name,
      models: {},
      status: 'running',
      error: null,
      error_code: null,
    },
    components: [
      blankEntry('segmenter', 'segmenter', SEGMENTER_VERSION, SEGMENTER_SCHEMA_VERSION, true),
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
  let manifest = await updateManifest(runDir, {}, base);
  const processorOf = new Map<string, string>([
    ['segmenter', 'segmenter'],
    ...components.map(({ component }): [string, string] => [component.name, component.processor]),
  ]);
  stateWriter = new RunStateWriter(runDir, runId, (stage) => processorOf.get(stage) ?? 'unknown');
  emit({ type: 'run_started', run_dir: runDir, run_id: runId, video_id: videoId, stages: stageNames });

  const touch = (): { updated_at: string } => ({ updated_at: new Date().toISOString() });

  // Segmenter
  emit({ type: 'stage_started', stage: 'segmenter' });
  const segStart = new Date();
  let segmented: SegmenterResult;
  try {
    segmented = await runSegmenter({
      probe,
      identity,
      runDir,
      budgets,
      minHeights: new Map(
        components
          .filter(({ component }) => component.minHeight)
          .map(({ component }) => [component.name, component.minHeight!]),
      ),
      config: segmenterConfig,
      ...(request.signal ? { signal: request.signal } : {}),
      onProgress: (done, total) => emit({ type: 'stage_progress', stage: 'segmenter', done, total }),
    });
  } catch (error) {
    const failure = toDataProcessorError(error);
    if (failure.code === 'INPUT_UNREADABLE') {
      // The input was never a valid video: leave nothing that could be taken for a result (R-SEG-2).
      await stateWriter.close().catch(() => undefined);
      stateWriter = null;
      await store.removeRun(runDir);
    } else {
      await updateManifest(runDir, {
        run: { ...touch(), status: 'error', error: failure.message, error_code: failure.code },
        components: [
          {
            ...blankEntry('segmenter', 'segmenter', SEGMENTER_VERSION, SEGMENTER_SCHEMA_VERSION, true),
            status: 'error',
            error: failure.message,
            error_code: failure.code,
            started_at: segStart.toISOString(),
            finished_at: new Date().toISOString(),
            duration_ms: Date.now() - segStart.getTime(),
          },
        ],
      });
    }
    emit({
      type: 'stage_finished',
      stage: 'segmenter',
      status: 'error',
      duration_ms: Date.now() - segStart.getTime(),
      error_code: failure.code,
      error: failure.message,
      notes: null,
    });
    if (stateWriter) {
      emit({
        type: 'run_finished',
        run_dir: runDir,
        status: 'error',
        duration_ms: performance.now() - started,
      });
      await stateWriter.close();
    }
    throw failure;
  }
  const segEntry: ManifestComponent = {
    ...blankEntry('segmenter', 'segmenter', SEGMENTER_VERSION, SEGMENTER_SCHEMA_VERSION, true),
    status: 'ok',
    started_at: segStart.toISOString(),
    finished_at: new Date().toISOString(),
    duration_ms: Date.now() - segStart.getTime(),
    artifacts: segmented.artifacts,
    device_used: 'cpu',
    batch_size: segmented.frames.batch_size,
    notes: `${segmented.frames.total_frames} union frames of ${segmented.frames.source_total_frames}; ${segmented.frames.analysis_width}x${segmented.frames.analysis_height}; audio: ${segmented.audio.has_audio ? 'yes' : 'none'}`,
  };
  manifest = await updateManifest(runDir, { run: touch(), components: [segEntry] });
  emit({
    type: 'stage_finished',
    stage: 'segmenter',
    status: 'ok',
    duration_ms: segEntry.duration_ms ?? 0,
    error_code: null,
    error: null,
    notes: segEntry.notes,
  });

  const audio: AudioAccess = {
    hasAudio: segmented.audio.has_audio,
    wavPath: segmented.audio.file ? resolve(runDir, 'audio', segmented.audio.file) : null,
    sampleRate: segmented.audio.sample_rate,
    channels: segmented.audio.channels,
    durationSec: segmented.audio.duration_sec,
  };

  // Components level by level (R-ORC-1): a level's components run concurrently. A component whose
  // dependency failed or was skipped is skipped; after a required failure nothing new starts
  // (R-ORC-2 fail-fast), so the remaining components are recorded as skipped.
  const controller = new AbortController();
  request.signal?.addEventListener('abort', () => controller.abort(), { once: true });
  const byName = new Map(components.map((c) => [c.component.name, c]));
  // R-ORC-3 keys, in dependency order: a component's key covers its own share of the config and
  // its dependencies' keys, so a config change re-keys exactly that component and its dependants.
  const keys = new Map<string, string>();
  for (const name of levels.flat()) {
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
        model_signature: modelSignature([]),
        dependency_keys: (generation.nodes.get(name)?.dependsOn ?? []).flatMap((d) => keys.get(d) ?? []),
      }),
    );
  }
  const entries: ManifestComponent[] = [];
  let stopReason: string | null = null;
  for (const level of levels) {
    const results = await Promise.all(
      level.map(async (name) => {
        const { component, required } = byName.get(name) as (typeof components)[number];
        const blocked = (generation.nodes.get(name)?.dependsOn ?? [])
          .map((d) => entries.find((e) => e.name === d))
          .find((e) => e && (e.status === 'error' || e.status === 'skipped'));
        let entry: ManifestComponent;
        if (stopReason || blocked) {
          entry = {
            ...blankEntry(
              component.name,
              component.kind,
              component.version,
              component.schema.schemaVersion,
              required,
            ),
            notes: blocked
              ? `skipped: dependency ${blocked.name} is ${blocked.status}`
              : `skipped: ${stopReason}`,
          };
          emit({
            type: 'stage_finished',
            stage: name,
            status: 'skipped',
            duration_ms: 0,
            error_code: null,
            error: null,
            notes: entry.notes,
          });
        } else {
          entry = await runComponent(component, required, componentConfigs[component.name], {
            store,
            runDir,
            identity,
            frames: segmented.frames,
            audio,
            signal: controller.signal,
            emit,
            maxRetries: request.maxRetries ?? DEFAULT_MAX_RETRIES,
            fault: request.faults?.[name],
          });
        }
        entry.idempotency_key = keys.get(name) ?? null;
        entry.model_signature = modelSignature(entry.models_used);
        manifest = await updateManifest(runDir, { run: touch(), components: [entry] });
        return entry;
      }),
    );
    entries.push(...results);
    const failed = results.find((e) => e.status === 'error' && e.required);
    if (failed && !stopReason) stopReason = `required component ${failed.name} failed`;
  }
  const failedRequired = entries.find((e) => e.status === 'error' && e.required);
  manifest = await updateManifest(runDir, {
    run: {
      ...touch(),
      status: failedRequired ? 'error' : 'ok',
      error: failedRequired ? `${failedRequired.name}: ${failedRequired.error}` : null,
      error_code: failedRequired?.error_code ?? null,
    },
  });
  const status = failedRequired ? 'error' : 'ok';
  emit({ type: 'run_finished', run_dir: runDir, status, duration_ms: performance.now() - started });
  // The event log and checkpoints are complete before the run is reported done.
  await stateWriter.close();
  return { runDir, identity, manifest, status };
}

interface ComponentRunEnv {
  store: LocalResultStore;
  runDir: string;
  identity: RunIdentity;
  frames: SegmenterResult['frames'];
  audio: AudioAccess;
  signal: AbortSignal;
  emit: RunEventListener;
  maxRetries: number;
  fault: { code: ErrorCode; times: number } | undefined;
}

/** R-ORC-6: transient errors are retried this many times by default, with exponential backoff. */
export const DEFAULT_MAX_RETRIES = 2;
const RETRY_BASE_DELAY_MS = 200;
/** OOM is handled by the batch policy inside a component (R-BAT-3), not by re-running it whole. */
const NOT_RETRIED_HERE = new Set<ErrorCode>(['OOM']);

async function runComponent(
  component: Component,
  required: boolean,
  config: unknown,
  env: ComponentRunEnv,
): Promise<ManifestComponent> {
  const startedAt = new Date();
  env.emit({ type: 'stage_started', stage: component.name });
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
      if (env.fault && attempt < env.fault.times) {
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
      };
      const result = await component.run(ctx);
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
  env.emit({
    type: 'stage_finished',
    stage: component.name,
    status: entry.status,
    duration_ms: entry.duration_ms,
    error_code: entry.error_code,
    error: entry.error,
    notes: entry.notes,
  });
  return entry;
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
