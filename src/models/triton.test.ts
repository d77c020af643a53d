// The Triton / KServe v2 client against a loopback server speaking the protocol, with a real
// ONNX Runtime session of the synthetic CLIP model behind it.
import { afterEach, describe, expect, it } from 'vitest';
import { DataProcessorError } from '../contracts/index.js';
import {
  expectedClipEmbedding,
  installSynthetic,
  tempModelSystem,
} from '../../test/support/models/fixtures.js';
import { startV2Server, type RunningServer } from '../../test/support/models/servers.js';
import {
  clearModelSessions,
  createModelAccess,
  float32Tensor,
  plannedModelSignature,
  stackTensors,
  tritonRuntime,
  unstackTensor,
  type Tensor,
} from './index.js';

let server: RunningServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
  await clearModelSessions();
});

async function setup(
  options: { ready?: boolean; failInfer?: (inputs: { shape: number[] }[]) => string | null } = {},
) {
  const system = tempModelSystem(['clip-vision']);
  await installSynthetic(system.store, system.registry, 'clip-vision');
  const located = await system.store.resolve(system.registry.get('synthetic-clip-vision'));
  server = await startV2Server({
    model: 'synthetic-clip-vision',
    version: '1',
    onnxPath: located.entryPath,
    ...options,
  });
  return { system, runtime: tritonRuntime({ url: server.url, device: 'cuda:0' }) };
}

const codeOf = (e: unknown): string =>
  e instanceof DataProcessorError ? e.code : `not a DataProcessorError: ${String(e)}`;

describe('Triton / KServe v2 runtime', () => {
  it('checks readiness, infers with JSON tensors and records runtime triton on the served device', async () => {
    const { system, runtime } = await setup();
    const access = createModelAccess({ ...system, runtime });
    const model = await access.load('synthetic-clip-vision', { device: 'auto' });
    expect(model.used).toMatchObject({
      runtime: 'triton',
      engine: 'onnx',
      device: 'cuda:0',
      model_name: 'synthetic-clip-vision',
    });
    const x = new Float32Array(2 * 3 * 224 * 224);
    for (let i = 0; i < x.length; i++) x[i] = ((i * 7) % 13) / 13;
    const out = (await model.infer({ pixel_values: float32Tensor(x, [2, 3, 224, 224]) })).image_embeds;
    expect(out?.dims).toEqual([2, 512]);
    const per = 3 * 224 * 224;
    for (let n = 0; n < 2; n++) {
      const expected = expectedClipEmbedding(x.slice(n * per, (n + 1) * per), 224, 224);
      expect(out?.data[n * 512 + 5]).toBeCloseTo(expected[5] ?? Number.NaN, 4);
    }
    expect(server?.requests).toEqual([
      'GET /v2/health/ready',
      'GET /v2/models/synthetic-clip-vision/versions/1/ready',
      'POST /v2/models/synthetic-clip-vision/versions/1/infer',
    ]);
    // the signature differs from the in-process one of the same model
    const inprocess = await plannedModelSignature([{ model: 'synthetic-clip-vision' }], system);
    const remote = await plannedModelSignature([{ model: 'synthetic-clip-vision', device: 'cuda:0' }], {
      ...system,
      runtime,
    });
    expect(remote.modelSignature).not.toBe(inprocess.modelSignature);
    expect(access.signature()).toBe(remote.modelSignature);
  });

  it('a device the server does not serve on is DEVICE_UNAVAILABLE', async () => {
    const { system, runtime } = await setup();
    const error = await createModelAccess({ ...system, runtime })
      .load('synthetic-clip-vision', { device: 'cpu' })
      .catch((e: unknown) => e);
    expect(codeOf(error)).toBe('DEVICE_UNAVAILABLE');
  });

  it('a server that is not ready is DEVICE_UNAVAILABLE; an unknown model on it is MODEL_NOT_FOUND', async () => {
    const notReady = await setup({ ready: false });
    expect(
      codeOf(
        await createModelAccess({ ...notReady.system, runtime: notReady.runtime })
          .load('synthetic-clip-vision', { device: 'auto' })
          .catch((e: unknown) => e),
      ),
    ).toBe('DEVICE_UNAVAILABLE');
    await server?.close();
    const ok = await setup();
    const other = tritonRuntime({
      url: server?.url ?? '',
      device: 'cuda:0',
      modelName: () => 'not-deployed',
    });
    expect(
      codeOf(
        await createModelAccess({ ...ok.system, runtime: other })
          .load('synthetic-clip-vision', { device: 'auto' })
          .catch((e: unknown) => e),
      ),
    ).toBe('MODEL_NOT_FOUND');
  });

  it('an unreachable server is DEVICE_UNAVAILABLE', async () => {
    const { system } = await setup();
    const url = server?.url ?? '';
    await server?.close();
    server = null;
    const runtime = tritonRuntime({ url, device: 'cuda:0' });
    expect(
      codeOf(
        await createModelAccess({ ...system, runtime })
          .load('synthetic-clip-vision', { device: 'cuda:0' })
          .catch((e: unknown) => e),
      ),
    ).toBe('DEVICE_UNAVAILABLE');
  });

  it('a server that does not answer in time is TIMEOUT', async () => {
    const { createServer } = await import('node:http');
    const { system } = await setup();
    const silent = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const runtime = tritonRuntime({ url: `http://127.0.0.1:${port}`, device: 'cuda:0', timeoutMs: 200 });
    const error = await createModelAccess({ ...system, runtime })
      .load('synthetic-clip-vision', { device: 'auto' })
      .catch((e: unknown) => e);
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
    expect(codeOf(error)).toBe('TIMEOUT');
  });

  it("the server's out-of-memory answer drives the same OOM policy (batch shrinks, same device)", async () => {
    const { system, runtime } = await setup({
      failInfer: (inputs) =>
        (inputs[0]?.shape[0] ?? 0) > 2 ? 'CUDA out of memory. Tried to allocate 2.00 GiB' : null,
    });
    const access = createModelAccess({ ...system, runtime });
    const model = await access.load('synthetic-clip-vision', { device: 'cuda:0' });
    const units = Array.from({ length: 5 }, (_, u) =>
      float32Tensor(new Float32Array(3 * 224 * 224).fill(u / 5), [3, 224, 224]),
    );
    const result = await access.runBatches(
      units,
      (batch) =>
        model
          .infer({ pixel_values: stackTensors(batch) })
          .then((o) => unstackTensor(o.image_embeds as Tensor)),
      { batchSize: 8 },
    );
    expect(result.batchSize).toBeLessThanOrEqual(2);
    expect(result.retries).toBeGreaterThan(0);
    // unit u is a constant image of value u/5: its embedding is (u/5) · Σ_c W[c, j]
    const expected = (u: number) =>
      expectedClipEmbedding(new Float32Array(3 * 224 * 224).fill(u / 5), 224, 224)[0] ?? Number.NaN;
    result.results.forEach((r, u) => expect(r.data[0]).toBeCloseTo(expected(u), 4));
    // called directly (no batch runner), the server's answer surfaces as the OOM error code
    const bad = await model
      .infer({ pixel_values: float32Tensor(new Float32Array(4 * 3 * 224 * 224), [4, 3, 224, 224]) })
      .catch((e: unknown) => e);
    expect(codeOf(bad)).toBe('OOM');
  });

  it('any other server error is INTERNAL and not retried by the batch runner', async () => {
    let calls = 0;
    const { system, runtime } = await setup({
      failInfer: () => {
        calls += 1;
        return 'inference request batch-size must be <= 8';
      },
    });
    const access = createModelAccess({ ...system, runtime, defaultDevice: 'cuda:0' });
    const model = await access.load('synthetic-clip-vision');
    const units = [float32Tensor(new Float32Array(3 * 224 * 224), [3, 224, 224])];
    const error = await access
      .runBatches(
        units,
        (b) =>
          model.infer({ pixel_values: stackTensors(b) }).then((o) => unstackTensor(o.image_embeds as Tensor)),
        { batchSize: 1 },
      )
      .catch((e: unknown) => e);
    expect(codeOf(error)).toBe('INTERNAL');
    expect(calls).toBe(1);
  });
});
