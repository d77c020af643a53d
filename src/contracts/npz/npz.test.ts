import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PYTHON, loadNpzWithNumpy, runPythonJson } from '../../../test/support/numpy.js';
import { decodeNpy, decodeNpz, encodeNpy, encodeNpz, nd, type NdArray } from './index.js';
import { execFileSync } from 'node:child_process';

const dir = mkdtempSync(join(tmpdir(), 'dp-npz-'));

function nanToString(values: unknown): unknown {
  if (Array.isArray(values)) return values.map(nanToString);
  return typeof values === 'number' && Number.isNaN(values) ? 'NaN' : values;
}

/** Nested list in C order, as numpy's tolist() gives it. */
function toNested(flat: unknown[], shape: number[]): unknown {
  if (shape.length === 0) return flat[0];
  const [first, ...rest] = shape;
  const stride = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: first ?? 0 }, (_, i) =>
    toNested(flat.slice(i * stride, (i + 1) * stride), rest),
  );
}

const arrays: Record<string, NdArray> = {
  f32: nd.float32([1.5, -2.25, Number.NaN, 3.4028234663852886e38], [2, 2]),
  f64: nd.float64([Math.PI, Number.NaN, -1e-300]),
  i32: nd.int32([0, -2147483648, 2147483647]),
  i64: nd.int64(BigInt64Array.from([0n, -(2n ** 63n), 2n ** 53n + 1n])),
  u8: nd.uint8(
    Uint8Array.from({ length: 2 * 3 * 2 * 3 }, (_, i) => (i * 37) % 256),
    [2, 3, 2, 3],
  ),
  flags: nd.bool([true, false, true]),
  words: nd.unicode(['', 'plain', 'ünïcödé', '漢字', '😀 emoji 𝄞', 'x'.repeat(70)], [2, 3]),
  scalar: nd.float32([42.5], []),
  empty: nd.float32([], [0, 4]),
};

const meta = { producer: 'test', nested: { unicode: 'naïve 😀', list: [1, null, 'x'] }, count: 3 };

describe('NPZ writer', () => {
  const path = join(dir, 'all.npz');
  writeFileSync(path, encodeNpz(arrays, meta));

  it('is loaded by numpy with allow_pickle=False with the same values, shapes, dtypes and meta', () => {
    const loaded = loadNpzWithNumpy(path);
    expect(loaded.meta).toEqual(meta);
    const expectedDescr: Record<string, string> = {
      f32: '<f4',
      f64: '<f8',
      i32: '<i4',
      i64: '<i8',
      u8: '|u1',
      flags: '|b1',
      words: '<U70',
      scalar: '<f4',
      empty: '<f4',
    };
    expect(Object.keys(loaded.arrays).sort()).toEqual(Object.keys(arrays).sort());
    for (const [name, array] of Object.entries(arrays)) {
      const got = loaded.arrays[name];
      expect(got?.dtype, name).toBe(expectedDescr[name]);
      expect(got?.shape, name).toEqual(array.shape);
      let flat: unknown[];
      if (array.dtype === 'int64') flat = [...array.data].map((v) => Number(v));
      else if (array.dtype === 'bool') flat = [...array.data].map((v) => v === 1);
      else if (array.dtype === 'float32') flat = [...array.data].map((v) => v);
      else flat = Array.from(array.data as ArrayLike<unknown>);
      expect(got?.values, name).toEqual(nanToString(toNested(flat, array.shape)));
    }
  });

  it('writes int64 values beyond 2^53 exactly', () => {
    const exact = runPythonJson<string[]>(
      'import sys, json, numpy as np; print(json.dumps([str(v) for v in np.load(sys.argv[1])["i64"]]))',
      [path],
    );
    expect(exact).toEqual(['0', String(-(2n ** 63n)), String(2n ** 53n + 1n)]);
  });

  it('is deterministic: same arrays and meta give the same bytes', () => {
    expect(Buffer.from(encodeNpz(arrays, meta)).equals(Buffer.from(encodeNpz(arrays, meta)))).toBe(true);
  });

  it('round-trips through our reader', () => {
    const decoded = decodeNpz(readFileSync(path));
    expect(decoded.meta).toEqual(meta);
    expect(decoded.arrays.words).toEqual(arrays.words);
    expect(decoded.arrays.i64).toEqual(arrays.i64);
    expect([...(decoded.arrays.f64?.data as Float64Array)]).toEqual([...(arrays.f64?.data as Float64Array)]);
  });

  it('writes NPY format 2.0 that numpy reads', () => {
    const p = join(dir, 'v2.npy');
    const bytes = encodeNpy(nd.int32([1, 2, 3]), 'v2', 2);
    expect(bytes[6]).toBe(2);
    expect(bytes.length % 64).toBe(12 % 64); // preamble is 64-aligned, data 12 bytes
    writeFileSync(p, bytes);
    const out = runPythonJson<number[]>(
      'import sys, json, numpy as np; print(json.dumps(np.load(sys.argv[1]).tolist()))',
      [p],
    );
    expect(out).toEqual([1, 2, 3]);
  });

  it('rejects bad input with CONTRACT_VIOLATION', () => {
    expect(() => encodeNpz({ a: nd.float32([1, 2], [3]) }, {})).toThrow(/needs 3/);
    expect(() => encodeNpz({ meta: nd.float32([1]) }, {})).toThrow(/reserved/);
    expect(() => encodeNpz({ 'bad name': nd.float32([1]) }, {})).toThrow(/invalid array name/);
    expect(() => encodeNpz({}, { x: Number.NEGATIVE_INFINITY })).toThrow(/non-finite/);
    expect(() => decodeNpz(Uint8Array.from([1, 2, 3]))).toThrow(/not a valid NPZ/);
    try {
      decodeNpy(Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
      expect.unreachable();
    } catch (error) {
      expect((error as { code: string }).code).toBe('CONTRACT_VIOLATION');
    }
  });
});

describe('NPZ reader', () => {
  it('reads what numpy.savez and savez_compressed write', () => {
    for (const fn of ['savez', 'savez_compressed']) {
      const p = join(dir, `${fn}.npz`);
      execFileSync(PYTHON, [
        '-c',
        `import sys, json, numpy as np
np.${fn}(sys.argv[1], a=np.arange(6, dtype=np.float32).reshape(2, 3), b=np.array(['x', '😀'], dtype='<U1'),
  c=np.array([True, False]), d=np.array([-5, 7], dtype=np.int64), meta=np.array(json.dumps({'k': 'v'})))`,
        p,
      ]);
      const z = decodeNpz(readFileSync(p));
      expect(z.meta).toEqual({ k: 'v' });
      expect(z.arrays.a).toEqual(nd.float32([0, 1, 2, 3, 4, 5], [2, 3]));
      expect(z.arrays.b).toEqual(nd.unicode(['x', '😀']));
      expect(z.arrays.c).toEqual(nd.bool([true, false]));
      expect(z.arrays.d).toEqual(nd.int64([-5, 7]));
    }
  });
});
