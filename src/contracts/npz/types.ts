/** dtypes an artifact array may have (R-NPZ-1), with their NumPy descr. */
export const DTYPES = {
  float32: { descr: '<f4', itemBytes: 4 },
  float64: { descr: '<f8', itemBytes: 8 },
  int32: { descr: '<i4', itemBytes: 4 },
  int64: { descr: '<i8', itemBytes: 8 },
  uint8: { descr: '|u1', itemBytes: 1 },
  bool: { descr: '|b1', itemBytes: 1 },
  /** Fixed-width UTF-32LE strings (`<U{n}`); n is the longest string in code points. */
  unicode: { descr: '<U', itemBytes: 4 },
} as const;
export type DType = keyof typeof DTYPES;

export interface TypedDataByDType {
  float32: Float32Array;
  float64: Float64Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  /** 0 = false, 1 = true */
  bool: Uint8Array;
  unicode: string[];
}

/** One n-dimensional array in C order. `shape: []` is a 0-d array holding one element. */
export type NdArray = {
  [D in DType]: { dtype: D; shape: number[]; data: TypedDataByDType[D] };
}[DType];

export const nd = {
  float32: (data: Float32Array | number[], shape?: number[]): NdArray => {
    const d = data instanceof Float32Array ? data : Float32Array.from(data);
    return { dtype: 'float32', shape: shape ?? [d.length], data: d };
  },
  float64: (data: Float64Array | number[], shape?: number[]): NdArray => {
    const d = data instanceof Float64Array ? data : Float64Array.from(data);
    return { dtype: 'float64', shape: shape ?? [d.length], data: d };
  },
  int32: (data: Int32Array | number[], shape?: number[]): NdArray => {
    const d = data instanceof Int32Array ? data : Int32Array.from(data);
    return { dtype: 'int32', shape: shape ?? [d.length], data: d };
  },
  int64: (data: BigInt64Array | number[], shape?: number[]): NdArray => {
    const d = data instanceof BigInt64Array ? data : BigInt64Array.from(data.map((v) => BigInt(v)));
    return { dtype: 'int64', shape: shape ?? [d.length], data: d };
  },
  uint8: (data: Uint8Array | number[], shape?: number[]): NdArray => {
    const d = data instanceof Uint8Array ? data : Uint8Array.from(data);
    return { dtype: 'uint8', shape: shape ?? [d.length], data: d };
  },
  bool: (data: boolean[] | Uint8Array, shape?: number[]): NdArray => {
    const d = data instanceof Uint8Array ? data : Uint8Array.from(data, (v) => (v ? 1 : 0));
    return { dtype: 'bool', shape: shape ?? [d.length], data: d };
  },
  unicode: (data: string[], shape?: number[]): NdArray => ({
    dtype: 'unicode',
    shape: shape ?? [data.length],
    data,
  }),
  /** A 0-d unicode array, the form `meta` takes (R-NPZ-1). */
  scalarString: (value: string): NdArray => ({ dtype: 'unicode', shape: [], data: [value] }),
};

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
