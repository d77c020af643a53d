// The dashboard's signal derivations, checked against numpy: artifacts written by numpy itself
// (np.savez, our array names) are decoded by the browser-side reader (src/contracts npz, bundled
// into the dashboard) and turned into plot specs; each derived series must equal numpy's own
// computation on the same arrays.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeNpz } from '../src/contracts/index.js';
import {
  clipSignals,
  cutSignals,
  faceSignals,
  objectSignals,
  type LinePlotSpec,
  type MatrixPlotSpec,
} from '../src/web/client/index.js';
import { runPythonJson } from './support/numpy.js';

const dir = mkdtempSync(join(tmpdir(), 'dp-dash-signals-'));

const WRITE = String.raw`
import json, sys
import numpy as np
rng = np.random.default_rng(7)
out = sys.argv[1]
meta = lambda status, reason=None: np.array(json.dumps({'status': status, 'empty_reason': reason}))
# Objects: 40 frames, 5 slots, 11 classes seen (so 3 are folded into "other").
N, K = 40, 5
present = rng.random((N, K)) < 0.6
class_ids = np.where(present, rng.integers(0, 11, (N, K)), -1).astype(np.int32)
names = np.array(['c%d' % i for i in range(80)])
np.savez(out + '/objects.npz', meta=meta('ok'), times_sec=(np.arange(N) * 0.2).astype(np.float32),
         object_present=present, class_ids=class_ids, class_names=names,
         object_count=present.sum(1).astype(np.int32))
counts = {int(c): [int(((class_ids[n] == c) & present[n]).sum()) for n in range(N)] for c in np.unique(class_ids[present])}
# CLIP: 30 frames of 16-d L2-normalised embeddings.
E = rng.normal(size=(30, 16)).astype(np.float32)
E /= np.linalg.norm(E, axis=1, keepdims=True)
np.savez(out + '/clip.npz', meta=meta('ok'), embeddings=E, times_sec=(np.arange(30) * 0.5).astype(np.float32))
S = (E.astype(np.float64) @ E.T.astype(np.float64))
# Cuts (cut_detection ≥ 0.2): gradual spans with source frame indices and their times.
src = np.array([0, 2, 4, 6, 8, 10, 12, 14], dtype=np.int32)
t = (src / 25).astype(np.float32)
np.savez(out + '/cuts.npz', meta=meta('ok'), frame_indices=np.arange(8, dtype=np.int32), source_frame_indices=src,
         times_sec=t, transition_scores=np.array([np.nan, .1, .9, .1, .2, .5, .6, .1], dtype=np.float32),
         source_cut_frame_indices=np.array([4], dtype=np.int32), cut_times_sec=t[[2]],
         source_gradual_start_frame_indices=np.array([8], dtype=np.int32), source_gradual_end_frame_indices=np.array([12], dtype=np.int32),
         gradual_start_times_sec=t[[4]], gradual_end_times_sec=t[[6]],
         source_shot_start_frame_indices=np.array([0, 4, 12], dtype=np.int32), source_shot_end_frame_indices=np.array([2, 10, 14], dtype=np.int32),
         shot_start_times_sec=t[[0, 2, 6]], shot_end_times_sec=t[[1, 5, 7]])
# Faces: an empty artifact at contract shape.
np.savez(out + '/faces.npz', meta=meta('empty', 'no_faces_detected'), times_sec=np.zeros(3, np.float32),
         face_present=np.zeros(3, bool), face_count=np.zeros(3, np.int32))
print(json.dumps({'counts': counts, 'similarity': S.tolist(), 'gradual': [[float(t[4]), float(t[6])]],
                  'cuts': [float(t[2])]}))
`;

const reference = runPythonJson<{
  counts: Record<string, number[]>;
  similarity: number[][];
  gradual: [number, number][];
  cuts: number[];
}>(WRITE, [dir]);
const load = (name: string) => decodeNpz(readFileSync(join(dir, name)));

describe('dashboard signals from numpy-written artifacts', () => {
  it('object counts by class equal numpy counts; the rarest classes are summed into "other"', () => {
    const [spec] = objectSignals(load('objects.npz')) as [LinePlotSpec];
    expect(spec.kind).toBe('line');
    const classes = Object.keys(reference.counts).map(Number);
    expect(classes.length).toBe(11);
    const total = (id: number): number => (reference.counts[id] ?? []).reduce((a, b) => a + b, 0);
    const ranked = [...classes].sort((a, b) => total(b) - total(a) || a - b);
    const top = ranked.slice(0, 8);
    expect(spec.series.map((s) => s.label)).toEqual([...top.map((id) => `c${id}`), 'other (3 classes)']);
    top.forEach((id, i) => expect(Array.from(spec.series[i]?.values ?? [])).toEqual(reference.counts[id]));
    const other = ranked
      .slice(8)
      .reduce<number[]>(
        (sum, id) => sum.map((v, n) => v + (reference.counts[id]?.[n] ?? 0)),
        new Array<number>(40).fill(0),
      );
    expect(Array.from(spec.series[8]?.values ?? [])).toEqual(other);
  });

  it('the CLIP similarity matrix equals numpy E @ E.T', () => {
    const [spec] = clipSignals(load('clip.npz')) as [MatrixPlotSpec];
    expect(spec.kind).toBe('matrix');
    expect(spec.n).toBe(30);
    for (let a = 0; a < 30; a += 1)
      for (let b = 0; b < 30; b += 1)
        expect(spec.values[a * 30 + b]).toBeCloseTo(reference.similarity[a]?.[b] ?? Number.NaN, 5);
  });

  it('gradual spans and hard cuts are placed at the analysed frames’ times', () => {
    const [spec] = cutSignals(load('cuts.npz')) as [LinePlotSpec];
    expect(spec.bands?.spans).toEqual(reference.gradual);
    expect(spec.markers?.values).toEqual(reference.cuts);
    expect(spec.summary).toBe('1 hard cut · 1 gradual transition · 3 shots');
  });

  it('an empty artifact is a sentence, not a blank plot', () => {
    expect(faceSignals(load('faces.npz'))).toEqual([
      { kind: 'empty', id: 'faces', title: 'Faces', message: 'No faces detected.' },
    ]);
  });
});
