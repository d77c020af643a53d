import { readFile } from 'node:fs/promises';
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { ContractViolationError } from '../errors.js';
import { decodeNpy, encodeNpy } from './npy.js';
import { nd, type NdArray } from './types.js';

/**
 * Fixed zip entry time, built from local-time fields because the zip format stores local time:
 * the same arrays give the same bytes on any machine and in any time zone.
 */
const ZIP_EPOCH = new Date(1980, 0, 1, 0, 0, 0);

/** A decoded NPZ: its arrays and the parsed `meta` JSON object. */
export interface NpzFile {
  arrays: Record<string, NdArray>;
  meta: Record<string, unknown>;
}

function assertFiniteJson(value: unknown, path: string): void {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new ContractViolationError(
      `meta.${path} is ${value}; use null (with a reason) instead of a non-finite number`,
    );
  }
  if (Array.isArray(value)) value.forEach((v, i) => assertFiniteJson(v, `${path}[${i}]`));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) assertFiniteJson(v, path ? `${path}.${k}` : k);
  }
}

/**
 * Encodes arrays plus `meta` (a 0-d unicode array holding JSON, R-NPZ-1) as an NPZ archive that
 * `numpy.load(path, allow_pickle=False)` reads. Deterministic: same input, same bytes.
 */
export function encodeNpz(
  arrays: Readonly<Record<string, NdArray>>,
  meta: Record<string, unknown>,
): Uint8Array {
  if ('meta' in arrays) throw new ContractViolationError('"meta" is reserved for the metadata array');
  assertFiniteJson(meta, '');
  const entries: Zippable = {};
  for (const name of Object.keys(arrays).sort()) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new ContractViolationError(`invalid array name "${name}"`);
    entries[`${name}.npy`] = [encodeNpy(arrays[name] as NdArray, name), { mtime: ZIP_EPOCH }];
  }
  entries['meta.npy'] = [encodeNpy(nd.scalarString(JSON.stringify(meta)), 'meta'), { mtime: ZIP_EPOCH }];
  return zipSync(entries, { level: 6, mtime: ZIP_EPOCH });
}

/** Decodes an NPZ archive (ours or numpy's `savez`/`savez_compressed` with our dtypes). */
export function decodeNpz(bytes: Uint8Array): NpzFile {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (error) {
    throw new ContractViolationError('not a valid NPZ (zip) archive', { cause: error });
  }
  const arrays: Record<string, NdArray> = {};
  let meta: Record<string, unknown> | null = null;
  for (const [entryName, entryBytes] of Object.entries(entries)) {
    if (!entryName.endsWith('.npy')) throw new ContractViolationError(`unexpected NPZ entry ${entryName}`);
    const name = entryName.slice(0, -4);
    const array = decodeNpy(entryBytes);
    if (name === 'meta') {
      if (array.dtype !== 'unicode' || array.shape.length !== 0) {
        throw new ContractViolationError('meta must be a 0-d unicode array');
      }
      const parsed: unknown = JSON.parse(array.data[0] ?? 'null');
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new ContractViolationError('meta must hold a JSON object');
      }
      meta = parsed as Record<string, unknown>;
    } else {
      arrays[name] = array;
    }
  }
  if (!meta) throw new ContractViolationError('NPZ has no meta array');
  return { arrays, meta };
}

export async function readNpzFile(path: string): Promise<NpzFile> {
  return decodeNpz(await readFile(path));
}
