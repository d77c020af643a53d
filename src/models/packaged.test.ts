// The committed cards of the packaged models against the package files themselves: digests and
// sizes re-computed here, signatures read from the models by their own engines.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/support/media.js';
import { PACKAGED_CARDS } from './cards/packaged.js';
import {
  builtinCards,
  clearModelSessions,
  createModelAccess,
  findPackageDir,
  float32Tensor,
  modelCardSchema,
  ModelStore,
  type ModelCard,
} from './index.js';

/** The card's files in its installed npm package (found independently of the model store). */
function dirOf(card: ModelCard): string {
  if (card.source.kind !== 'npm') throw new Error(`${card.name} is not packaged`);
  const pkg = findPackageDir(card.source.package);
  if (pkg === null) throw new Error(`${card.source.package} is not installed`);
  return join(pkg, card.source.dir);
}

afterAll(async () => {
  await clearModelSessions();
});

describe('builtin cards', () => {
  it('all parse, have unique names and say who licenses the weights', () => {
    const cards = builtinCards();
    for (const card of cards) expect(modelCardSchema.safeParse(card).success, card.name).toBe(true);
    expect(new Set(cards.map((c) => c.name)).size).toBe(cards.length);
    expect(cards.every((c) => !c.synthetic)).toBe(true);
    for (const card of cards) expect(['MIT', 'Apache-2.0', 'BSD-3-Clause']).toContain(card.licence.weights);
  });
});

describe.each(PACKAGED_CARDS.map((c) => [c.name, c] as const))('packaged card %s', (_name, card) => {
  it('has the real sha256 and size of every package file', () => {
    for (const f of card.files) {
      const path = join(dirOf(card), f.path);
      expect(f.sha256, f.path).toBe(createHash('sha256').update(readFileSync(path)).digest('hex'));
      expect(f.bytes, f.path).toBe(statSync(path).size);
    }
  });

  it('declares the signature the model itself has', async () => {
    if (card.engine === 'onnx') {
      const session = await ort.InferenceSession.create(join(dirOf(card), card.entry));
      const meta = [...session.inputMetadata, ...session.outputMetadata];
      for (const [spec, m] of [...card.inputs, ...card.outputs].map((s, i) => [s, meta[i]] as const)) {
        if (m === undefined || !m.isTensor) throw new Error(`no tensor metadata for ${spec.name}`);
        expect(spec.name).toBe(m.name);
        expect(spec.dtype).toBe(m.type);
        // fixed dims equal; symbolic dims where the model has symbolic ones
        expect(spec.shape.map((d) => (typeof d === 'number' ? d : 'sym'))).toEqual(
          m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 'sym')),
        );
      }
      await session.release();
    } else {
      const json = JSON.parse(readFileSync(join(dirOf(card), card.entry), 'utf8')) as {
        signature?: Record<
          string,
          Record<string, { name: string; tensorShape: { dim: { size: string }[] } }>
        >;
        userDefinedMetadata?: {
          signature?: Record<
            string,
            Record<string, { name: string; tensorShape: { dim: { size: string }[] } }>
          >;
        };
        weightsManifest: { paths: string[] }[];
        modelTopology?: {
          node?: {
            name: string;
            op: string;
            input?: string[];
            attr?: { dtype?: { type: number }; shape?: { shape: { dim: { size: string }[] } } };
          }[];
        };
      };
      const sig = json.signature ?? json.userDefinedMetadata?.signature;
      if (sig === undefined) {
        // A graph without a signature (USE Lite): the inputs are its Placeholder nodes (dtype,
        // shape), the output the one node nothing consumes.
        const nodes = json.modelTopology?.node ?? [];
        // TF DataType enum; TFJS has no int64 and feeds DT_INT64 placeholders as int32.
        const TF_DTYPES: Record<number, string> = { 1: 'float32', 3: 'int32', 9: 'int32', 10: 'bool' };
        for (const spec of card.inputs) {
          const placeholder = nodes.find((n) => n.op === 'Placeholder' && n.name === spec.name);
          expect(placeholder, `input ${spec.name}`).toBeDefined();
          expect(TF_DTYPES[placeholder?.attr?.dtype?.type ?? -1]).toBe(spec.dtype);
          expect(spec.shape.map((d) => (typeof d === 'number' ? d : -1))).toEqual(
            placeholder?.attr?.shape?.shape.dim.map((d) => Number(d.size)),
          );
        }
        const consumed = new Set(
          nodes.flatMap((n) => (n.input ?? []).map((i) => i.replace(/^\^|:\d+$/g, ''))),
        );
        expect(nodes.filter((n) => !consumed.has(n.name)).map((n) => n.name)).toEqual(
          card.outputs.map((o) => o.name),
        );
      }
      for (const [io, specs] of [
        ['inputs', card.inputs],
        ['outputs', card.outputs],
      ] as const) {
        if (sig === undefined) break;
        for (const spec of specs) {
          const entry = Object.values(sig[io] ?? {}).find((e) => e.name.replace(/:0$/, '') === spec.name);
          expect(entry, `${io} ${spec.name}`).toBeDefined();
          expect(spec.shape).toEqual(
            entry?.tensorShape.dim.map((d) => (Number(d.size) < 0 ? 'N' : Number(d.size))),
          );
        }
      }
      // every weight shard the model.json names is a file of the card
      expect(
        json.weightsManifest.flatMap((g) => g.paths).every((p) => card.files.some((f) => f.path === p)),
      ).toBe(true);
    }
  });
});

describe('real packaged models run through the model system', () => {
  const access = () => createModelAccess({ store: new ModelStore(makeTempDir('models')) });

  it('TFJS (wasm) emotion: 7 class probabilities per face, results mapped by index in a batch', async () => {
    const model = await access().load('emotion', { device: 'cpu' });
    expect(model.used).toMatchObject({
      model_name: 'emotion',
      runtime: 'inprocess',
      engine: 'tfjs',
      device: 'cpu',
    });
    const n = 4;
    const per = 64 * 64;
    // four different "faces": constant levels and a gradient
    const pixels = new Float32Array(n * per);
    for (let i = 0; i < n; i++)
      for (let p = 0; p < per; p++) pixels[i * per + p] = i < 3 ? -0.8 + 0.7 * i : (p % 64) / 32 - 1;
    const batch = (await model.infer({ input_1: float32Tensor(pixels, [n, 64, 64, 1]) })).Identity;
    expect(batch?.dims).toEqual([n, 7]);
    const probs = Array.from(batch?.data as Float32Array);
    for (let i = 0; i < n; i++)
      expect(probs.slice(i * 7, i * 7 + 7).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    // each row equals the model run on that unit alone: batching maps results to units by index
    for (let i = 0; i < n; i++) {
      const single = (
        await model.infer({ input_1: float32Tensor(pixels.slice(i * per, (i + 1) * per), [1, 64, 64, 1]) })
      ).Identity;
      const row = Array.from(single?.data as Float32Array);
      row.forEach((v, k) => expect(v).toBeCloseTo(probs[i * 7 + k] ?? Number.NaN, 5));
    }
    // different inputs give different outputs (the model is really computing)
    expect(probs.slice(0, 7)).not.toEqual(probs.slice(7, 14));
  });

  it('ONNX Runtime PaddleOCR classifier: two orientation probabilities per crop', async () => {
    const model = await access().load('paddleocr-cls');
    expect(model.used).toMatchObject({
      engine: 'onnx',
      runtime: 'inprocess',
      device: 'cpu',
      precision: 'fp32',
    });
    const n = 3;
    const per = 3 * 48 * 192;
    const x = new Float32Array(n * per);
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * (0.001 + 0.003 * Math.floor(i / per)));
    const out = (await model.infer({ x: float32Tensor(x, [n, 3, 48, 192]) }))['softmax_0.tmp_0'];
    expect(out?.dims).toEqual([n, 2]);
    const p = Array.from(out?.data as Float32Array);
    for (let i = 0; i < n; i++) expect((p[2 * i] ?? 0) + (p[2 * i + 1] ?? 0)).toBeCloseTo(1, 5);
  });
});
