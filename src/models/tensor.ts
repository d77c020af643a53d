import { DataProcessorError } from '../contracts/index.js';

/** Element types a model input/output may have (the subset our models use). */
export type TensorDtype = 'float32' | 'int32' | 'int64' | 'uint8' | 'bool';

/** The typed array that holds each dtype (`bool` as 0/1 bytes). */
export interface TensorData {
  float32: Float32Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

/**
 * A dense tensor in C (row-major) order: the one value every runtime takes and returns.
 * Kept deliberately plain (no methods, no engine objects) so pre/post-processing code can build
 * and read it without knowing which engine runs the model.
 */
export interface Tensor<D extends TensorDtype = TensorDtype> {
  dtype: D;
  /** Sizes of each axis, outermost first (`[N, 3, 224, 224]`). */
  dims: readonly number[];
  data: TensorData[D];
}

/** Number of elements of a shape. */
export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Builds a tensor and checks that `data` has exactly `product(dims)` elements. */
export function tensor<D extends TensorDtype>(
  dtype: D,
  data: TensorData[D],
  dims: readonly number[],
): Tensor<D> {
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new DataProcessorError(
      'CONTRACT_VIOLATION',
      `tensor dims must be non-negative integers, got [${dims.join(', ')}]`,
    );
  }
  if (data.length !== elementCount(dims)) {
    throw new DataProcessorError(
      'CONTRACT_VIOLATION',
      `tensor data has ${data.length} elements but dims [${dims.join(', ')}] need ${elementCount(dims)}`,
    );
  }
  return { dtype, dims: [...dims], data };
}

/** A float32 tensor. */
export const float32Tensor = (
  data: Float32Array | readonly number[],
  dims: readonly number[],
): Tensor<'float32'> =>
  tensor('float32', data instanceof Float32Array ? data : Float32Array.from(data), dims);

/**
 * Stacks same-shaped tensors along a new leading batch axis (`[a..] × n → [n, a..]`): how a
 * batch runner builds one model input from per-unit tensors.
 */
export function stackTensors<D extends TensorDtype>(items: readonly Tensor<D>[]): Tensor<D> {
  const first = items[0];
  if (first === undefined) throw new DataProcessorError('CONTRACT_VIOLATION', 'cannot stack zero tensors');
  const per = elementCount(first.dims);
  const Ctor = first.data.constructor as new (n: number) => TensorData[D];
  const out = new Ctor(per * items.length);
  items.forEach((item, i) => {
    if (item.dtype !== first.dtype || item.dims.join(',') !== first.dims.join(',')) {
      throw new DataProcessorError('CONTRACT_VIOLATION', 'stackTensors needs tensors of one dtype and shape');
    }
    (out as unknown as { set(a: ArrayLike<number | bigint>, o: number): void }).set(item.data, i * per);
  });
  return { dtype: first.dtype, dims: [items.length, ...first.dims], data: out };
}

/** Splits a tensor along its leading axis into `dims[0]` tensors (the inverse of `stackTensors`). */
export function unstackTensor<D extends TensorDtype>(t: Tensor<D>): Tensor<D>[] {
  const [n, ...rest] = t.dims;
  if (n === undefined) throw new DataProcessorError('CONTRACT_VIOLATION', 'cannot unstack a 0-d tensor');
  const per = elementCount(rest);
  return Array.from({ length: n }, (_, i) => ({
    dtype: t.dtype,
    dims: rest,
    data: t.data.slice(i * per, (i + 1) * per) as TensorData[D],
  }));
}
