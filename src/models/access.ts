import {
  DataProcessorError,
  modelSignature,
  type BatchingRecord,
  type ModelAccessPort,
  type ModelUsed,
  type ResourceProfile,
} from '../contracts/index.js';
import type { ModelCard, Precision, TensorSpec } from './card.js';
import type { Device, DeviceRequest } from './device.js';
import {
  planBatchSize,
  runBatches,
  type BatchPlanInput,
  type BatchRun,
  type RunBatchesOptions,
} from './batching.js';
import type { ModelRegistry } from './registry.js';
import { createRegistry } from './registry.js';
import { inprocessRuntime } from './runtimes/inprocess.js';
import type { BatchCoalescer, BatchGroup } from './coalescer.js';
import { SessionCache } from './session-cache.js';
import type { EngineSession, Runtime } from './runtimes/types.js';
import { ModelStore, type LocatedModel } from './store.js';
import {
  measuredBatches,
  planMeasuredBatchSize,
  sharedThroughputStore,
  throughputKey,
} from './throughput.js';
import type { Tensor } from './tensor.js';

/** A model ready to run, as components see it. */
export interface LoadedModel {
  readonly card: ModelCard;
  readonly runtime: ModelUsed['runtime'];
  readonly engine: ModelCard['engine'];
  readonly precision: Precision;
  /** The concrete device (never `auto`). */
  readonly device: Device;
  readonly weightsDigest: string;
  /** Directory holding the card's (digest-verified) files, for side files such as a vocabulary. */
  readonly dir: string;
  /** This model's `models_used[]` entry (R-MOD-2). */
  readonly used: ModelUsed;
  /** Its key in the process-wide session cache: `modelSessions.release(sessionKey)` frees it. */
  readonly sessionKey: string;
  /** Calls worth having in flight at once (the runtime's `concurrency`; 1 for most). */
  readonly concurrency: number;
  /**
   * Absolute path of one of the card's files (digest-verified with the model), e.g. a model's
   * `tokenizer.json`. A path the card does not list is CONTRACT_VIOLATION.
   */
  filePath(path: string): string;
  /**
   * Runs one batch: every declared input by name, leading axis = batch. Returns the declared
   * outputs by name. Shapes are checked against the card (fixed dims must match).
   */
  infer(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>>;
}

/** How a component asks for a model. */
export interface LoadOptions {
  version?: string;
  /** @defaultValue the access's default device (`cpu` unless the run says otherwise) */
  device?: DeviceRequest;
  /** Must equal the card's precision: there is no silent conversion. @defaultValue the card's */
  precision?: Precision;
}

/** What a model-calling component receives in `ComponentContext.models`. */
export interface ModelAccess extends ModelAccessPort {
  load(name: string, options?: LoadOptions): Promise<LoadedModel>;
  /** `models_used[]` of every model loaded through this access, in canonical order. */
  used(): ModelUsed[];
  /** `model_signature` of `used()`. */
  signature(): string;
  /** R-BAT-2 planner for this component's resource profile. */
  planBatchSize(profile: ResourceProfile, input: BatchPlanInput): number;
  /** R-BAT-1/3 batch runner (OOM policy included). */
  runBatches<U, R>(
    units: readonly U[],
    runBatch: (batch: readonly U[], offset: number) => Promise<readonly R[]>,
    options: RunBatchesOptions,
  ): Promise<BatchRun<R>>;
}

/** The parts the model system is built from; every field has a default. */
export interface ModelSystemOptions {
  /** @defaultValue `createRegistry()` (builtin cards) */
  registry?: ModelRegistry;
  /** @defaultValue `new ModelStore()` at `defaultModelDir()` */
  store?: ModelStore;
  /** @defaultValue `inprocessRuntime()` */
  runtime?: Runtime;
  /** Device for loads that name none. @defaultValue 'cpu' */
  defaultDevice?: DeviceRequest;
  /**
   * Cross-video batching (R-BAT-4): model calls go through this coalescer under this group, so
   * calls of other videos in the same group may share a batch. @defaultValue none (every call alone)
   */
  crossVideo?: { coalescer: BatchCoalescer; group: BatchGroup };
}

/**
 * One session per (runtime, model, version, device, precision, weights) per process, shared by
 * every access: loading a model costs seconds and its memory should exist once. A memory-bounded
 * LRU (see session-cache.ts): `modelSessions.configure({ maxBytes })`, `release(key)`, `releaseAll()`.
 */
export const modelSessions = new SessionCache();

/** Releases every cached session (tests, and a service between profile changes). */
export async function clearModelSessions(): Promise<void> {
  await modelSessions.releaseAll();
}

/** Number of cached sessions (observability and tests). */
export function cachedSessionCount(): number {
  return modelSessions.size;
}

/** Bytes a session is charged in the cache: its files (a remote runtime holds none here). */
function sessionBytes(runtime: Runtime, located: LocatedModel): number {
  return runtime.kind === 'inprocess' ? located.files.reduce((sum, f) => sum + f.bytes, 0) : 0;
}

/** Sorts entries canonically so the signature does not depend on load order. */
export function sortModelsUsed(used: readonly ModelUsed[]): ModelUsed[] {
  const key = (u: ModelUsed): string =>
    [u.model_name, u.model_version, u.runtime, u.engine, u.precision, u.device, u.weights_digest].join(
      '\u0000',
    );
  const unique = new Map(used.map((u) => [key(u), u]));
  return [...unique.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, u]) => u);
}

/** R-MOD-2 `model_signature` of a list of `models_used[]` entries (order-independent). */
export function modelSignatureOf(used: readonly ModelUsed[]): string {
  return modelSignature(sortModelsUsed(used));
}

function usedEntry(
  card: ModelCard,
  digest: string,
  runtime: Runtime,
  device: Device,
  precision: Precision,
): ModelUsed {
  return {
    model_name: card.name,
    model_version: card.version,
    weights_digest: digest,
    runtime: runtime.kind,
    engine: card.engine,
    precision,
    device,
    ...(card.synthetic ? { synthetic: true } : {}),
  };
}

function checkPrecision(card: ModelCard, precision: Precision | undefined): Precision {
  if (precision !== undefined && precision !== card.precision) {
    throw new DataProcessorError(
      'MODEL_NOT_FOUND',
      `${card.name}@${card.version} exists in ${card.precision} only; no ${precision} variant is registered`,
      { details: { model: card.name, precision } },
    );
  }
  return card.precision;
}

function checkInputs(card: ModelCard, inputs: Record<string, Tensor>): void {
  const fail = (message: string): never => {
    throw new DataProcessorError('CONTRACT_VIOLATION', `${card.name} input ${message}`);
  };
  const names = Object.keys(inputs);
  for (const name of names)
    if (!card.inputs.some((i) => i.name === name))
      fail(`${name} is not declared (declared: ${card.inputs.map((i) => i.name).join(', ')})`);
  for (const spec of card.inputs) {
    const t = inputs[spec.name];
    if (t === undefined) return fail(`${spec.name} is missing`);
    if (t.dtype !== spec.dtype) fail(`${spec.name} is ${t.dtype}, expected ${spec.dtype}`);
    if (!shapeMatches(spec, t.dims))
      fail(`${spec.name} has shape [${t.dims.join(', ')}], expected [${spec.shape.join(', ')}]`);
  }
}

function shapeMatches(spec: TensorSpec, dims: readonly number[]): boolean {
  return (
    dims.length === spec.shape.length && spec.shape.every((d, i) => typeof d === 'string' || d === dims[i])
  );
}

/** Builds the model system's pieces with defaults filled in. */
function compileOptions(
  options: ModelSystemOptions,
): Required<Omit<ModelSystemOptions, 'crossVideo'>> & Pick<ModelSystemOptions, 'crossVideo'> {
  return {
    ...(options.crossVideo ? { crossVideo: options.crossVideo } : {}),
    registry: options.registry ?? createRegistry(),
    store: options.store ?? new ModelStore(),
    runtime: options.runtime ?? inprocessRuntime(),
    defaultDevice: options.defaultDevice ?? 'cpu',
  };
}

/**
 * Loads a model: card → device policy → located + digest-verified files → cached session.
 * Fails with MODEL_NOT_FOUND, MODEL_DIGEST_MISMATCH or DEVICE_UNAVAILABLE, never substitutes.
 */
export async function loadModel(
  name: string,
  options: LoadOptions = {},
  system: ModelSystemOptions = {},
): Promise<LoadedModel> {
  const { registry, store, runtime, defaultDevice, crossVideo } = compileOptions(system);
  const card = registry.get(name, options.version);
  const precision = checkPrecision(card, options.precision);
  const device = runtime.resolveDevice(options.device ?? defaultDevice, card.engine);
  const located = await store.resolve(card);
  const key = [
    runtime.cacheKey,
    card.name,
    card.version,
    device,
    precision,
    located.weightsDigest,
    located.dir,
  ].join('|');
  const bytes = sessionBytes(runtime, located);
  const open = async (): Promise<EngineSession> => {
    await store.assertVerified(located);
    return runtime.open(located, device, precision);
  };
  // Opened now, so a model that cannot load fails here; evicted later, it is reopened on use.
  await modelSessions.open(key, bytes, open);
  const used = usedEntry(card, located.weightsDigest, runtime, device, precision);
  return {
    card,
    runtime: runtime.kind,
    engine: card.engine,
    precision,
    device,
    weightsDigest: located.weightsDigest,
    dir: located.dir,
    used,
    sessionKey: key,
    concurrency: Math.max(1, Math.floor(runtime.concurrency?.(card.engine, device) ?? 1)),
    filePath(path) {
      const file = located.files.find((f) => f.path === path);
      if (file === undefined)
        throw new DataProcessorError(
          'CONTRACT_VIOLATION',
          `${card.name}@${card.version} has no file ${path} (files: ${located.files.map((f) => f.path).join(', ')})`,
        );
      return file.absolutePath;
    },
    async infer(inputs) {
      checkInputs(card, inputs);
      const run = (batch: Record<string, Tensor>): Promise<Record<string, Tensor>> =>
        modelSessions.use(key, bytes, open, (session) => session.infer(batch));
      return crossVideo
        ? crossVideo.coalescer.infer(crossVideo.group, { card, sessionKey: key }, inputs, run)
        : run(inputs);
    },
  };
}

const MODEL_ACCESS = Symbol.for('dataprocessor.ModelAccess');

/** The `ModelAccess` a component gets; it records every model loaded through it. */
export function createModelAccess(system: ModelSystemOptions = {}): ModelAccess {
  const compiled = compileOptions(system);
  const loaded: ModelUsed[] = [];
  // Calls in flight at once: what every loaded model can serve side by side (1 with none loaded).
  let concurrency = Number.POSITIVE_INFINITY;
  const inFlight = (): number => (Number.isFinite(concurrency) ? concurrency : 1);
  // Rates measured with several batches in flight are per call: kept apart from one-at-a-time rates.
  const rateKey = (): string => throughputKey(loaded) + (inFlight() > 1 ? ` | ${inFlight()} in flight` : '');
  const batching: BatchingRecord = { batchSize: null, oomRetries: 0 };
  const access: ModelAccess & { [MODEL_ACCESS]: true } = {
    [MODEL_ACCESS]: true,
    async load(name, options = {}) {
      const model = await loadModel(name, options, compiled);
      loaded.push(model.used);
      concurrency = Math.min(concurrency, model.concurrency);
      return model;
    },
    used: () => sortModelsUsed(loaded),
    signature: () => modelSignatureOf(loaded),
    batching: () => ({ ...batching }),
    // R-BAT-4 feedback: with models loaded, the plan follows their measured units/s (throughput.ts).
    planBatchSize: (profile, input) =>
      loaded.length === 0
        ? planBatchSize(profile, input)
        : planMeasuredBatchSize(profile, input, sharedThroughputStore().rates(rateKey())),
    async runBatches(units, runBatch, options) {
      const measured = measuredBatches(runBatch, sharedThroughputStore(), () =>
        loaded.length === 0 ? null : rateKey(),
      );
      // With calls served side by side, the units are cut into at least that many batches so
      // that every worker gets one.
      const lanes = options.concurrency ?? inFlight();
      const batchSize =
        lanes > 1
          ? Math.max(1, Math.min(options.batchSize, Math.ceil(units.length / lanes)))
          : options.batchSize;
      // R-BAT-3: what the runner did is recorded, including a run that ends in OOM.
      try {
        const run = await runBatches(units, measured, { ...options, batchSize, concurrency: lanes });
        batching.batchSize = run.batchSize;
        batching.oomRetries += run.retries;
        return run;
      } catch (error) {
        const retries = (error as { details?: { retries?: unknown } }).details?.retries;
        if (typeof retries === 'number') batching.oomRetries += retries;
        throw error;
      }
    },
  };
  return access;
}

/**
 * The full model system behind a component's `ctx.models` (R-MOD): load, batch planner and
 * runner. DEPENDENCY_MISSING when the orchestrator gave the component none (it declares no models).
 */
export function modelsOf(ctx: { models?: ModelAccessPort }, component: string): ModelAccess {
  const port = ctx.models;
  if (port === undefined || !(MODEL_ACCESS in port)) {
    throw new DataProcessorError(
      'DEPENDENCY_MISSING',
      `${component} calls models but was given no model access; declare them in models(config) and run it through the orchestrator.`,
    );
  }
  return port as unknown as ModelAccess;
}

/** One model a component will call, as a profile maps it (R-MOD-4 mapping row). */
export interface ModelMapping {
  model: string;
  version?: string;
  device?: DeviceRequest;
  precision?: Precision;
}

/**
 * The `models_used[]` and `model_signature` a component *will* have, computed before it runs
 * from its model mapping (for the idempotency key, R-ORC-3). It resolves devices with the same
 * policy as `load` (so DEVICE_UNAVAILABLE surfaces here, before any work) and takes digests from
 * the cards or the store's locks without hashing files; a model that is not installed is
 * MODEL_NOT_FOUND. For a component without models this is `modelSignature([])`.
 */
export async function plannedModelSignature(
  mappings: readonly ModelMapping[],
  system: ModelSystemOptions = {},
): Promise<{ modelsUsed: ModelUsed[]; modelSignature: string }> {
  const { registry, store, runtime, defaultDevice } = compileOptions(system);
  const used: ModelUsed[] = [];
  for (const m of mappings) {
    const card = registry.get(m.model, m.version);
    const precision = checkPrecision(card, m.precision);
    const device = runtime.resolveDevice(m.device ?? defaultDevice, card.engine);
    const located = await store.resolve(card);
    used.push(usedEntry(card, located.weightsDigest, runtime, device, precision));
  }
  const modelsUsed = sortModelsUsed(used);
  return { modelsUsed, modelSignature: modelSignature(modelsUsed) };
}
