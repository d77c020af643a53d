// TEST/BENCH-ONLY LOADER — the components load their models through `ctx.models` (src/models:
// registry, digests, device policy, batching). This file remains only so the unit tests of the
// pre/post-processing (test/visual-*.test.ts) and bench/visual_core.ts can open a model file
// directly, without a registry or run. It is not used by any component.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as TfCore from '@tensorflow/tfjs-core';

import type { InferModel as LoadedModel, Tensor } from './model-types.js';

export type { LoadedModel, Tensor };

const require = createRequire(import.meta.url);

/**
 * Absolute path of a file inside an installed npm package (models ship in packages). `entry` is
 * any subpath the package exports at its root (some export no `package.json`).
 */
export function packageFile(packageName: string, relativePath: string, entry = 'package.json'): string {
  return join(dirname(require.resolve(`${packageName}/${entry}`)), relativePath);
}

/** Float32 tensor helper. */
export function float32Tensor(data: Float32Array, dims: number[]): Tensor {
  return { dtype: 'float32', dims, data };
}

// ---------------------------------------------------------------------------------------------
// ONNX Runtime (onnxruntime-node, CPU execution provider)

/**
 * Opens an ONNX model file on the CPU execution provider. One intra-op thread without spinning
 * by default: on a shared 2-core machine two spinning threads measured ~2× slower per line than
 * one (parallelism comes from running providers side by side, the model system's call).
 */
export async function loadOnnxModel(path: string, threads = 1): Promise<LoadedModel> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(path, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  return {
    async infer(inputs) {
      const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
      for (const [name, t] of Object.entries(inputs)) feeds[name] = new ort.Tensor(t.dtype, t.data, t.dims);
      const out = await session.run(feeds);
      const result: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(out)) {
        result[name] = {
          dtype: t.type as Tensor['dtype'],
          dims: [...t.dims],
          data: t.data as Tensor['data'],
        };
      }
      return result;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// TFJS graph models on the wasm backend (tfjs-node cannot install here)

type Tf = typeof TfCore;
let tfReady: Promise<Tf> | null = null;

async function initTf(): Promise<Tf> {
  const tf = await import('@tensorflow/tfjs-core');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // Local wasm binaries, never a URL (no network at run time).
  const dir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
  wasm.setWasmPaths(dir);
  await tf.setBackend('wasm');
  await tf.ready();
  return tf;
}

/** Initialises TFJS on the wasm backend once per process. */
export function tfjs(): Promise<Tf> {
  tfReady ??= initTf();
  return tfReady;
}

/**
 * Loads a TFJS graph model (model.json + .bin shards) from disk through a custom IO handler.
 * `outputs` names the graph nodes to fetch; the result keys are those names.
 */
export async function loadTfjsGraphModel(jsonPath: string, outputs?: string[]): Promise<LoadedModel> {
  const tf = await tfjs();
  const converter = await import('@tensorflow/tfjs-converter');
  const json = JSON.parse(await readFile(jsonPath, 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: object[] }[];
  };
  const shards: Uint8Array[] = [];
  const weightSpecs: object[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) shards.push(await readFile(join(dirname(jsonPath), p)));
    weightSpecs.push(...group.weights);
  }
  const total = shards.reduce((a, s) => a + s.byteLength, 0);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const s of shards) {
    weightData.set(s, offset);
    offset += s.byteLength;
  }
  const model = await converter.loadGraphModel({
    load: () =>
      Promise.resolve({
        modelTopology: json.modelTopology,
        weightSpecs: weightSpecs as never,
        weightData: weightData.buffer,
      }),
  });
  const outputNames = outputs ?? model.outputs.map((o) => o.name);
  return {
    async infer(inputs) {
      const feeds: Record<string, TfCore.Tensor> = {};
      for (const [name, t] of Object.entries(inputs)) {
        if (!(t.data instanceof Float32Array || t.data instanceof Int32Array))
          throw new Error(`tfjs input ${name}: only float32/int32 supported here`);
        feeds[name] = tf.tensor(t.data, [...t.dims], t.dtype === 'int32' ? 'int32' : 'float32');
      }
      // The shipped graphs have no control flow, so the synchronous executor suffices (and does not warn).
      const result = model.execute(feeds, outputNames);
      const list = Array.isArray(result) ? result : [result];
      const out: Record<string, Tensor> = {};
      for (let i = 0; i < list.length; i++) {
        const t = list[i];
        const name = outputNames[i];
        if (!t || !name) continue;
        const data = (await t.data()) as Float32Array | Int32Array;
        out[name] = { dtype: t.dtype === 'int32' ? 'int32' : 'float32', dims: [...t.shape], data };
      }
      for (const t of Object.values(feeds)) t.dispose();
      for (const t of list) t.dispose();
      return out;
    },
  };
}
