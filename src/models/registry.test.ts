import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildSyntheticModel,
  createRegistry,
  float32Tensor,
  ModelRegistry,
  stackTensors,
  tensor,
  unstackTensor,
  weightsDigest,
  type ModelCard,
} from './index.js';

const base = (): ModelCard => buildSyntheticModel('depth').card;
const code = (run: () => unknown): string => {
  try {
    run();
    return 'returned';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
};

describe('model registry', () => {
  it('looks cards up by name and version; the last registered version is the default', () => {
    const v1 = base();
    const v2 = { ...base(), version: '2' };
    const registry = new ModelRegistry([v1, v2]);
    expect(registry.get('synthetic-depth').version).toBe('2');
    expect(registry.get('synthetic-depth', '1').version).toBe('1');
    expect(code(() => registry.get('synthetic-depth', '3'))).toBe('MODEL_NOT_FOUND');
    expect(registry.has('synthetic-depth', '1')).toBe(true);
    expect(registry.has('nope')).toBe(false);
  });

  it('refuses invalid and duplicate cards with CONTRACT_VIOLATION', () => {
    const registry = createRegistry();
    expect(code(() => registry.register(registry.get('emotion')))).toBe('CONTRACT_VIOLATION');
    expect(code(() => new ModelRegistry([{ ...base(), entry: 'other.onnx' }]))).toBe('CONTRACT_VIOLATION');
    expect(code(() => new ModelRegistry([{ ...base(), synthetic: false }]))).toBe('CONTRACT_VIOLATION');
    // only external cards may leave digests to install time
    const unpinned = { ...base(), files: [{ path: 'model.onnx', sha256: null, bytes: null }] };
    expect(code(() => new ModelRegistry([unpinned]))).toBe('CONTRACT_VIOLATION');
    expect(
      code(
        () => new ModelRegistry([{ ...base(), files: [{ path: '../x.onnx', sha256: null, bytes: null }] }]),
      ),
    ).toBe('CONTRACT_VIOLATION');
  });

  it('weights_digest depends on every file digest and not on listing order', () => {
    const a = { path: 'a.bin', sha256: '1'.repeat(64) };
    const b = { path: 'b.json', sha256: '2'.repeat(64) };
    expect(weightsDigest([a, b])).toBe(weightsDigest([b, a]));
    expect(weightsDigest([a, b])).not.toBe(weightsDigest([a, { ...b, sha256: '3'.repeat(64) }]));
    expect(weightsDigest([a])).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('tensors', () => {
  it('stack and unstack along the batch axis', () => {
    const t = [float32Tensor([1, 2, 3, 4], [2, 2]), float32Tensor([5, 6, 7, 8], [2, 2])];
    const s = stackTensors(t);
    expect(s.dims).toEqual([2, 2, 2]);
    expect(Array.from(s.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(unstackTensor(s).map((u) => Array.from(u.data))).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
  });

  it('reject a data length that does not fit the dims, mixed shapes and empty stacks', () => {
    expect(code(() => float32Tensor([1, 2, 3], [2, 2]))).toBe('CONTRACT_VIOLATION');
    expect(code(() => tensor('int32', new Int32Array(2), [2, -1]))).toBe('CONTRACT_VIOLATION');
    expect(code(() => stackTensors([float32Tensor([1], [1]), float32Tensor([1, 2], [2])]))).toBe(
      'CONTRACT_VIOLATION',
    );
    expect(code(() => stackTensors([]))).toBe('CONTRACT_VIOLATION');
    expect(code(() => unstackTensor(float32Tensor([1], [])))).toBe('CONTRACT_VIOLATION');
  });
});

describe('docs/MODEL_SYSTEM_RULES.md', () => {
  it('has a row for every builtin card with its version, engine and weights licence', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'MODEL_SYSTEM_RULES.md'), 'utf8');
    const rows = new Map(
      doc
        .split('\n')
        .filter((l) => l.startsWith('| `'))
        .map((l) => l.split('|').map((c) => c.trim()))
        .map((cells) => [cells[1]?.replaceAll('`', ''), cells] as const),
    );
    for (const card of createRegistry().list()) {
      const cells = rows.get(card.name);
      expect(cells, card.name).toBeDefined();
      expect(cells?.[2]).toBe(card.version);
      expect(cells?.[3]).toBe(card.engine);
      expect(cells?.[6]).toContain(card.licence.weights);
    }
  });
});
