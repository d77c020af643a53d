// Cut detection accuracy (issue 14): cut_detection on the Segmenter's every-frame signal against
// the generated clips of test/support/cut-clips.ts (known cuts and transitions), side by side with
// PySceneDetect-equivalent scoring of the same decoded frames. PySceneDetect itself is not
// installable offline here, so its two content detectors are re-implemented in numpy below
// (scenedetect 0.6 defaults): ContentDetector — per frame the mean absolute difference of OpenCV's
// 8-bit HSV channels to the previous frame, averaged over H, S, V; a cut when ≥ 27 and ≥ 15
// frames after the previous cut — and AdaptiveDetector — that score over the mean score of the 2
// frames on each side, a cut when the ratio ≥ 3 and the score ≥ 15. Neither reports gradual
// transitions. Usage: npx tsx bench/cuts.ts
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  memoryScratchSpace,
  noDependencyInputs,
  type ComponentContext,
  type NdArray,
} from '../src/contracts/index.js';
import {
  DEFAULT_DETECT_PARAMS,
  cutDetection,
  detectTask,
  thumbsFromSignal,
} from '../src/processors/visual/index.js';
import { frameAccessFor, readFrameSignal, readFramesMetadata } from '../src/segmenter/index.js';
import { CUT_CLIPS, cutF1, makeCutClip } from '../test/support/cut-clips.js';
import { PYTHON } from '../test/support/numpy.js';
import { segment } from '../test/support/segment.js';

const dir = join(import.meta.dirname, '..', '.tmp', 'bench', 'cuts');
mkdirSync(dir, { recursive: true });

const PYSCENEDETECT_EQUIVALENT = String.raw`
import json, sys
import numpy as np
w, h = int(sys.argv[2]), int(sys.argv[3])
rgb = np.fromfile(sys.argv[1], dtype=np.uint8).reshape(-1, h, w, 3).astype(np.float64)
# OpenCV COLOR_BGR2HSV for 8-bit images: V = max, S = 255 (V - min) / V, H in degrees / 2.
r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
v = rgb.max(axis=-1); mn = rgb.min(axis=-1); c = v - mn
s = np.where(v > 0, 255.0 * c / np.maximum(v, 1e-9), 0.0)
safe = np.maximum(c, 1e-9)
hue = np.where(v == r, 60.0 * (g - b) / safe, np.where(v == g, 120.0 + 60.0 * (b - r) / safe, 240.0 + 60.0 * (r - g) / safe))
hue = np.where(c == 0, 0.0, np.mod(hue, 360.0))
hsv = np.stack([np.round(hue / 2.0), np.round(s), v], axis=-1)
delta = np.abs(np.diff(hsv, axis=0)).mean(axis=(1, 2))   # [S-1, 3]
score = np.concatenate([[0.0], delta.mean(axis=1)])        # score[i]: frame i vs i-1
content, last = [], 0
for i in range(1, len(score)):
    if score[i] >= 27.0 and i - last >= 15:
        content.append(i); last = i
adaptive, last = [], 0
for i in range(1, len(score)):
    around = [score[j] for j in range(i - 2, i + 3) if j != i and 1 <= j < len(score)]
    ratio = score[i] / max(np.mean(around), 1e-9) if around else 0.0
    if ratio >= 3.0 and score[i] >= 15.0 and i - last >= 15:
        adaptive.append(i); last = i
print(json.dumps({"content": content, "adaptive": adaptive, "frames": len(score)}))
`;

const values = (a: NdArray | undefined): number[] => Array.from((a?.data ?? []) as ArrayLike<number>);

interface Row {
  clip: string;
  truth: number[];
  ours: number[];
  gradual: string;
  content: number[];
  adaptive: number[];
  ms: number;
  detectMs: number;
}
const rows: Row[] = [];
for (const clip of CUT_CLIPS) {
  const path = makeCutClip(dir, clip);
  const { runDir } = await segment(path, { cut_detection: { min: 400, targetPerMinute: 900, max: 1500 } });
  const metadata = await readFramesMetadata(runDir);
  const ctx = {
    identity: {} as never,
    runDir,
    config: cutDetection.configSchema.parse({}),
    frames: frameAccessFor(runDir, metadata, 'cut_detection'),
    audio: { hasAudio: false, wavPath: null, sampleRate: 48000, channels: 0, durationSec: 0 },
    progress: () => undefined,
    signal: new AbortController().signal,
    inputs: noDependencyInputs('cut_detection'),
    scratch: memoryScratchSpace(),
    document: null,
  } satisfies ComponentContext<unknown>;
  const started = performance.now();
  const result = await cutDetection.run(ctx);
  const ms = performance.now() - started;
  // The detector alone, in this thread (the component adds reading the signal and a worker start).
  const signal = (await readFrameSignal(runDir, metadata))!;
  // Run twice: the second is the JIT-warm cost, what a long video pays per frame.
  let detectMs = 0;
  for (let round = 0; round < 2; round += 1) {
    const t0 = performance.now();
    detectTask({
      thumbs: thumbsFromSignal(signal),
      sourceFrameIndices: Int32Array.from({ length: signal.frames }, (_, i) => i),
      params: DEFAULT_DETECT_PARAMS,
      candidateBand: 1,
    });
    detectMs = performance.now() - t0;
  }
  const starts = values(result.arrays.source_gradual_start_frame_indices);
  const ends = values(result.arrays.source_gradual_end_frame_indices);
  const kinds = (result.arrays.gradual_kinds?.data ?? []) as string[];
  const raw = join(dir, `${clip.name}.rgb`);
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-i',
    path,
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    raw,
  ]);
  const peer = JSON.parse(
    execFileSync(PYTHON, ['-c', PYSCENEDETECT_EQUIVALENT, raw, '320', '180'], { encoding: 'utf8' }),
  ) as {
    content: number[];
    adaptive: number[];
  };
  rows.push({
    clip: clip.name,
    truth: clip.cuts,
    ours: values(result.arrays.source_cut_frame_indices),
    gradual: starts.map((s, i) => `${kinds[i]} ${s}–${ends[i]}`).join(', ') || '—',
    content: peer.content,
    adaptive: peer.adaptive,
    ms,
    detectMs,
  });
}

const list = (v: number[]): string => (v.length ? v.join(' ') : '—');
console.log(
  '| clip | true cuts | cut_detection | its gradual transitions | ContentDetector≡ | AdaptiveDetector≡ |',
);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows)
  console.log(
    `| ${r.clip} | ${list(r.truth)} | ${list(r.ours)} | ${r.gradual} | ${list(r.content)} | ${list(r.adaptive)} |`,
  );
const offset = (pick: (r: Row) => number[]): number[] =>
  rows.flatMap((r, i) => pick(r).map((c) => c + i * 100_000));
const truth = offset((r) => r.truth);
for (const [name, pick] of [
  ['cut_detection', (r: Row) => r.ours],
  ['ContentDetector≡', (r: Row) => r.content],
  ['AdaptiveDetector≡', (r: Row) => r.adaptive],
] as const) {
  for (const tolerance of [0, 2]) {
    const s = cutF1(offset(pick), truth, tolerance);
    console.log(
      `${name.padEnd(18)} ±${tolerance}: F1 ${s.f1.toFixed(3)} (precision ${s.precision.toFixed(3)}, recall ${s.recall.toFixed(3)}; tp ${s.tp} fp ${s.fp} fn ${s.fn})`,
    );
  }
}
const frames = CUT_CLIPS.reduce((a, c) => a + c.frames, 0);
const totalMs = rows.reduce((a, r) => a + r.ms, 0);
const detectMs = rows.reduce((a, r) => a + r.detectMs, 0);
console.log(
  `cut_detection: ${totalMs.toFixed(0)} ms for ${frames} frames in ${rows.length} runs (worker start from TypeScript sources included); the detector alone (JIT-warm) ${detectMs.toFixed(0)} ms = ${(detectMs / frames).toFixed(3)} ms/frame`,
);
