import { resolve } from 'node:path';
import {
  ContractViolationError,
  DataProcessorError,
  computeConfigHash,
  dataprocessorVersion,
  defaultRunId,
  defaultVideoId,
  idempotencyKey,
  modelSignature,
  sha256Hex,
  toDataProcessorError,
  validateId,
  type Component,
  type ComponentModel,
  type RunIdentity,
  type VideoDocument,
} from '../contracts/index.js';
import {
  plannedModelSignature,
  type BatchCoalescer,
  type ModelSystemOptions,
  type Runtime,
} from '../models/index.js';
import { COMPONENTS } from '../processors/index.js';
import {
  SAMPLING_POLICY_VERSION,
  SEGMENTER_VERSION,
  checkDuration,
  checkInputFile,
  probeVideo,
  resolveTool,
  segmenterConfigSchema,
  type SegmenterConfig,
  type VideoProbe,
} from '../segmenter/index.js';
import { openResultStore, sha256File, type ResultStore } from '../storage/index.js';
import { findCacheHit } from './cache.js';
import { orchestratorConfigSchema, type OrchestratorConfig } from './config.js';
import {
  checkAgainstRegistry,
  loadGraph,
  topologicalLevels,
  type ComponentGraph,
  type GraphGeneration,
} from './graph.js';
import { PLAN_VERSION, runPlanSchema, type PlanStage, type RunPlan } from './plan.js';
import { ProfileStore, defaultDatabasePath, type Profile, type ProfileModel } from './profiles.js';

/** What a caller asks for: one video through a profile (the CLI's `run`, the API's submit). */
export interface RunRequest {
  videoPath: string;
  /** Root of the result store. */
  storeRoot: string;
  platformId?: string;
  videoId?: string;
  runId?: string;
  /** A profile name (looked up in the profile database), or a profile given in full. */
  profile?: string | Profile;
  /** The profile database (R-MOD-4); default `defaultDatabasePath()`. */
  databasePath?: string;
  /**
   * Ad-hoc selection (`run --components a,b`): exactly these components of the profile's graph
   * generation, each required, plus the components they depend on. Replaces the profile's list.
   */
  components?: readonly string[];
  /** `cpu`, `cuda:N` or `auto` for every model of every component (`run --device`); in the config hash. */
  device?: string;
  /** Per-section overrides of the effective config (`run --set`): `segmenter`, `components.<name>`. */
  config?: { segmenter?: Record<string, unknown>; components?: Record<string, Record<string, unknown>> };
  /** The video's text (title, description, tags, transcript, comments); in the config hash by sha256 only. */
  document?: VideoDocument | null;
  /**
   * R-ORC-4: continue the existing run `runId` after an interruption. Finished components are kept;
   * the effective config must be the one the run started with.
   */
  resume?: boolean;
  /** R-PRV-1/2: keep the run's `_tmp_*` scratch (raw-text handoffs) after the run. */
  storeRawPayload?: boolean;
  /** R-ORC-3: false forces recomputation (`--no-cache`). */
  useCache?: boolean;
  /** R-ORC-6: retries after a transient error; overrides `orchestrator.max_retries`. */
  maxRetries?: number;
  /** How the orchestrator runs (not part of the config hash). */
  orchestrator?: Partial<OrchestratorConfig>;
}

/** The parts a run is compiled and executed with (ports; every one has a default). */
export interface RunEnvironment {
  /** @defaultValue a `LocalResultStore` at the request's `storeRoot` */
  store?: ResultStore;
  /** Registry, model store and default runtime of the model system. */
  modelSystem?: ModelSystemOptions;
  /**
   * Runtimes a profile's model mapping may name (R-MOD-5). A mapping naming one that is not
   * configured is INPUT_INVALID at compile time, never ignored. @defaultValue in-process only
   */
  runtimes?: Partial<Record<'inprocess' | 'triton', Runtime>>;
  /** The component registry. @defaultValue every registered component */
  components?: readonly Component[];
  /** The component graph (R-ORC-1). @defaultValue the shipped `docs/component_graph.yaml` */
  graph?: ComponentGraph;
  /**
   * Cross-video batching (R-BAT-4): a coalescer shared by the runs this process executes at once;
   * model calls of this run may share batches with theirs. @defaultValue none
   */
  coalescer?: BatchCoalescer;
}

const SEGMENTER = 'segmenter';
export const SEGMENTER_SCHEMA_VERSION = '1.0';

/** The Segmenter's config as its stage carries it. */
export interface SegmenterStageConfig {
  segmenter: SegmenterConfig;
  budgets: Record<string, { min: number; targetPerMinute: number; max: number }>;
  min_heights: Record<string, number>;
}

/**
 * Compile (R-ORC-1): validates ids, the input, the profile and every config; forms the run
 * identity once; plans each stage's models and idempotency key. Reads the store (the resumed run,
 * the cache) but writes nothing: a bad request leaves no trace. Throws DataProcessorError with the
 * code a caller reports (INPUT_INVALID, INPUT_UNREADABLE, INPUT_TOO_SHORT/LONG, TOOL_MISSING …).
 */
export async function compileRun(request: RunRequest, env: RunEnvironment = {}): Promise<RunPlan> {
  // R-PRV-3: a deletion of the video from this moment on stops the run, even before it executes.
  const compiledAt = new Date().toISOString();
  const registry = env.components ?? COMPONENTS;
  // R-ID-4 / R-SEC-3: ids are checked before any path is built from them.
  const platformId = validateId('--platform-id', request.platformId ?? 'local');
  if (request.videoId !== undefined) validateId('--video-id', request.videoId);
  if (request.resume && request.runId === undefined)
    throw new DataProcessorError('INPUT_INVALID', 'Resuming needs the --run-id of the run to resume.');
  const runId = validateId('--run-id', request.runId ?? defaultRunId());
  const settings = parseConfig('orchestrator', orchestratorConfigSchema, request.orchestrator ?? {});
  const device = request.device === undefined ? undefined : parseDevice(request.device);

  const profile =
    typeof request.profile === 'object'
      ? request.profile
      : withProfileStore(request.databasePath ?? defaultDatabasePath(), (db) =>
          db.resolve(typeof request.profile === 'string' ? request.profile : 'default'),
        );
  const generation = activeGeneration(profile, registry, env.graph ?? loadGraph());
  const byName = new Map(registry.map((c) => [c.name, c]));
  const selected = selectComponents(profile, generation, byName, request.components);
  const present = new Set(selected.map((s) => s.component.name));
  // Topological order: ready components start in this order, so runs are reproducible.
  const order = topologicalLevels(generation, [...present]).flat();
  const entryOf = new Map(selected.map((s) => [s.component.name, s]));

  const segmenterConfig = parseConfig('segmenter', segmenterConfigSchema, request.config?.segmenter ?? {});
  for (const name of Object.keys(request.config?.components ?? {})) {
    if (!present.has(name))
      throw new DataProcessorError(
        'INPUT_INVALID',
        `--set names component ${name}, which is not in this run (${[...present].join(', ')}).`,
      );
  }
  const componentConfigs = Object.fromEntries(
    order.map((name) => {
      const component = byName.get(name) as Component;
      const overrides = rawPolicyOf(
        component,
        request.config?.components?.[name] ?? {},
        request.storeRawPayload,
      );
      return [name, parseConfig(name, component.configSchema, overrides)];
    }),
  );

  // R-SEG-2: tools first, then the input; nothing is created before both pass.
  resolveTool('ffmpeg');
  resolveTool('ffprobe');
  const videoPath = resolve(request.videoPath);
  const inputBytes = await checkInputFile(videoPath, segmenterConfig.max_file_bytes);
  const inputSha256 = await sha256File(videoPath);
  const videoId = request.videoId ?? defaultVideoId(inputSha256);

  const frameReaders = order.map((n) => byName.get(n) as Component).filter((c) => c.budget);
  const segmenterStageConfig: SegmenterStageConfig = {
    segmenter: segmenterConfig,
    budgets: Object.fromEntries(frameReaders.map((c) => [c.name, c.budget!])),
    min_heights: Object.fromEntries(
      frameReaders.filter((c) => c.minHeight).map((c) => [c.name, c.minHeight!]),
    ),
  };
  const sampling = {
    policy: SAMPLING_POLICY_VERSION,
    budgets: segmenterStageConfig.budgets,
    min_heights: segmenterStageConfig.min_heights,
  };
  const document = request.document ?? null;
  // R-ID-2: everything that changes results is in the effective config, so in its hash.
  const effectiveConfig: Record<string, unknown> = {
    profile: profile.name,
    profile_components: selected.map((s) => ({ name: s.component.name, required: s.required })),
    selection: request.components ? [...request.components].sort() : null,
    generation: profile.generation,
    segmenter: segmenterConfig,
    components: componentConfigs,
    sampling,
    models: profile.models ?? {},
    device: device ?? null,
    document_sha256: document ? sha256Hex(JSON.stringify(document)) : null,
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
  // of the config and its dependencies' keys, so a config change re-keys exactly that component
  // and its dependants.
  const keys = new Map<string, string>();
  const segmenterKey = idempotencyKey({
    platform_id: platformId,
    video_id: videoId,
    component: SEGMENTER,
    config_hash: computeConfigHash({ input_sha256: inputSha256, segmenter: segmenterConfig, sampling }),
    sampling_policy_version: SAMPLING_POLICY_VERSION,
    producer_version: SEGMENTER_VERSION,
    schema_version: SEGMENTER_SCHEMA_VERSION,
    model_signature: modelSignature([]),
    dependency_keys: [],
  });
  keys.set(SEGMENTER, segmenterKey);

  const stages: PlanStage[] = [
    {
      name: SEGMENTER,
      kind: 'segmenter',
      processor: 'segmenter',
      producer_version: SEGMENTER_VERSION,
      schema_version: SEGMENTER_SCHEMA_VERSION,
      required: true,
      depends_on: [],
      optional_inputs: [],
      key: segmenterKey,
      config: segmenterStageConfig,
      models: null,
      model_problem: null,
      memory_mb: 0,
    },
  ];
  for (const name of order) {
    const component = byName.get(name) as Component;
    const node = generation.nodes.get(name);
    const dependsOn = (node?.dependsOn ?? []).filter((d) => d === SEGMENTER || present.has(d));
    const optionalInputs = (node?.optionalDependsOn ?? []).filter((d) => present.has(d));
    // R-MOD-2/4: the models it will load (its declaration, overridden by the profile's mapping and
    // --device), and their signature before anything runs: part of the key; a model that is not
    // installed or a device that is not there fails the component now.
    const declared = component.models?.(componentConfigs[name]) ?? [];
    let models: PlanStage['models'] = null;
    let modelProblem: PlanStage['model_problem'] = null;
    if (declared.length > 0) {
      const mapping = applyDevice(applyProfileMapping(declared, profile.models?.[name]), device);
      try {
        const planned = await plannedModelSignature(mapping, modelSystemFor(mapping, env));
        models = { mapping, models_used: planned.modelsUsed, signature: planned.modelSignature };
      } catch (error) {
        const failure = toDataProcessorError(error);
        if (failure.code === 'INPUT_INVALID') throw failure;
        modelProblem = { error_code: failure.code, message: failure.message };
      }
    }
    const scope = {
      component: componentConfigs[name],
      segmenter: segmenterConfig,
      sampling: {
        policy: SAMPLING_POLICY_VERSION,
        budget: component.budget ?? null,
        min_height: component.minHeight ?? null,
      },
      // What a text component reads from the run's document is part of its input.
      document_sha256: component.processor === 'text' ? effectiveConfig.document_sha256 : null,
    };
    const key = idempotencyKey({
      platform_id: platformId,
      video_id: videoId,
      component: name,
      config_hash: computeConfigHash(scope),
      sampling_policy_version: SAMPLING_POLICY_VERSION,
      producer_version: component.version,
      schema_version: component.schema.schemaVersion,
      model_signature: models?.signature ?? modelSignature([]),
      dependency_keys: [...dependsOn, ...optionalInputs].flatMap((d) => keys.get(d) ?? []),
    });
    keys.set(name, key);
    stages.push({
      name,
      kind: component.kind,
      processor: component.processor,
      producer_version: component.version,
      schema_version: component.schema.schemaVersion,
      required: entryOf.get(name)?.required ?? true,
      depends_on: dependsOn,
      optional_inputs: optionalInputs,
      key,
      config: componentConfigs[name],
      models,
      model_problem: modelProblem,
      memory_mb: component.resources.memoryMbPerUnit * component.resources.maxBatch,
    });
  }

  const store = env.store ?? (await openResultStore(request.storeRoot));
  const runDir = store.runDir(platformId, videoId, runId);
  await checkRunTarget(store, runDir, identity, Boolean(request.resume));
  // A Segmenter output cached from the same bytes under the same Segmenter config (caps and
  // duration limits included) proves that the input passed the same checks; otherwise the input
  // is probed and checked now, before a run exists (R-SEG-1/2).
  const useCache = request.useCache ?? true;
  const segmenterHit =
    useCache && !request.resume
      ? await findCacheHit({
          store,
          identity,
          component: SEGMENTER,
          key: segmenterKey,
          ttlMs: settings.cache_ttl_days * 86_400_000,
        })
      : null;
  if (!segmenterHit)
    rememberProbe(videoPath, inputSha256, segmenterConfig, await probeInput(videoPath, segmenterConfig));

  return runPlanSchema.parse({
    plan_version: PLAN_VERSION,
    identity,
    compiled_at: compiledAt,
    store_root: store.location,
    run_dir: runDir,
    input: { path: videoPath, sha256: inputSha256, bytes: inputBytes },
    profile: { name: profile.name, generation: profile.generation },
    effective_config: effectiveConfig,
    stages,
    document,
    options: {
      resume: Boolean(request.resume),
      use_cache: useCache,
      store_raw_payload: Boolean(request.storeRawPayload),
      max_retries: request.maxRetries ?? settings.max_retries,
      orchestrator: settings,
    },
  } satisfies RunPlan);
}

/** The active graph generation a profile runs on, checked against the code (R-ORC-1, R-ARC-2). */
function activeGeneration(
  profile: Profile,
  registry: readonly Component[],
  graph: ComponentGraph,
): GraphGeneration {
  const generation = graph.get(profile.generation);
  if (!generation || generation.status !== 'active') {
    throw new DataProcessorError(
      'INPUT_INVALID',
      `Profile ${profile.name} needs generation "${profile.generation}", which is not an active generation of the component graph.`,
    );
  }
  const problems = checkAgainstRegistry(generation, registry);
  if (problems.length > 0)
    throw new ContractViolationError(`component graph and code disagree: ${problems.join('; ')}`);
  return generation;
}

/**
 * The components of a run: the profile's, or an ad-hoc selection plus what it depends on (each
 * required). Unknown names and names outside the generation are INPUT_INVALID.
 */
function selectComponents(
  profile: Profile,
  generation: GraphGeneration,
  byName: ReadonlyMap<string, Component>,
  selection: readonly string[] | undefined,
): { component: Component; required: boolean }[] {
  const known = [...generation.nodes.keys()].filter((n) => n !== SEGMENTER);
  const lookup = (name: string, why: string): Component => {
    const component = byName.get(name);
    if (!component || !generation.nodes.has(name)) {
      throw new DataProcessorError(
        'INPUT_INVALID',
        `${why} names "${name}", which is not a component of generation "${generation.name}"; known: ${known.join(', ')}.`,
      );
    }
    return component;
  };
  if (selection === undefined) {
    const listed = profile.components.map((pc) => ({
      component: lookup(pc.name, `Profile ${profile.name}`),
      required: pc.required,
    }));
    // R-DEP-1: a component whose hard dependency is not in the run could only fail; say so now.
    const names = new Set(listed.map((l) => l.component.name));
    for (const { component } of listed) {
      const lacking = (generation.nodes.get(component.name)?.dependsOn ?? []).filter(
        (d) => d !== SEGMENTER && !names.has(d),
      );
      if (lacking.length > 0)
        throw new DataProcessorError(
          'INPUT_INVALID',
          `Profile ${profile.name} enables ${component.name}, which depends on ${lacking.join(', ')}, not in the profile; add ${lacking.length > 1 ? 'them' : 'it'}.`,
        );
    }
    return listed;
  }
  if (selection.length === 0)
    throw new DataProcessorError('INPUT_INVALID', '--components names no component.');
  const chosen = new Map<string, Component>();
  const add = (name: string, why: string): void => {
    if (name === SEGMENTER || chosen.has(name)) return;
    chosen.set(name, lookup(name, why));
    for (const dependency of generation.nodes.get(name)?.dependsOn ?? [])
      add(dependency, `${name}'s dependency`);
  };
  for (const name of selection) add(name, '--components');
  return [...chosen.values()].map((component) => ({ component, required: true }));
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
    runtime: override.runtime,
  }));
}

function applyDevice(
  mapping: ComponentModel[],
  device: ComponentModel['device'] | undefined,
): ComponentModel[] {
  return device === undefined ? mapping : mapping.map((m) => ({ ...m, device }));
}

/** The model system a component's mapping runs on: the runtime its mapping names (R-MOD-5). */
export function modelSystemFor(mapping: readonly ComponentModel[], env: RunEnvironment): ModelSystemOptions {
  const wanted = new Set(mapping.map((m) => m.runtime ?? 'inprocess'));
  if (wanted.size > 1)
    throw new DataProcessorError('INPUT_INVALID', 'One component cannot run its models on two runtimes.');
  const kind = [...wanted][0] ?? 'inprocess';
  const runtime = env.runtimes?.[kind] ?? (kind === 'inprocess' ? env.modelSystem?.runtime : undefined);
  if (kind !== 'inprocess' && runtime === undefined) {
    throw new DataProcessorError(
      'INPUT_INVALID',
      `The profile maps ${mapping.map((m) => m.model).join(', ')} to the ${kind} runtime, which this process was not given; start it with --triton-url URL or map the model to inprocess.`,
    );
  }
  return { ...env.modelSystem, ...(runtime ? { runtime } : {}) };
}

function parseDevice(value: string): NonNullable<ComponentModel['device']> {
  if (value === 'cpu' || value === 'auto' || /^cuda:\d+$/.test(value))
    return value as NonNullable<ComponentModel['device']>;
  throw new DataProcessorError('INPUT_INVALID', `--device must be cpu, auto or cuda:N, not "${value}".`);
}

/** The config key of a component that writes raw text only under the run's raw policy (R-PRV-1). */
export const RAW_POLICY_KEY = 'store_raw_payload';

/**
 * R-PRV-1: one switch for raw text — `run --store-raw-payload` (API: `store_raw_payload`). It sets
 * the raw-policy key of every component that has one (so it is in their config hash), and a `--set`
 * of that key which disagrees with the run's policy is INPUT_INVALID rather than silently lost when
 * the run's scratch is removed.
 */
function rawPolicyOf(
  component: Component,
  overrides: Record<string, unknown>,
  storeRawPayload: boolean | undefined,
): Record<string, unknown> {
  const defaults = component.configSchema.safeParse({});
  if (!defaults.success || !(RAW_POLICY_KEY in (defaults.data as object))) return overrides;
  const policy = Boolean(storeRawPayload);
  if (RAW_POLICY_KEY in overrides && overrides[RAW_POLICY_KEY] !== policy)
    throw new DataProcessorError(
      'INPUT_INVALID',
      `components.${component.name}.${RAW_POLICY_KEY} follows the run's raw policy; pass --store-raw-payload (API: store_raw_payload) instead of setting it.`,
    );
  return { ...overrides, [RAW_POLICY_KEY]: policy };
}

/** A resumed run must exist with the same config; a new one must not exist yet. */
async function checkRunTarget(
  store: ResultStore,
  runDir: string,
  identity: RunIdentity,
  resume: boolean,
): Promise<void> {
  const { platform_id, video_id, run_id } = identity;
  const exists = await store.hasRun(runDir);
  if (!resume) {
    if (exists)
      throw new DataProcessorError(
        'INPUT_INVALID',
        `Run ${platform_id}/${video_id}/${run_id} already exists at ${runDir}; choose another --run-id, or --resume it.`,
      );
    return;
  }
  const previous = exists ? await store.readManifest(runDir) : null;
  if (!previous)
    throw new DataProcessorError(
      'INPUT_INVALID',
      `There is no run ${platform_id}/${video_id}/${run_id} to resume at ${runDir}.`,
    );
  if (previous.run.config_hash !== identity.config_hash) {
    throw new DataProcessorError(
      'INPUT_INVALID',
      `Run ${run_id} was started with another configuration (config_hash ${previous.run.config_hash.slice(0, 12)}…, now ${identity.config_hash.slice(0, 12)}…); start a new run instead of resuming it.`,
    );
  }
}

async function probeInput(videoPath: string, config: SegmenterConfig): Promise<VideoProbe> {
  const probed = await probeVideo(videoPath, {
    timeoutMs: config.probe_timeout_sec * 1000,
    maxFileBytes: config.max_file_bytes,
    maxDurationSec: config.max_duration_sec,
    memoryLimitMb: config.decode_memory_limit_mb,
  });
  checkDuration(probed, config.min_duration_sec, config.max_duration_sec);
  return probed;
}

// The last few probes, so that executing a plan compiled in this process does not probe twice.
const probes = new Map<string, VideoProbe>();
const PROBES_KEPT = 4;

function probeKey(videoPath: string, sha256: string, config: SegmenterConfig): string {
  return computeConfigHash({ videoPath, sha256, config });
}

function rememberProbe(videoPath: string, sha256: string, config: SegmenterConfig, probe: VideoProbe): void {
  probes.delete(probeKey(videoPath, sha256, config));
  probes.set(probeKey(videoPath, sha256, config), probe);
  while (probes.size > PROBES_KEPT) probes.delete(probes.keys().next().value as string);
}

/** The input's probe (checked against the Segmenter's limits): remembered from compile, or probed now. */
export async function probeForPlan(
  videoPath: string,
  sha256: string,
  config: SegmenterConfig,
): Promise<VideoProbe> {
  const key = probeKey(videoPath, sha256, config);
  const known = probes.get(key);
  if (known) return known;
  if ((await sha256File(videoPath)) !== sha256)
    throw new DataProcessorError(
      'INPUT_INVALID',
      `${videoPath} changed after the run was planned; submit it again.`,
    );
  const probed = await probeInput(videoPath, config);
  rememberProbe(videoPath, sha256, config, probed);
  return probed;
}

function withProfileStore<T>(path: string, use: (store: ProfileStore) => T): T {
  const store = ProfileStore.open(path);
  try {
    return use(store);
  } finally {
    store.close();
  }
}

/**
 * Validates one config section with its zod schema. Unknown keys and wrongly typed values are
 * INPUT_INVALID naming the key, what it expects, and the keys that exist.
 */
export function parseConfig<T>(
  section: string,
  schema: { safeParse(input: unknown): ZodLikeResult<T> },
  input: unknown,
): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const defaults = schema.safeParse({});
    const known =
      defaults.success && defaults.data && typeof defaults.data === 'object'
        ? Object.keys(defaults.data)
        : [];
    const what = parsed.error.issues
      .map((i) => {
        const at = [section, ...i.path.map(String)].join('.');
        if (i.code === 'unrecognized_keys' && Array.isArray(i.keys))
          return `unknown key ${(i.keys as string[]).map((k) => `${at}.${k}`).join(', ')} (${section} has: ${known.join(', ')})`;
        return `${at}: ${i.message}`;
      })
      .join('; ');
    throw new DataProcessorError('INPUT_INVALID', `Invalid configuration: ${what}.`);
  }
  // Defaults fill every known key, so an input key missing from the result is unknown.
  if (input && typeof input === 'object' && parsed.data && typeof parsed.data === 'object') {
    const known = Object.keys(parsed.data);
    const unknown = Object.keys(input).filter((k) => !known.includes(k));
    if (unknown.length > 0)
      throw new DataProcessorError(
        'INPUT_INVALID',
        `Unknown configuration key ${unknown.map((k) => `${section}.${k}`).join(', ')}; ${section} has: ${known.join(', ')}.`,
      );
  }
  return parsed.data;
}

type ZodLikeResult<T> =
  | { success: true; data: T }
  | {
      success: false;
      error: { issues: { path: PropertyKey[]; message: string; code?: string; keys?: unknown }[] };
    };
