export { DTYPES, nd, elementCount, type DType, type NdArray, type TypedDataByDType } from './types.js';
export {
  encodeNpy,
  decodeNpy,
  npyPreamble,
  parseNpyHeader,
  assertConsistent,
  type NpyHeader,
} from './npy.js';
export { encodeNpz, decodeNpz, readNpzFile, type NpzFile } from './npz.js';
export { checkArrays, type ArraySpec, type Dim, type NpzSchema } from './schema.js';
