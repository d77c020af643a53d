// What each artifact shows: pure functions from a decoded NPZ to plot specifications. Every plotted
// series names the NPZ array it comes from (`source`), so the browser test can compare what is drawn
// with the arrays numpy reads. Derived series (counts by class, the similarity matrix) say how they
// are derived. An `empty` artifact becomes a sentence, not a blank plot.
import type { NdArray, NpzFile } from '../../contracts/index.js';

export interface SeriesSpec {
  label: string;
  /** The NPZ array drawn, or a derivation such as `count(class_ids == 3)`. */
  source: string;
  values: ArrayLike<number>;
  /** Drawn as steps (per-frame counts) rather than lines. */
  steps?: boolean;
}

export interface LinePlotSpec {
  kind: 'line';
  id: string;
  title: string;
  /** A sentence under the title: global values (integrated loudness, tempo). */
  summary?: string;
  xLabel: string;
  yLabel: string;
  x: { source: string; values: ArrayLike<number> };
  series: SeriesSpec[];
  /** Vertical lines (hard cuts, beats) at these x values. */
  markers?: { label: string; source: string; values: number[] };
  /** Shaded x spans (gradual transitions). */
  bands?: { label: string; source: string; spans: [number, number][] };
  /** Fixed y range (scores in [0, 1]). */
  yRange?: [number, number];
}

export interface MatrixPlotSpec {
  kind: 'matrix';
  id: string;
  title: string;
  summary?: string;
  /** Frame times of the rows/columns. */
  times: number[];
  /** Row-major n × n values. */
  values: Float32Array;
  n: number;
  source: string;
}

export interface EmptySpec {
  kind: 'empty';
  id: string;
  title: string;
  message: string;
}

export type SignalSpec = LinePlotSpec | MatrixPlotSpec | EmptySpec;

/** Words for the `empty_reason` vocabulary (docs/ARTIFACTS_AND_SCHEMAS.md). */
export const EMPTY_MESSAGES: Record<string, string> = {
  no_audio_stream: 'The video has no audio stream.',
  silent_audio: 'The audio is silent.',
  no_faces_detected: 'No faces detected.',
  no_text_detected: 'No text detected.',
  no_speech: 'No speech detected.',
  no_text_input: 'No text input.',
  no_objects_detected: 'No objects detected.',
  too_few_frames: 'Too few frames to measure.',
  dependency_empty: 'Nothing to measure: the component it depends on was empty.',
};

function array(npz: NpzFile, name: string): NdArray {
  const found = npz.arrays[name];
  if (!found) throw new Error(`the artifact has no array "${name}"`);
  return found;
}

/** An array's values as numbers (int64 converted, bool as 0/1). */
export function numbers(npz: NpzFile, name: string): ArrayLike<number> {
  const a = array(npz, name);
  if (a.dtype === 'unicode') throw new Error(`array "${name}" holds strings`);
  if (a.dtype === 'int64') return Float64Array.from(a.data, (v) => Number(v));
  return a.data;
}

function scalar(npz: NpzFile, name: string): number {
  return numbers(npz, name)[0] ?? Number.NaN;
}

function emptyOf(npz: NpzFile, id: string, title: string): EmptySpec | null {
  if (npz.meta.status !== 'empty') return null;
  const reason = typeof npz.meta.empty_reason === 'string' ? npz.meta.empty_reason : '';
  return {
    kind: 'empty',
    id,
    title,
    message: EMPTY_MESSAGES[reason] ?? `Empty (${reason || 'no reason given'}).`,
  };
}

const fixed = (v: number, digits: number, unit: string): string =>
  Number.isFinite(v) ? `${v.toFixed(digits)} ${unit}` : 'undefined';

export function loudnessSignals(npz: NpzFile): SignalSpec[] {
  const title = 'Loudness';
  const empty = emptyOf(npz, 'loudness', title);
  if (empty) return [empty];
  const integrated = scalar(npz, 'integrated_lufs');
  const times = numbers(npz, 'times_sec');
  const series: SeriesSpec[] = [
    { label: 'momentary (400 ms)', source: 'momentary_lufs', values: numbers(npz, 'momentary_lufs') },
    { label: 'short-term (3 s)', source: 'short_term_lufs', values: numbers(npz, 'short_term_lufs') },
  ];
  if (Number.isFinite(integrated))
    series.push({
      label: 'integrated',
      source: 'integrated_lufs',
      values: new Float64Array(times.length).fill(integrated),
    });
  return [
    {
      kind: 'line',
      id: 'loudness',
      title,
      summary: `Integrated ${fixed(integrated, 1, 'LUFS')} · range ${fixed(scalar(npz, 'loudness_range_lu'), 1, 'LU')} · true peak ${fixed(scalar(npz, 'true_peak_dbtp'), 1, 'dBTP')}`,
      xLabel: 'time (s)',
      yLabel: 'LUFS',
      x: { source: 'times_sec', values: times },
      series,
    },
  ];
}

export function cutSignals(npz: NpzFile): SignalSpec[] {
  const title = 'Transitions and shots';
  const empty = emptyOf(npz, 'cuts', title);
  if (empty) return [empty];
  // cut_detection ≥ 0.2 gives the gradual spans' times directly (frame-exact, source domain).
  const starts = numbers(npz, 'gradual_start_times_sec');
  const ends = numbers(npz, 'gradual_end_times_sec');
  const spans: [number, number][] = [];
  for (let g = 0; g < starts.length; g += 1) spans.push([starts[g] as number, ends[g] as number]);
  const cuts = Array.from(numbers(npz, 'cut_times_sec'));
  const shots = numbers(npz, 'shot_start_times_sec').length;
  return [
    {
      kind: 'line',
      id: 'cuts',
      title,
      summary: `${cuts.length} hard cut${cuts.length === 1 ? '' : 's'} · ${spans.length} gradual transition${spans.length === 1 ? '' : 's'} · ${shots} shot${shots === 1 ? '' : 's'}`,
      xLabel: 'time (s)',
      yLabel: 'transition score',
      x: { source: 'times_sec', values: numbers(npz, 'times_sec') },
      series: [
        { label: 'transition score', source: 'transition_scores', values: numbers(npz, 'transition_scores') },
      ],
      markers: { label: 'hard cut', source: 'cut_times_sec', values: cuts },
      bands: { label: 'gradual', source: 'gradual_start_times_sec/gradual_end_times_sec', spans },
      yRange: [0, 1],
    },
  ];
}

export function faceSignals(npz: NpzFile): SignalSpec[] {
  const title = 'Faces';
  const empty = emptyOf(npz, 'faces', title);
  if (empty) return [empty];
  const present = numbers(npz, 'face_present');
  let framesWithFaces = 0;
  for (let i = 0; i < present.length; i += 1) framesWithFaces += present[i] ? 1 : 0;
  return [
    {
      kind: 'line',
      id: 'faces',
      title,
      summary: `Faces on ${framesWithFaces} of ${present.length} frames`,
      xLabel: 'time (s)',
      yLabel: 'faces',
      x: { source: 'times_sec', values: numbers(npz, 'times_sec') },
      series: [
        { label: 'face count', source: 'face_count', values: numbers(npz, 'face_count'), steps: true },
        { label: 'face present', source: 'face_present', values: present, steps: true },
      ],
    },
  ];
}

/** Classes shown as their own series; the rest are summed into "other". */
const TOP_CLASSES = 8;

export function objectSignals(npz: NpzFile): SignalSpec[] {
  const title = 'Objects by class';
  const empty = emptyOf(npz, 'objects', title);
  if (empty) return [empty];
  const ids = numbers(npz, 'class_ids');
  const present = numbers(npz, 'object_present');
  const names = array(npz, 'class_names');
  const shape = array(npz, 'class_ids').shape;
  const frames = shape[0] ?? 0;
  const slots = shape[1] ?? 0;
  const perClass = new Map<number, Float64Array>();
  for (let n = 0; n < frames; n += 1) {
    for (let k = 0; k < slots; k += 1) {
      if (!present[n * slots + k]) continue;
      const id = ids[n * slots + k] as number;
      let counts = perClass.get(id);
      if (!counts) perClass.set(id, (counts = new Float64Array(frames)));
      counts[n] = (counts[n] ?? 0) + 1;
    }
  }
  const total = (c: Float64Array): number => c.reduce((a, b) => a + b, 0);
  const ranked = [...perClass.entries()].sort((a, b) => total(b[1]) - total(a[1]) || a[0] - b[0]);
  const className = (id: number): string =>
    names.dtype === 'unicode' ? (names.data[id] ?? `class ${id}`) : `class ${id}`;
  const series: SeriesSpec[] = ranked.slice(0, TOP_CLASSES).map(([id, counts]) => ({
    label: className(id),
    source: `count(object_present & class_ids == ${id})`,
    values: counts,
    steps: true,
  }));
  const rest = ranked.slice(TOP_CLASSES);
  if (rest.length > 0) {
    const other = new Float64Array(frames);
    for (const [, counts] of rest) counts.forEach((v, n) => (other[n] = (other[n] ?? 0) + v));
    series.push({
      label: `other (${rest.length} classes)`,
      source: `count(object_present & class_ids in [${rest.map(([id]) => id).join(',')}])`,
      values: other,
      steps: true,
    });
  }
  if (series.length === 0)
    return [{ kind: 'empty', id: 'objects', title, message: EMPTY_MESSAGES.no_objects_detected as string }];
  return [
    {
      kind: 'line',
      id: 'objects',
      title,
      summary: `${ranked.length} class${ranked.length === 1 ? '' : 'es'} detected`,
      xLabel: 'time (s)',
      yLabel: 'objects',
      x: { source: 'times_sec', values: numbers(npz, 'times_sec') },
      series,
    },
  ];
}

export function tempoSignals(npz: NpzFile): SignalSpec[] {
  const title = 'Tempo and beats';
  const empty = emptyOf(npz, 'tempo', title);
  if (empty) return [empty];
  const bpm = scalar(npz, 'tempo_bpm');
  const beats = Array.from(numbers(npz, 'beat_times_sec'));
  const confidence = scalar(npz, 'tempo_confidence');
  return [
    {
      kind: 'line',
      id: 'tempo',
      title,
      summary: Number.isFinite(bpm)
        ? `Tempo ${bpm.toFixed(1)} BPM (confidence ${Number.isFinite(confidence) ? confidence.toFixed(2) : '—'}) · ${beats.length} beats`
        : 'No tempo could be measured.',
      xLabel: 'time (s)',
      yLabel: 'onset strength (dB)',
      x: { source: 'onset_times_sec', values: numbers(npz, 'onset_times_sec') },
      series: [{ label: 'onset strength', source: 'onset_strength', values: numbers(npz, 'onset_strength') }],
      markers: { label: 'beat', source: 'beat_times_sec', values: beats },
    },
  ];
}

export function ocrSignals(npz: NpzFile): SignalSpec[] {
  const title = 'On-screen text';
  const empty = emptyOf(npz, 'ocr', title);
  if (empty) return [empty];
  return [
    {
      kind: 'line',
      id: 'ocr',
      title,
      xLabel: 'time (s)',
      yLabel: 'text area (fraction of frame)',
      x: { source: 'times_sec', values: numbers(npz, 'times_sec') },
      series: [
        { label: 'text area', source: 'text_area_fraction', values: numbers(npz, 'text_area_fraction') },
      ],
    },
  ];
}

/** Frames of the similarity matrix at most (evenly spaced when there are more). */
export const MAX_MATRIX_FRAMES = 400;

/** Cosine similarity of the frame embeddings (rows are L2-normalised, so a dot product). */
export function similarityMatrix(
  embeddings: ArrayLike<number>,
  dims: number,
  rows: readonly number[],
): Float32Array {
  const n = rows.length;
  const out = new Float32Array(n * n);
  for (let a = 0; a < n; a += 1) {
    const ra = (rows[a] as number) * dims;
    for (let b = a; b < n; b += 1) {
      const rb = (rows[b] as number) * dims;
      let dot = 0;
      for (let d = 0; d < dims; d += 1)
        dot += (embeddings[ra + d] as number) * (embeddings[rb + d] as number);
      out[a * n + b] = dot;
      out[b * n + a] = dot;
    }
  }
  return out;
}

export function clipSignals(npz: NpzFile): SignalSpec[] {
  const title = 'Frame-to-frame similarity (CLIP)';
  const empty = emptyOf(npz, 'clip', title);
  if (empty) return [empty];
  const embeddings = array(npz, 'embeddings');
  const [frames = 0, dims = 0] = embeddings.shape;
  if (frames === 0) return [{ kind: 'empty', id: 'clip', title, message: 'No frames were embedded.' }];
  const step = Math.max(1, Math.ceil(frames / MAX_MATRIX_FRAMES));
  const rows: number[] = [];
  for (let i = 0; i < frames; i += step) rows.push(i);
  const times = numbers(npz, 'times_sec');
  return [
    {
      kind: 'matrix',
      id: 'clip',
      title,
      summary:
        step === 1
          ? `${frames} frames`
          : `${rows.length} of ${frames} frames (every ${step}th) shown; the artifact keeps all of them`,
      times: rows.map((r) => times[r] as number),
      values: similarityMatrix(numbers(npz, 'embeddings'), dims, rows),
      n: rows.length,
      source: 'embeddings @ embeddings.T',
    },
  ];
}

/** The signals of each component the dashboard knows, by manifest component name. */
export const SIGNALS: Record<string, (npz: NpzFile) => SignalSpec[]> = {
  loudness_extractor: loudnessSignals,
  cut_detection: cutSignals,
  core_face_landmarks: faceSignals,
  core_object_detections: objectSignals,
  tempo_extractor: tempoSignals,
  ocr: ocrSignals,
  core_clip: clipSignals,
};
