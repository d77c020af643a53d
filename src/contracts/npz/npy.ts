import { ContractViolationError } from '../errors.js';
import { DTYPES, elementCount, type DType, type NdArray } from './types.js';

/**
 * NPY format 1.0/2.0 (numpy/lib/format.py): magic, version, little-endian header length, an ASCII
 * Python-literal dict padded with spaces to a 64-byte boundary and ended by '\n', then C-order data.
 */
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGN = 64;

function descrOf(array: NdArray): string {
  if (array.dtype !== 'unicode') return DTYPES[array.dtype].descr;
  return `<U${unicodeWidth(array.data)}`;
}

/** Width in code points of a fixed-width unicode array (numpy's minimum is 1). */
function unicodeWidth(strings: readonly string[]): number {
  let width = 1;
  for (const s of strings) {
    let n = 0;
    for (const _ of s) n += 1;
    if (n > width) width = n;
  }
  return width;
}

function shapeLiteral(shape: readonly number[]): string {
  if (shape.length === 0) return '()';
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/**
 * The preamble (magic + version + header) for an array of `descr` and `shape`. Version 1.0 unless
 * the header does not fit in 65535 bytes. Exposed so large arrays (frame batches) can be streamed.
 */
export function npyPreamble(descr: string, shape: readonly number[], minVersion: 1 | 2 = 1): Uint8Array {
  for (const dim of shape) {
    if (!Number.isInteger(dim) || dim < 0)
      throw new ContractViolationError(`invalid NPY shape [${shape.join(', ')}]`);
  }
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeLiteral(shape)}, }`;
  for (const version of [1, 2] as const) {
    if (version < minVersion) continue;
    const lengthBytes = version === 1 ? 2 : 4;
    const fixed = MAGIC.length + 2 + lengthBytes;
    const total = Math.ceil((fixed + dict.length + 1) / ALIGN) * ALIGN;
    const headerLength = total - fixed;
    if (version === 1 && headerLength > 0xffff) continue;
    const out = new Uint8Array(total);
    out.set(MAGIC, 0);
    out[6] = version;
    out[7] = 0;
    const view = new DataView(out.buffer);
    if (version === 1) view.setUint16(8, headerLength, true);
    else view.setUint32(8, headerLength, true);
    const padded = dict.padEnd(headerLength - 1, ' ') + '\n';
    for (let i = 0; i < padded.length; i += 1) out[fixed + i] = padded.charCodeAt(i);
    return out;
  }
  throw new ContractViolationError('NPY header too large');
}

function dataBytes(array: NdArray): Uint8Array {
  if (array.dtype === 'unicode') {
    const width = unicodeWidth(array.data);
    const out = new Uint8Array(array.data.length * width * 4);
    const view = new DataView(out.buffer);
    array.data.forEach((s, i) => {
      let offset = i * width * 4;
      for (const ch of s) {
        view.setUint32(offset, ch.codePointAt(0) ?? 0, true);
        offset += 4;
      }
    });
    return out;
  }
  const data = array.data;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Checks that an array's data length matches its shape (and bools are 0/1). */
export function assertConsistent(name: string, array: NdArray): void {
  const expected = elementCount(array.shape);
  if (array.data.length !== expected) {
    throw new ContractViolationError(
      `array "${name}" has ${array.data.length} elements but shape [${array.shape.join(', ')}] needs ${expected}`,
    );
  }
  if (array.dtype === 'bool' && array.data.some((v) => v > 1)) {
    throw new ContractViolationError(`array "${name}" is bool but holds values other than 0/1`);
  }
}

/** Encodes one array as NPY bytes (little-endian, C order). */
export function encodeNpy(array: NdArray, name = 'array', minVersion: 1 | 2 = 1): Uint8Array {
  assertConsistent(name, array);
  const preamble = npyPreamble(descrOf(array), array.shape, minVersion);
  const body = dataBytes(array);
  const out = new Uint8Array(preamble.length + body.length);
  out.set(preamble, 0);
  out.set(body, preamble.length);
  return out;
}

export interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the data from the start of the NPY bytes. */
  dataOffset: number;
}

/** Parses the NPY preamble (versions 1.0, 2.0 and 3.0). */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new ContractViolationError('not an NPY file (bad magic)');
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [headerLength, fixed] = major === 1 ? [view.getUint16(8, true), 10] : [view.getUint32(8, true), 12];
  if (major !== 1 && major !== 2 && major !== 3)
    throw new ContractViolationError(`unsupported NPY version ${major}`);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(fixed, fixed + headerLength),
  );
  const descr = /'descr':\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new ContractViolationError(`unparseable NPY header: ${text.trim()}`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number.parseInt(s.replace(/L$/, ''), 10));
  return { descr, fortranOrder: fortran === 'True', shape, dataOffset: fixed + headerLength };
}

function dtypeOfDescr(descr: string): DType {
  if (/^<U\d+$/.test(descr)) return 'unicode';
  const match = (Object.keys(DTYPES) as DType[]).find((d) => d !== 'unicode' && DTYPES[d].descr === descr);
  if (!match) throw new ContractViolationError(`unsupported NPY dtype ${descr}`);
  return match;
}

/** Copies into a fresh buffer when the data is not aligned for its typed-array view. */
function aligned(bytes: Uint8Array, itemBytes: number): Uint8Array {
  return bytes.byteOffset % itemBytes === 0 ? bytes : bytes.slice();
}

/** Decodes NPY bytes written by us or numpy (little-endian, C order, our dtypes). */
export function decodeNpy(bytes: Uint8Array): NdArray {
  const header = parseNpyHeader(bytes);
  if (header.fortranOrder) throw new ContractViolationError('Fortran-order NPY arrays are not supported');
  const dtype = dtypeOfDescr(header.descr);
  const count = elementCount(header.shape);
  const shape = header.shape;
  const itemBytes = dtype === 'unicode' ? 4 * Number(header.descr.slice(2)) : DTYPES[dtype].itemBytes;
  const raw = bytes.subarray(header.dataOffset, header.dataOffset + count * itemBytes);
  if (raw.length !== count * itemBytes) throw new ContractViolationError('NPY data is truncated');
  switch (dtype) {
    case 'float32': {
      const b = aligned(raw, 4);
      return { dtype, shape, data: new Float32Array(b.buffer, b.byteOffset, count) };
    }
    case 'float64': {
      const b = aligned(raw, 8);
      return { dtype, shape, data: new Float64Array(b.buffer, b.byteOffset, count) };
    }
    case 'int32': {
      const b = aligned(raw, 4);
      return { dtype, shape, data: new Int32Array(b.buffer, b.byteOffset, count) };
    }
    case 'int64': {
      const b = aligned(raw, 8);
      return { dtype, shape, data: new BigInt64Array(b.buffer, b.byteOffset, count) };
    }
    case 'uint8':
      return { dtype, shape, data: raw };
    case 'bool':
      return { dtype, shape, data: raw };
    case 'unicode': {
      const width = itemBytes / 4;
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const strings: string[] = [];
      for (let i = 0; i < count; i += 1) {
        let s = '';
        for (let j = 0; j < width; j += 1) {
          const cp = view.getUint32((i * width + j) * 4, true);
          if (cp === 0) break;
          s += String.fromCodePoint(cp);
        }
        strings.push(s);
      }
      return { dtype, shape, data: strings };
    }
  }
}
