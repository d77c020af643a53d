import * as tf from '@tensorflow/tfjs-core';
import * as tfc from '@tensorflow/tfjs-converter';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataProcessorError } from '../../contracts/index.js';
import type { Precision } from '../card.js';
import type { Device } from '../device.js';
import { classifyEngineError } from '../oom.js';
import { findPackageDir, type LocatedModel } from '../store.js';
import type { Tensor } from '../tensor.js';
import type { EngineSession } from './types.js';

let backendReady: Promise<void> | null = null;

/** Starts TFJS's wasm backend once per process, its .wasm files read from the installed package. */
export function ensureTfjsWasm(): Promise<void> {
  backendReady ??= (async () => {
    const pkg = findPackageDir('@tensorflow/tfjs-backend-wasm');
    if (pkg === null)
      throw new DataProcessorError('INTERNAL', '@tensorflow/tfjs-backend-wasm is not installed');
    // A directory path (not a URL): emscripten reads it with fs in Node, so nothing is fetched.
    setWasmPaths(`${join(pkg, 'dist')}/`);
    if (!(await tf.setBackend('wasm')))
      throw new DataProcessorError('INTERNAL', 'the TFJS wasm backend failed to start');
    await tf.ready();
  })();
  return backendReady;
}

interface ModelJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  signature?: object;
  userDefinedMetadata?: Record<string, object>;
}

/** Loads a TFJS graph model from disk through a custom IO handler (never a URL). */
async function loadGraphModelFromDisk(located: LocatedModel): Promise<tfc.GraphModel> {
  const json = JSON.parse(await readFile(located.entryPath, 'utf8')) as ModelJson;
  const shards: Buffer[] = [];
  for (const group of json.weightsManifest) {
    for (const path of group.paths) shards.push(await readFile(join(located.dir, path)));
  }
  const all = Buffer.concat(shards);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData,
    ...(json.format === undefined ? {} : { format: json.format }),
    ...(json.generatedBy === undefined ? {} : { generatedBy: json.generatedBy }),
    ...(json.convertedBy === undefined ? {} : { convertedBy: json.convertedBy }),
    ...(json.signature === undefined ? {} : { signature: json.signature }),
    ...(json.userDefinedMetadata === undefined ? {} : { userDefinedMetadata: json.userDefinedMetadata }),
  };
  return tfc.loadGraphModel({ load: () => Promise.resolve(artifacts) });
}

/** In-process TFJS on the wasm backend (CPU only; the device policy refuses CUDA before this). */
export async function openTfjsSession(
  located: LocatedModel,
  _device: Device,
  _precision: Precision,
): Promise<EngineSession> {
  await ensureTfjsWasm();
  let model: tfc.GraphModel;
  try {
    model = await loadGraphModelFromDisk(located);
  } catch (error) {
    throw classifyEngineError(error, `TFJS could not load ${located.card.name} (${located.entryPath})`);
  }
  const outputNames = located.card.outputs.map((o) => o.name);
  return {
    async infer(inputs) {
      const feeds: tf.NamedTensorMap = {};
      const produced: tf.Tensor[] = [];
      try {
        for (const [name, t] of Object.entries(inputs)) {
          if (t.dtype === 'int64')
            throw new DataProcessorError('CONTRACT_VIOLATION', `TFJS has no int64 (input ${name})`);
          // TFJS has no uint8 dtype: bytes go in as int32 (the graph's Cast, if any, handles them).
          feeds[name] = tf.tensor(
            t.data as Float32Array | Int32Array | Uint8Array,
            [...t.dims],
            t.dtype === 'uint8' ? 'int32' : t.dtype,
          );
        }
        let result: tf.Tensor | tf.Tensor[];
        try {
          result = model.execute(feeds, outputNames);
        } catch (error) {
          // Models with control flow or dynamic shapes only run asynchronously.
          if (!(error instanceof Error) || !/executeAsync/.test(error.message)) throw error;
          result = await model.executeAsync(feeds, outputNames);
        }
        const list = Array.isArray(result) ? result : [result];
        produced.push(...list);
        const out: Record<string, Tensor> = {};
        for (const [i, t] of list.entries()) {
          const name = outputNames[i] ?? `output_${i}`;
          const data = await t.data();
          if (!(data instanceof Float32Array || data instanceof Int32Array || data instanceof Uint8Array)) {
            throw new DataProcessorError('CONTRACT_VIOLATION', `output ${name} is not a numeric tensor`);
          }
          out[name] =
            data instanceof Float32Array
              ? { dtype: 'float32', dims: t.shape, data }
              : data instanceof Int32Array
                ? { dtype: 'int32', dims: t.shape, data }
                : { dtype: t.dtype === 'bool' ? 'bool' : 'uint8', dims: t.shape, data };
        }
        return out;
      } catch (error) {
        throw classifyEngineError(error, `TFJS failed running ${located.card.name}`);
      } finally {
        tf.dispose([...Object.values(feeds), ...produced]);
      }
    },
    dispose() {
      model.dispose();
      return Promise.resolve();
    },
  };
}
