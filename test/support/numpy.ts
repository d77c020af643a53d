// Runs Debian's python3-numpy (the independent reader of our files). /usr/bin/python3 is used
// explicitly: a pyenv python3 on PATH may lack numpy.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Runs a Python snippet with `args` in sys.argv[1:], returns its stdout parsed as JSON. */
export function runPythonJson<T = unknown>(code: string, args: string[] = []): T {
  const out = execFileSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(out) as T;
}

/** Loads an NPZ with numpy (allow_pickle=False) and returns {arrays: {name: {dtype, shape, values}}, meta}. */
export function loadNpzWithNumpy(path: string): {
  arrays: Record<string, { dtype: string; shape: number[]; values: unknown }>;
  meta: Record<string, unknown>;
} {
  return runPythonJson(
    String.raw`
import json, sys, math
import numpy as np
z = np.load(sys.argv[1], allow_pickle=False)
def clean(v):
    if isinstance(v, float) and math.isnan(v): return 'NaN'
    if isinstance(v, list): return [clean(x) for x in v]
    return v
out = {'arrays': {}, 'meta': json.loads(str(z['meta']))}
for k in z.files:
    if k == 'meta': continue
    a = z[k]
    out['arrays'][k] = {'dtype': a.dtype.str, 'shape': list(a.shape), 'values': clean(a.tolist())}
print(json.dumps(out))
`,
    [path],
  );
}
