import type { z } from 'zod';
import type { DType, NdArray } from './types.js';

/**
 * A dimension is a fixed size or a symbol (`N` frames, `K` items, `T` time steps, …). Every
 * occurrence of one symbol within an artifact must have the same size.
 */
export type Dim = number | string;

export interface ArraySpec {
  dtype: DType;
  shape: readonly Dim[];
  description: string;
  /** Unit of the values, where one applies (`LUFS`, `sec`, `px`). */
  unit?: string;
}

/** R-NPZ-4: a component's declared NPZ contract. */
export interface NpzSchema {
  /** File name inside the component folder, e.g. `loudness.npz`. */
  file: string;
  schemaVersion: string;
  arrays: Readonly<Record<string, ArraySpec>>;
  /** Component-specific meta keys (beyond R-NPZ-2), validated on write and by the auditor. */
  meta?: z.ZodType;
  /** Symbols that must equal a value the writer knows (e.g. `N` = number of the component's frames). */
  symbols?: Readonly<Record<string, string>>;
}

/** Checks arrays against a schema; returns human-readable problems (empty list = valid). */
export function checkArrays(
  schema: NpzSchema,
  arrays: Readonly<Record<string, NdArray>>,
  knownSymbols: Readonly<Record<string, number>> = {},
): string[] {
  const problems: string[] = [];
  const bound = new Map<string, { size: number; from: string }>(
    Object.entries(knownSymbols).map(([k, v]) => [k, { size: v, from: 'context' }]),
  );
  for (const [name, spec] of Object.entries(schema.arrays)) {
    const array = arrays[name];
    if (!array) {
      problems.push(`array "${name}" is missing`);
      continue;
    }
    if (array.dtype !== spec.dtype)
      problems.push(`array "${name}" has dtype ${array.dtype}, schema says ${spec.dtype}`);
    if (array.shape.length !== spec.shape.length) {
      problems.push(
        `array "${name}" has shape [${array.shape.join(', ')}], schema says [${spec.shape.join(', ')}]`,
      );
      continue;
    }
    spec.shape.forEach((dim, axis) => {
      const size = array.shape[axis] ?? -1;
      if (typeof dim === 'number') {
        if (size !== dim) problems.push(`array "${name}" axis ${axis} is ${size}, schema says ${dim}`);
        return;
      }
      const seen = bound.get(dim);
      if (!seen) bound.set(dim, { size, from: name });
      else if (seen.size !== size) {
        problems.push(
          `array "${name}" axis ${axis} (${dim}) is ${size}, but ${dim}=${seen.size} from ${seen.from}`,
        );
      }
    });
  }
  for (const name of Object.keys(arrays)) {
    if (name !== 'meta' && !(name in schema.arrays))
      problems.push(`array "${name}" is not declared in the schema`);
  }
  return problems;
}
