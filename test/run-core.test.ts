// The run core (compile, then execute): a plan is plain JSON and compiling writes nothing;
// dependency inputs (R-DEP-1/2) through toy components on a graph of their own; the OOM record
// (R-BAT-3) in meta and manifest; a profile's runtime applied or rejected, never ignored.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  DataProcessorError,
  nd,
  type Component,
  type ComponentResult,
  type NpzSchema,
} from '../src/contracts/index.js';
import { clearModelSessions, modelsOf, type ModelSystemOptions } from '../src/models/index.js';
import {
  compileRun,
  executeRun,
  parseGraph,
  runPlanSchema,
  type Profile,
} from '../src/orchestrator/index.js';
import { deleteVideo, openResultStore } from '../src/storage/index.js';
import { makeShotVideo, makeTempDir } from './support/media.js';
import { installSynthetic, tempModelSystem } from './support/models/fixtures.js';
import { loadNpzWithNumpy } from './support/numpy.js';

const dir = makeTempDir('run-core');
const video = join(dir, 'v.mp4');
const store = join(dir, 'store');
let system: ModelSystemOptions & { storeDir: string };

beforeAll(async () => {
  makeShotVideo(video, { width: 160, height: 90, shotSeconds: [3, 3], toneDbfs: -20 });
  system = tempModelSystem(['clip-vision']);
  await installSynthetic(system.store!, system.registry!, 'clip-vision');
}, 60_000);

afterAll(async () => {
  await clearModelSessions();
});

const PER_FRAME: NpzSchema['arrays'] = {
  frame_indices: { dtype: 'int32', shape: ['N'], description: 'union-domain indices' },
  level: { dtype: 'float32', shape: ['N'], description: 'mean pixel level of the frame' },
};

/** Writes the mean level of each of its frames; `empty: true` makes it a valid empty output. */
const toySource: Component<{ empty: boolean }> = {
  name: 'toy_source',
  kind: 'module',
  processor: 'visual',
  version: '1.0.0',
  schema: { file: 'toy_source.npz', schemaVersion: '1.0', arrays: PER_FRAME },
  dependsOn: [],
  budget: { min: 5, targetPerMinute: 60, max: 10 },
  resources: { memoryMbPerUnit: 1, devices: ['cpu'], minBatch: 1, maxBatch: 4 },
  configSchema: z.object({ empty: z.boolean().default(false) }).strict(),
  async run(ctx): Promise<ComponentResult> {
    const frames = ctx.frames!;
    const levels: number[] = [];
    for await (const batch of frames.batches(4)) {
      const bytes = batch.width * batch.height * 3;
      for (let f = 0; f < batch.unionIndices.length; f++) {
        let sum = 0;
        for (let i = f * bytes; i < (f + 1) * bytes; i++) sum += batch.pixels[i] ?? 0;
        levels.push(sum / bytes);
      }
    }
    const n = ctx.config.empty ? 0 : levels.length;
    return {
      status: ctx.config.empty ? 'empty' : 'ok',
      emptyReason: ctx.config.empty ? 'too_few_frames' : null,
      arrays: {
        frame_indices: nd.int32(Int32Array.from(frames.frameIndices).subarray(0, n)),
        level: nd.float32(levels.slice(0, n)),
      },
    };
  },
};

/**
 * Reads toy_source (hard) and toy_optional (optional): for each of its own frames, the source's
 * level (NaN where the source has no such frame or is empty); `own_level` is always computed.
 */
const toyReader: Component<{ read_unrelated: boolean }> = {
  name: 'toy_reader',
  kind: 'module',
  processor: 'visual',
  version: '1.0.0',
  schema: {
    file: 'toy_reader.npz',
    schemaVersion: '1.0',
    arrays: {
      frame_indices: PER_FRAME.frame_indices!,
      source_level: { dtype: 'float32', shape: ['N'], description: "toy_source's level on the same frame" },
      own_count: { dtype: 'int32', shape: [], description: 'frames read' },
    },
  },
  dependsOn: ['toy_source'],
  optionalDependsOn: ['toy_optional'],
  budget: { min: 5, targetPerMinute: 120, max: 20 },
  resources: { memoryMbPerUnit: 1, devices: ['cpu'], minBatch: 1, maxBatch: 4 },
  configSchema: z.object({ read_unrelated: z.boolean().default(false) }).strict(),
  async run(ctx): Promise<ComponentResult> {
    if (ctx.config.read_unrelated) await ctx.inputs.read('loudness_extractor');
    const source = await ctx.inputs.read('toy_source');
    const own = ctx.frames!.frameIndices;
    const rows = source.rowsFor(own);
    const level = source.arrays.level!.data as Float32Array;
    const values = Array.from(rows, (r) => (source.status === 'empty' || r < 0 ? Number.NaN : level[r]!));
    return {
      status: 'ok',
      emptyReason: null,
      arrays: {
        frame_indices: nd.int32(Int32Array.from(own)),
        source_level: nd.float32(values),
        own_count: nd.int32([own.length], []),
      },
      meta: {
        // R-DEP-2: the dependent field says why it is empty; the rest is computed.
        field_empty_reasons: { source_level: source.status === 'empty' ? 'dependency_empty' : null },
        inputs_available: ctx.inputs.available(),
      },
    };
  },
};

/** Batches 8 units through the model system; batches above 2 run out of memory (R-BAT-3). */
const toyBatcher: Component<Record<string, never>> = {
  name: 'toy_batcher',
  kind: 'module',
  processor: 'visual',
  version: '1.0.0',
  schema: {
    file: 'toy_batcher.npz',
    schemaVersion: '1.0',
    arrays: { doubled: { dtype: 'int32', shape: ['K'], description: '2×unit' } },
  },
  dependsOn: [],
  resources: { memoryMbPerUnit: 1, devices: ['cpu'], minBatch: 1, maxBatch: 8 },
  configSchema: z.object({}).strict(),
  models: () => [{ model: 'synthetic-clip-vision', version: '1' }],
  async run(ctx): Promise<ComponentResult> {
    const models = modelsOf(ctx, 'toy_batcher');
    await models.load('synthetic-clip-vision');
    const units = [1, 2, 3, 4, 5, 6, 7, 8];
    const run = await models.runBatches(
      units,
      (batch) => {
        if (batch.length > 2) throw new DataProcessorError('OOM', `no memory for ${batch.length}`);
        return Promise.resolve(batch.map((u) => 2 * u));
      },
      { batchSize: 8 },
    );
    return { status: 'ok', emptyReason: null, arrays: { doubled: nd.int32(run.results) } };
  },
};

const GRAPH = parseGraph(`
version: 1
generations:
  toys:
    status: active
    description: toy components of the run-core test
    components:
      segmenter: { processor: segmenter, kind: segmenter, depends_on: [] }
      loudness_extractor: { processor: audio, kind: audio, depends_on: [segmenter] }
      toy_source: { processor: visual, kind: module, depends_on: [segmenter] }
      toy_optional: { processor: visual, kind: module, depends_on: [segmenter] }
      toy_reader:
        processor: visual
        kind: module
        depends_on: [segmenter, toy_source]
        optional_depends_on: [toy_optional]
      toy_batcher: { processor: visual, kind: module, depends_on: [segmenter] }
`);

const toyOptional: Component<{ empty: boolean }> = {
  ...toySource,
  name: 'toy_optional',
  schema: { ...toySource.schema, file: 'toy_optional.npz' },
};
const { COMPONENTS } = await import('../src/processors/index.js');
const REGISTRY = [
  COMPONENTS.find((c) => c.name === 'loudness_extractor')!,
  toySource,
  toyOptional,
  toyReader,
  toyBatcher,
] as Component[];

const toyProfile = (components: string[]): Profile => ({
  name: 'toys',
  description: 'toys',
  generation: 'toys',
  components: components.map((name) => ({ name, required: true })),
});

/** The error a promise rejects with (it must reject). */
async function failureOf(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected a rejection');
}

const env = () => ({ graph: GRAPH, components: REGISTRY, modelSystem: system });

describe('compile, then execute', () => {
  it('compiling writes nothing, and a plan survives JSON (as a queue job carries it)', async () => {
    const plan = await compileRun(
      {
        videoPath: video,
        storeRoot: store,
        videoId: 'v',
        runId: 'json',
        profile: toyProfile(['toy_source', 'toy_reader']),
      },
      env(),
    );
    expect(existsSync(store)).toBe(false);
    expect(plan.stages.map((s) => s.name)).toEqual(['segmenter', 'toy_source', 'toy_reader']);
    const carried = runPlanSchema.parse(JSON.parse(JSON.stringify(plan)));
    const outcome = await executeRun(carried, env());
    expect(outcome.status).toBe('ok');
    expect(outcome.manifest.run.config_hash).toBe(plan.identity.config_hash);
    expect(outcome.manifest.components.map((c) => c.idempotency_key)).toEqual(plan.stages.map((s) => s.key));
  });

  it('a plan compiled before its video was deleted does no work (a job that waited in a queue): VIDEO_DELETED', async () => {
    const root = join(dir, 'deleted-store');
    const request = {
      videoPath: video,
      storeRoot: root,
      videoId: 'gone',
      runId: 'queued',
      profile: toyProfile(['toy_source']),
    };
    const plan = await compileRun(request, env());
    const store = await openResultStore(root);
    await deleteVideo(store, { platformId: 'local', videoId: 'gone', requestedBy: 'test' });
    await expect(executeRun(plan, env())).rejects.toMatchObject({ code: 'VIDEO_DELETED' });
    expect(await store.listRuns('local', 'gone')).toEqual([]);
    expect(existsSync(join(root, 'local', 'gone'))).toBe(false);
    // Submitted again after the deletion, the video is processed as new.
    await new Promise((r) => setTimeout(r, 5));
    const again = await executeRun(await compileRun({ ...request, runId: 'again' }, env()), env());
    expect(again.status).toBe('ok');
  });

  it('bad requests fail at compile with the code and nothing in the store', async () => {
    const request = {
      videoPath: video,
      storeRoot: join(dir, 'untouched'),
      videoId: 'v',
      profile: toyProfile(['toy_source', 'toy_reader']),
    };
    expect(
      await failureOf(compileRun({ ...request, config: { components: { toy_reader: { nope: 1 } } } }, env())),
    ).toMatchObject({ code: 'INPUT_INVALID' });
    expect(
      (
        await failureOf(
          compileRun({ ...request, config: { components: { toy_reader: { nope: 1 } } } }, env()),
        )
      ).message,
    ).toMatch(/toy_reader\.nope.*read_unrelated/);
    expect(
      await failureOf(
        compileRun({ ...request, config: { components: { toy_source: { empty: 'yes' } } } }, env()),
      ),
    ).toMatchObject({ code: 'INPUT_INVALID' });
    expect(
      (
        await failureOf(
          compileRun({ ...request, config: { components: { toy_source: { empty: 'yes' } } } }, env()),
        )
      ).message,
    ).toMatch(/toy_source\.empty/);
    // A profile without a hard dependency of one of its components could only fail at run time.
    expect(
      await failureOf(compileRun({ ...request, profile: toyProfile(['toy_reader']) }, env())),
    ).toMatchObject({ code: 'INPUT_INVALID' });
    expect(
      (await failureOf(compileRun({ ...request, profile: toyProfile(['toy_reader']) }, env()))).message,
    ).toMatch(/toy_reader, which depends on toy_source/);
    await expect(compileRun({ ...request, components: ['toy_nothing'] }, env())).rejects.toMatchObject({
      code: 'INPUT_INVALID',
    });
    await expect(compileRun({ ...request, runId: '../x' }, env())).rejects.toMatchObject({
      code: 'INPUT_INVALID',
    });
    expect(existsSync(join(dir, 'untouched'))).toBe(false);
  });

  it('an ad-hoc selection adds the dependencies and is part of the config hash', async () => {
    const plan = await compileRun(
      {
        videoPath: video,
        storeRoot: store,
        videoId: 'v',
        profile: toyProfile(['loudness_extractor']),
        components: ['toy_reader'],
      },
      env(),
    );
    expect(plan.stages.map((s) => s.name)).toEqual(['segmenter', 'toy_source', 'toy_reader']);
    const whole = await compileRun(
      { videoPath: video, storeRoot: store, videoId: 'v', profile: toyProfile(['toy_source', 'toy_reader']) },
      env(),
    );
    expect(plan.identity.config_hash).not.toBe(whole.identity.config_hash);
  });

  it("a profile's runtime is applied or rejected: triton without a Triton runtime is INPUT_INVALID", async () => {
    const profile: Profile = {
      ...toyProfile(['toy_batcher']),
      models: {
        toy_batcher: {
          model: 'synthetic-clip-vision',
          version: '1',
          device: 'cpu',
          precision: 'fp32',
          runtime: 'triton',
        },
      },
    };
    expect(
      await failureOf(compileRun({ videoPath: video, storeRoot: store, videoId: 'v', profile }, env())),
    ).toMatchObject({ code: 'INPUT_INVALID' });
    expect(
      (await failureOf(compileRun({ videoPath: video, storeRoot: store, videoId: 'v', profile }, env())))
        .message,
    ).toMatch(/triton runtime.*--triton-url/);
  });
});

describe('dependency inputs (R-DEP-1/2)', () => {
  it("a dependant reads its dependency's arrays mapped to its own union frames", async () => {
    const outcome = await executeRun(
      await compileRun(
        {
          videoPath: video,
          storeRoot: store,
          videoId: 'v',
          runId: 'deps-ok',
          profile: toyProfile(['toy_source', 'toy_reader']),
        },
        env(),
      ),
      env(),
    );
    expect(outcome.status).toBe('ok');
    const source = loadNpzWithNumpy(join(outcome.runDir, 'toy_source', 'toy_source.npz'));
    const reader = loadNpzWithNumpy(join(outcome.runDir, 'toy_reader', 'toy_reader.npz'));
    const sourceLevel = new Map(
      (source.arrays.frame_indices!.values as number[]).map((u, i) => [
        u,
        (source.arrays.level!.values as number[])[i],
      ]),
    );
    const readerFrames = reader.arrays.frame_indices!.values as number[];
    const readerLevels = reader.arrays.source_level!.values as (number | string)[];
    // The reader has more frames than the source: shared ones carry the source's value, the rest NaN.
    expect(readerFrames.length).toBeGreaterThan(sourceLevel.size);
    let shared = 0;
    readerFrames.forEach((u, i) => {
      const expected = sourceLevel.get(u);
      if (expected === undefined) expect(readerLevels[i]).toBe('NaN');
      else {
        shared += 1;
        expect(readerLevels[i]).toBeCloseTo(expected, 3);
      }
    });
    expect(shared).toBeGreaterThan(0);
    expect(reader.meta.inputs_available).toEqual(['toy_source']);
  });

  it('an empty dependency makes the dependent fields empty (dependency_empty); the rest is computed', async () => {
    const outcome = await executeRun(
      await compileRun(
        {
          videoPath: video,
          storeRoot: store,
          videoId: 'v',
          runId: 'deps-empty',
          profile: toyProfile(['toy_source', 'toy_reader', 'toy_optional']),
          config: { components: { toy_source: { empty: true } } },
        },
        env(),
      ),
      env(),
    );
    expect(outcome.manifest.components.find((c) => c.name === 'toy_source')?.status).toBe('empty');
    const reader = loadNpzWithNumpy(join(outcome.runDir, 'toy_reader', 'toy_reader.npz'));
    expect((reader.arrays.source_level!.values as unknown[]).every((v) => v === 'NaN')).toBe(true);
    expect(reader.arrays.own_count!.values).toBe((reader.arrays.frame_indices!.values as number[]).length);
    expect(reader.meta.field_empty_reasons).toEqual({ source_level: 'dependency_empty' });
    expect(reader.meta.inputs_available).toEqual(['toy_optional', 'toy_source']);
  });

  it('reading a component that is not a dependency is DEPENDENCY_MISSING, recorded on the reader', async () => {
    const outcome = await executeRun(
      await compileRun(
        {
          videoPath: video,
          storeRoot: store,
          videoId: 'v',
          runId: 'deps-missing',
          profile: toyProfile(['loudness_extractor', 'toy_source', 'toy_reader']),
          config: { components: { toy_reader: { read_unrelated: true } } },
          useCache: false,
        },
        env(),
      ),
      env(),
    );
    const reader = outcome.manifest.components.find((c) => c.name === 'toy_reader');
    expect(reader).toMatchObject({ status: 'error', error_code: 'DEPENDENCY_MISSING' });
    expect(reader?.error).toMatch(/loudness_extractor is not a dependency of toy_reader/);
  });
});

describe('R-BAT-3 record', () => {
  it('OOM retries and the final batch size are in the NPZ meta and the manifest entry', async () => {
    const outcome = await executeRun(
      await compileRun(
        {
          videoPath: video,
          storeRoot: store,
          videoId: 'v',
          runId: 'oom',
          profile: toyProfile(['toy_batcher']),
        },
        env(),
      ),
      env(),
    );
    const entry = outcome.manifest.components.find((c) => c.name === 'toy_batcher');
    // 8 → OOM → 4 → OOM → 2, which fits: two retries, finishing at batch size 2.
    expect(entry).toMatchObject({ status: 'ok', batch_size: 2, oom_retries: 2 });
    const npz = loadNpzWithNumpy(join(outcome.runDir, 'toy_batcher', 'toy_batcher.npz'));
    expect(npz.arrays.doubled!.values).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
    expect(npz.meta).toMatchObject({ batch_size: 2, oom_retries: 2 });
    expect(outcome.manifest.run.models).toMatchObject({
      toy_batcher: { models_used: [expect.objectContaining({ model_name: 'synthetic-clip-vision' })] },
    });
    expect(readdirSync(outcome.runDir)).not.toContain('_tmp_segmenter');
  });
});

describe('error hints', () => {
  it('every config key a hint tells the user to --set exists, with the right section', async () => {
    const { ERROR_CODES } = await import('../src/contracts/index.js');
    const { segmenterConfigSchema } = await import('../src/segmenter/index.js');
    const named = Object.values(ERROR_CODES).flatMap((e) =>
      [...e.hint.matchAll(/--set ([a-z_]+)\.([a-z_]+)=/g)].map((m) => [m[1]!, m[2]!] as const),
    );
    expect(named.length).toBeGreaterThan(0);
    const sections: Record<string, object> = {
      segmenter: segmenterConfigSchema.parse({}),
      ...Object.fromEntries(COMPONENTS.map((c) => [c.name, c.configSchema.parse({}) as object])),
    };
    for (const [section, key] of named)
      expect(Object.keys(sections[section] ?? {}), `${section}.${key}`).toContain(key);
  });
});
