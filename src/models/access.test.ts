import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, afterEach } from 'vitest';
import { DataProcessorError, modelSignature, modelUsedSchema } from '../contracts/index.js';
import { makeTempDir } from '../../test/support/media.js';
import {
  expectedClipEmbedding,
  flipByte,
  installSynthetic,
  tempModelSystem,
} from '../../test/support/models/fixtures.js';
import {
  buildSyntheticModel,
  cachedSessionCount,
  clearModelSessions,
  createModelAccess,
  float32Tensor,
  inprocessRuntime,
  loadModel,
  modelSignatureOf,
  plannedModelSignature,
  type DeviceEnvironment,
} from './index.js';

afterEach(async () => {
  await clearModelSessions();
});

function image(n: number, h: number, w: number, seed: number): Float32Array {
  const out = new Float32Array(n * 3 * h * w);
  for (let i = 0; i < out.length; i++) out[i] = Math.sin(seed + i * 0.37) * 2 + (i % 11) / 11;
  return out;
}

async function codeOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return 'resolved';
  } catch (error) {
    return error instanceof DataProcessorError ? error.code : `non-DataProcessorError: ${String(error)}`;
  }
}

/** A machine description with GPUs and the CUDA EP, for the policy only (nothing runs on it). */
const GPU_MACHINE: DeviceEnvironment = { gpuCount: () => 2, hasOrtCudaProvider: () => true };

describe('synthetic CLIP vision through the in-process ONNX runtime', () => {
  it('computes the documented function: embeds = channel means × fixed weights, per unit in the batch', async () => {
    const system = tempModelSystem(['clip-vision']);
    await installSynthetic(system.store, system.registry, 'clip-vision');
    const access = createModelAccess(system);
    const model = await access.load('synthetic-clip-vision');
    const n = 3;
    const pixels = image(n, 224, 224, 1);
    const out = (await model.infer({ pixel_values: float32Tensor(pixels, [n, 3, 224, 224]) })).image_embeds;
    expect(out?.dims).toEqual([n, 512]);
    const per = 3 * 224 * 224;
    for (let i = 0; i < n; i++) {
      const expected = expectedClipEmbedding(pixels.slice(i * per, (i + 1) * per), 224, 224);
      const got = Array.from((out?.data as Float32Array).slice(i * 512, (i + 1) * 512));
      got.forEach((v, j) => expect(v).toBeCloseTo(expected[j] ?? Number.NaN, 4));
    }
  });

  it('records a models_used entry that names the synthetic model as synthetic, valid by the meta schema', async () => {
    const system = tempModelSystem(['clip-vision']);
    await installSynthetic(system.store, system.registry, 'clip-vision');
    const access = createModelAccess(system);
    const model = await access.load('synthetic-clip-vision', { device: 'auto' });
    expect(modelUsedSchema.safeParse(model.used).success).toBe(true);
    expect(model.used).toMatchObject({
      model_name: 'synthetic-clip-vision',
      model_version: '1',
      runtime: 'inprocess',
      engine: 'onnx',
      precision: 'fp32',
      device: 'cpu', // auto resolved on this machine (no GPU), and the resolved device is recorded
      synthetic: true,
    });
    expect(model.used.weights_digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(access.used()).toEqual([model.used]);
    expect(access.signature()).toBe(modelSignature([model.used]));
  });

  it('checks inputs against the card: wrong name, dtype or fixed dim is CONTRACT_VIOLATION', async () => {
    const system = tempModelSystem(['clip-vision']);
    await installSynthetic(system.store, system.registry, 'clip-vision');
    const model = await createModelAccess(system).load('synthetic-clip-vision');
    const x = float32Tensor(new Float32Array(3 * 4 * 4), [1, 3, 4, 4]);
    expect(await codeOf(() => model.infer({ pixel_values: x }))).toBe('CONTRACT_VIOLATION');
    expect(await codeOf(() => model.infer({ pixels: x }))).toBe('CONTRACT_VIOLATION');
    expect(await codeOf(() => model.infer({}))).toBe('CONTRACT_VIOLATION');
  });
});

describe('session cache', () => {
  it('shares one session per (model, version, device, precision) across accesses', async () => {
    const system = tempModelSystem(['clip-vision', 'depth']);
    await installSynthetic(system.store, system.registry, 'clip-vision');
    await installSynthetic(system.store, system.registry, 'depth');
    expect(cachedSessionCount()).toBe(0);
    await createModelAccess(system).load('synthetic-clip-vision');
    await createModelAccess(system).load('synthetic-clip-vision', { device: 'cpu', precision: 'fp32' });
    expect(cachedSessionCount()).toBe(1);
    await loadModel('synthetic-depth', {}, system);
    expect(cachedSessionCount()).toBe(2);
  });

  it('a failed load is not cached, and a file changed before the first load is MODEL_DIGEST_MISMATCH', async () => {
    const system = tempModelSystem(['depth']);
    expect(await codeOf(() => loadModel('synthetic-depth', {}, system))).toBe('MODEL_NOT_FOUND');
    expect(cachedSessionCount()).toBe(0);
    await installSynthetic(system.store, system.registry, 'depth');
    const located = await system.store.resolve(system.registry.get('synthetic-depth'));
    flipByte(located.entryPath, 20);
    expect(await codeOf(() => loadModel('synthetic-depth', {}, system))).toBe('MODEL_DIGEST_MISMATCH');
    expect(cachedSessionCount()).toBe(0);
  });
});

describe('engine failures', () => {
  it('a file ONNX Runtime cannot parse (digest intact) fails the load with INTERNAL, not cached', async () => {
    const garbage = Buffer.from('this is not an onnx model');
    const card = {
      ...buildSyntheticModel('depth').card,
      name: 'synthetic-broken',
      files: [
        {
          path: 'model.onnx',
          sha256: createHash('sha256').update(garbage).digest('hex'),
          bytes: garbage.length,
        },
      ],
    };
    const system = tempModelSystem([]);
    system.registry.register(card);
    const src = makeTempDir('broken');
    writeFileSync(join(src, 'model.onnx'), garbage);
    await system.store.install(card, src);
    expect(await codeOf(() => loadModel('synthetic-broken', {}, system))).toBe('INTERNAL');
    expect(cachedSessionCount()).toBe(0);
  });
});

describe('device policy at load (R-MOD-3)', () => {
  it('cuda on this machine is DEVICE_UNAVAILABLE, never a CPU session', async () => {
    const system = tempModelSystem(['clip-vision']);
    await installSynthetic(system.store, system.registry, 'clip-vision');
    const access = createModelAccess(system);
    expect(await codeOf(() => access.load('synthetic-clip-vision', { device: 'cuda:0' }))).toBe(
      'DEVICE_UNAVAILABLE',
    );
    expect(access.used()).toEqual([]);
    expect(cachedSessionCount()).toBe(0);
  });

  it('TFJS (wasm) models refuse cuda even on a GPU machine', async () => {
    const access = createModelAccess({ ...tempModelSystem([]), runtime: inprocessRuntime(GPU_MACHINE) });
    expect(await codeOf(() => access.load('emotion', { device: 'cuda:0' }))).toBe('DEVICE_UNAVAILABLE');
  });

  it('a precision the card does not have is MODEL_NOT_FOUND (no silent conversion)', async () => {
    const access = createModelAccess(tempModelSystem([]));
    expect(await codeOf(() => access.load('emotion', { precision: 'fp16' }))).toBe('MODEL_NOT_FOUND');
  });
});

describe('model signature (R-MOD-2)', () => {
  it('the planned signature equals the signature of what a run actually loads', async () => {
    const system = tempModelSystem(['clip-vision', 'depth']);
    await installSynthetic(system.store, system.registry, 'clip-vision');
    await installSynthetic(system.store, system.registry, 'depth');
    const planned = await plannedModelSignature(
      [{ model: 'synthetic-depth' }, { model: 'synthetic-clip-vision', device: 'auto' }],
      system,
    );
    const access = createModelAccess(system);
    await access.load('synthetic-clip-vision', { device: 'auto' });
    await access.load('synthetic-depth');
    expect(access.signature()).toBe(planned.modelSignature);
    expect(access.used()).toEqual(planned.modelsUsed);
    expect(planned.modelSignature).toBe(modelSignature(planned.modelsUsed));
  });

  it('changes with the model, the precision, the device, the weights and the runtime', async () => {
    const system = tempModelSystem(['clip-vision']);
    await installSynthetic(system.store, system.registry, 'clip-vision');
    const base = await plannedModelSignature([{ model: 'synthetic-clip-vision' }], system);
    const entry = base.modelsUsed[0];
    if (entry === undefined) throw new Error('no entry');
    const variants = [
      { ...entry, model_name: 'other' },
      { ...entry, precision: 'fp16' as const },
      { ...entry, device: 'cuda:0' },
      { ...entry, weights_digest: `sha256:${'0'.repeat(64)}` },
      { ...entry, runtime: 'triton' as const },
    ].map((v) => modelSignatureOf([v]));
    expect(new Set([base.modelSignature, ...variants]).size).toBe(6);
    // a device change computed by the real policy (a GPU machine's ORT) gives a new signature too
    const onGpu = await plannedModelSignature([{ model: 'synthetic-clip-vision', device: 'cuda:1' }], {
      ...system,
      runtime: inprocessRuntime(GPU_MACHINE),
    });
    expect(onGpu.modelsUsed[0]?.device).toBe('cuda:1');
    expect(onGpu.modelSignature).not.toBe(base.modelSignature);
    // no models: the signature the orchestrator records today
    expect((await plannedModelSignature([], system)).modelSignature).toBe(modelSignature([]));
  });

  it('planning fails before any work: DEVICE_UNAVAILABLE, MODEL_NOT_FOUND', async () => {
    const system = tempModelSystem(['clip-vision']);
    expect(await codeOf(() => plannedModelSignature([{ model: 'synthetic-clip-vision' }], system))).toBe(
      'MODEL_NOT_FOUND',
    );
    await installSynthetic(system.store, system.registry, 'clip-vision');
    expect(
      await codeOf(() =>
        plannedModelSignature([{ model: 'synthetic-clip-vision', device: 'cuda:0' }], system),
      ),
    ).toBe('DEVICE_UNAVAILABLE');
    expect(await codeOf(() => plannedModelSignature([{ model: 'nope' }], system))).toBe('MODEL_NOT_FOUND');
  });
});
