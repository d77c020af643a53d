// Zero-shot scoring against numpy (cosine of normalised rows, softmax at the logit scale) and the
// prompt template.
import { describe, expect, it } from 'vitest';
import { runPythonJson } from '../../../../../../test/support/numpy.js';
import { promptOf, zeroShotScores } from './zero-shot.js';

describe('zeroShotScores', () => {
  it('equals numpy’s cosine similarity and softmax(scale × similarity)', () => {
    const d = 5;
    const images = Float32Array.from({ length: 4 * d }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 3)));
    const labels = Float32Array.from({ length: 3 * d }, (_, i) => Math.cos(i * 0.9) - 0.2);
    const ours = zeroShotScores(images, labels, d, 100);
    const want = runPythonJson<{ sim: number[][]; probs: number[][] }>(
      String.raw`
import json, sys
import numpy as np
d = int(sys.argv[3])
a = np.array(json.loads(sys.argv[1]), dtype=np.float32).astype(np.float64).reshape(-1, d)
b = np.array(json.loads(sys.argv[2]), dtype=np.float32).astype(np.float64).reshape(-1, d)
a /= np.linalg.norm(a, axis=1, keepdims=True)
b /= np.linalg.norm(b, axis=1, keepdims=True)
sim = a @ b.T
e = np.exp(100 * sim - (100 * sim).max(axis=1, keepdims=True))
print(json.dumps({'sim': sim.tolist(), 'probs': (e / e.sum(axis=1, keepdims=True)).tolist()}))
`,
      [JSON.stringify(Array.from(images)), JSON.stringify(Array.from(labels)), String(d)],
    );
    want.sim.flat().forEach((v, i) => expect(ours.similarity[i]).toBeCloseTo(v, 5));
    want.probs.flat().forEach((v, i) => expect(ours.probs[i]).toBeCloseTo(v, 5));
  });

  it('fills the template', () => {
    expect(promptOf('a photo of {}', 'a dog')).toBe('a photo of a dog');
  });
});
