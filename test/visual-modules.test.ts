// The Visual modules shot_quality, emotion_face and high_level_semantic end to end through
// runVideo: a generated 6 s clip (photo with faces, flat red, photo, test pattern), the real
// packaged face and emotion models, the synthetic CLIP vision/text and depth stand-ins; every
// artifact read back with numpy and checked against independent computations (OpenCV/numpy on
// frames_dir, the providers' own NPZ, the documented synthetic functions); the runs audited.
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRun } from '../src/audit/index.js';
import type { Manifest } from '../src/contracts/index.js';
import {
  ModelStore,
  SYNTHETIC_CLIP_TEXT_COLOURS,
  buildSyntheticModel,
  clearModelSessions,
  createRegistry,
  syntheticClipColourEmbedding,
  type ModelSystemOptions,
} from '../src/models/index.js';
import { runVideo } from '../src/orchestrator/index.js';
import type { Profile, ProfileModel } from '../src/orchestrator/index.js';
import { labelEmbeddingCalls } from '../src/processors/visual/index.js';
import { ffmpeg, makeTempDir } from './support/media.js';
import { installSynthetic } from './support/models/fixtures.js';
import { loadNpzWithNumpy, runPythonJson } from './support/numpy.js';
import { faceSamplePath } from './support/visual.js';

const W = 1280;
const H = 720;
const FPS = 10;
const SHOT_SEC = 1.5;
const SHOTS = [
  { photo: 'sample1.jpg' },
  { colour: '0xff0000' },
  { photo: 'sample6.jpg' },
  { source: 'testsrc2' },
] as const;
const COLOURS = Object.keys(SYNTHETIC_CLIP_TEXT_COLOURS);

let dir: string;
let system: ModelSystemOptions & { storeDir: string; store: ModelStore };

type Shot = { photo: string } | { colour: string } | { source: string };

function makeVideo(path: string, shots: readonly Shot[]): void {
  const inputs: string[] = [];
  const chains: string[] = [];
  shots.forEach((shot, i) => {
    if ('photo' in shot)
      inputs.push(
        '-loop',
        '1',
        '-framerate',
        String(FPS),
        '-t',
        String(SHOT_SEC),
        '-i',
        faceSamplePath(shot.photo),
      );
    else
      inputs.push(
        '-f',
        'lavfi',
        '-i',
        'colour' in shot
          ? `color=c=${shot.colour}:s=${W}x${H}:r=${FPS}:d=${SHOT_SEC}`
          : `${shot.source}=s=${W}x${H}:r=${FPS}:d=${SHOT_SEC}`,
      );
    chains.push(`[${i}:v]scale=-2:${H},pad=${W}:${H}:(ow-iw)/2:0,setsar=1,fps=${FPS},format=yuv420p[s${i}]`);
  });
  ffmpeg([
    ...inputs,
    '-filter_complex',
    `${chains.join(';')};${shots.map((_, i) => `[s${i}]`).join('')}concat=n=${shots.length}:v=1:a=0[v]`,
    '-map',
    '[v]',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-crf',
    '16',
    path,
  ]);
}

const model = (name: string): ProfileModel => ({
  model: name,
  version: '1',
  device: 'cpu',
  precision: 'fp32',
  runtime: 'inprocess',
});

function profileOf(components: readonly string[], models: Record<string, ProfileModel> = {}): Profile {
  return {
    name: 'test-modules',
    description: 'visual modules under test',
    generation: 'baseline',
    components: components.map((name) => ({ name, required: true })),
    models,
  };
}

const SYNTHETIC_MODELS = {
  core_clip: model('synthetic-clip-vision'),
  core_depth_midas: model('synthetic-depth'),
  high_level_semantic: model('synthetic-clip-text'),
};
const ALL = [
  'cut_detection',
  'core_face_landmarks',
  'core_clip',
  'core_depth_midas',
  'shot_quality',
  'emotion_face',
  'high_level_semantic',
];

const statusOf = (m: Manifest) => Object.fromEntries(m.components.map((c) => [c.name, [c.status, c.error]]));

beforeAll(async () => {
  dir = makeTempDir('visual-modules');
  const registry = createRegistry(
    (['clip-vision', 'clip-text', 'depth'] as const).map((k) => buildSyntheticModel(k).card),
  );
  const storeDir = makeTempDir('modules-models');
  const store = new ModelStore(storeDir);
  for (const kind of ['clip-vision', 'clip-text', 'depth'] as const)
    await installSynthetic(store, registry, kind);
  system = { registry, store, storeDir };
}, 60_000);

afterAll(async () => {
  await clearModelSessions();
  rmSync(dir, { recursive: true, force: true });
  rmSync(system.storeDir, { recursive: true, force: true });
});

describe('shot_quality, emotion_face and high_level_semantic through runVideo', () => {
  let runDir: string;
  let manifest: Manifest;
  const npz = (component: string, file: string) => loadNpzWithNumpy(join(runDir, component, file));

  beforeAll(async () => {
    const video = join(dir, 'modules.mp4');
    makeVideo(video, SHOTS);
    const outcome = await runVideo(
      {
        videoPath: video,
        storeRoot: join(dir, 'store'),
        videoId: 'modules',
        runId: 'all',
        databasePath: join(dir, 'profiles.db'),
        profile: profileOf(ALL, SYNTHETIC_MODELS),
        config: { components: { high_level_semantic: { labels: COLOURS, template: '{}' } } },
      },
      { modelSystem: system },
    );
    runDir = outcome.runDir;
    manifest = outcome.manifest;
    const status = statusOf(manifest);
    for (const name of ALL) expect(status[name], JSON.stringify(status)).toEqual(['ok', null]);
  }, 400_000);

  it('shot_quality: every pixel measure equals OpenCV/numpy on the frames it read from frames_dir', () => {
    const check = runPythonJson<{ worst: Record<string, number>; frames: number }>(
      String.raw`
import json, sys, math, glob, os
import numpy as np, cv2
run = sys.argv[1]
meta = json.load(open(os.path.join(run, 'frames_dir', 'metadata.json')))
frames = np.concatenate([np.load(os.path.join(run, 'frames_dir', b['file'])) for b in meta['batches']])
z = np.load(os.path.join(run, 'shot_quality', 'shot_quality.npz'), allow_pickle=False)
worst = {}
for k, u in enumerate(z['frame_indices']):
    f = frames[u].astype(np.float64)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    gray = 0.299 * r + 0.587 * g + 0.114 * b
    rg, yb = r - g, 0.5 * (r + g) - b
    h, w = gray.shape
    conv = cv2.filter2D(gray, cv2.CV_64F, np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64))[1:-1, 1:-1]
    want = {
        'sharpness': cv2.Laplacian(gray, cv2.CV_64F, ksize=1).var(),
        'exposure': gray.mean() / 255,
        'clipped_shadows': (gray <= 4).mean(),
        'clipped_highlights': (gray >= 251).mean(),
        'contrast': gray.std() / 255,
        'colourfulness': math.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * math.sqrt(rg.mean() ** 2 + yb.mean() ** 2),
        'noise_sigma': math.sqrt(math.pi / 2) * np.abs(conv).sum() / (6 * (w - 2) * (h - 2)),
    }
    for name, v in want.items():
        err = abs(float(z[name][k]) - v) / max(1.0, abs(v))
        worst[name] = max(worst.get(name, 0.0), err)
print(json.dumps({'worst': worst, 'frames': int(len(z['frame_indices']))}))
`,
      [runDir],
    );
    expect(check.frames).toBe(SHOTS.length * SHOT_SEC * FPS);
    // float32 storage: relative 1e-6.
    for (const [name, err] of Object.entries(check.worst)) expect(err, name).toBeLessThan(1e-6);
  });

  it('shot_quality: face framing and depth from the providers’ artifacts, per frame and per shot', () => {
    const q = npz('shot_quality', 'shot_quality.npz');
    const faces = npz('core_face_landmarks', 'face_landmarks.npz');
    const depth = npz('core_depth_midas', 'depth.npz');
    const cuts = npz('cut_detection', 'cut_detection.npz');
    const v = (a: typeof q, k: string) => a.arrays[k]?.values as (number | string)[];
    const num = (x: number | string | undefined) => (x === 'NaN' || x === undefined ? Number.NaN : Number(x));
    // All frames are in every provider's sample (budgets ≥ 60 frames), so every frame is analysed.
    expect(v(q, 'face_analysed')).toEqual(Array(60).fill(true));
    expect(v(q, 'depth_analysed')).toEqual(Array(60).fill(true));
    const count = v(faces, 'face_count') as number[];
    const boxes = faces.arrays.boxes?.values as (number | string)[][][];
    const [fw, fh] = [568, 320];
    count.forEach((c, k) => {
      expect(v(q, 'face_present')[k]).toBe(c > 0);
      if (c === 0) return expect(v(q, 'face_area_fraction')[k]).toBe('NaN');
      // Largest box, clipped to the frame.
      const areas = (boxes[k] ?? []).slice(0, c).map((b) => {
        const [x0, y0, x1, y1] = b.map(num) as [number, number, number, number];
        return (Math.min(fw, x1) - Math.max(0, x0)) * (Math.min(fh, y1) - Math.max(0, y0));
      });
      expect(num(v(q, 'face_area_fraction')[k])).toBeCloseTo(Math.max(...areas) / (fw * fh), 5);
    });
    expect(count.filter((c) => c > 0).length).toBeGreaterThan(20);
    expect(v(q, 'depth_mean')).toEqual(v(depth, 'depth_mean'));
    expect(v(q, 'depth_std')).toEqual(v(depth, 'depth_std'));
    // Shots: cut_detection's, 4 of them; per-shot sharpness is the mean of its frames.
    expect(v(q, 'shot_start_times_sec')).toEqual(v(cuts, 'shot_start_times_sec'));
    expect(v(q, 'shot_frame_count')).toEqual([15, 15, 15, 15]);
    const shotOf = v(q, 'shot_index') as number[];
    const sharp = (v(q, 'sharpness') as number[]).map(num);
    const shotSharp = (v(q, 'shot_sharpness') as number[]).map(num);
    for (let s = 0; s < 4; s++) {
      const own = sharp.filter((_, k) => shotOf[k] === s);
      expect(shotSharp[s]).toBeCloseTo(own.reduce((a, b) => a + b, 0) / own.length, 1);
    }
    // The flat red shot: no faces, no texture, fully colourful; the photos have faces.
    const frac = (v(q, 'shot_face_frame_fraction') as number[]).map(num);
    expect(frac[1]).toBe(0);
    expect(frac[0]).toBeGreaterThan(0.8);
    expect(frac[2]).toBeGreaterThan(0.8);
    expect(shotSharp[1]).toBeLessThan(shotSharp[3]! / 100);
    expect(q.meta.field_empty_reasons).toMatchObject({
      face_area_fraction: null,
      depth_mean: null,
      shot_index: null,
    });
  });

  it('emotion_face: one probability row per face of core_face_landmarks, frame and shot means', () => {
    const e = npz('emotion_face', 'emotion_face.npz');
    const faces = npz('core_face_landmarks', 'face_landmarks.npz');
    expect(e.arrays.class_names?.values).toEqual([
      'angry',
      'disgust',
      'fear',
      'happy',
      'sad',
      'surprise',
      'neutral',
    ]);
    expect(e.arrays.face_mask?.values).toEqual(faces.arrays.face_mask?.values);
    expect(e.arrays.frame_face_count?.values).toEqual(faces.arrays.face_count?.values);
    const probs = e.arrays.emotion_probs?.values as (number | string)[][][];
    const mask = e.arrays.face_mask?.values as boolean[][];
    let faceRows = 0;
    probs.forEach((frame, k) =>
      frame.forEach((row, f) => {
        if (!mask[k]?.[f]) return expect(row.every((x) => x === 'NaN')).toBe(true);
        faceRows += 1;
        expect((row as number[]).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      }),
    );
    expect(e.meta.total_faces).toBe(faceRows);
    const shotCount = e.arrays.shot_face_count?.values as number[];
    expect(shotCount).toHaveLength(4);
    expect(shotCount[1]).toBe(0);
    expect((e.arrays.shot_emotion_mean?.values as string[][])[1]).toEqual(Array(7).fill('NaN'));
    expect(shotCount.reduce((a, b) => a + b, 0)).toBe(faceRows);
    expect(
      manifest.components.find((c) => c.name === 'emotion_face')?.models_used.map((u) => u.model_name),
    ).toEqual(['emotion']);
  });

  it('high_level_semantic: scores equal the synthetic CLIP pair’s, and the red shot is “red”', () => {
    const s = npz('high_level_semantic', 'high_level_semantic.npz');
    const clip = npz('core_clip', 'clip.npz');
    expect(s.arrays.labels?.values).toEqual(COLOURS);
    const emb = clip.arrays.embeddings?.values as number[][];
    const sim = s.arrays.label_similarity?.values as number[][];
    // Independent: cosine of the stored image embedding and the documented label embedding.
    const labels = COLOURS.map((c) =>
      Array.from(syntheticClipColourEmbedding(SYNTHETIC_CLIP_TEXT_COLOURS[c]!)),
    );
    emb.forEach((row, n) =>
      labels.forEach((l, k) => {
        const dot = row.reduce((a, x, j) => a + x * (l[j] ?? 0), 0);
        expect(sim[n]?.[k]).toBeCloseTo(dot / Math.hypot(...row) / Math.hypot(...l), 4);
      }),
    );
    const probs = s.arrays.label_probs?.values as number[][];
    for (const row of probs) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect((s.arrays.shot_top_label?.values as number[])[1]).toBe(COLOURS.indexOf('red'));
    const top = s.arrays.top_label?.values as number[];
    const times = s.arrays.times_sec?.values as number[];
    times.forEach((t, n) => {
      if (t > SHOT_SEC + 0.15 && t < 2 * SHOT_SEC - 0.15) expect(top[n]).toBe(COLOURS.indexOf('red'));
    });
    const entry = manifest.components.find((c) => c.name === 'high_level_semantic');
    expect(entry?.models_used.map((u) => [u.model_name, u.synthetic])).toEqual([
      ['synthetic-clip-text', true],
    ]);
  });

  it('passes the audit', async () => {
    const report = await auditRun(runDir);
    expect(
      report.rules.filter((r) => !r.pass),
      JSON.stringify(report.rules.filter((r) => !r.pass)),
    ).toEqual([]);
  });

  it('label embeddings come from the cache for the same model + labels, and are recomputed for new labels', async () => {
    const run = (runId: string, labels: string[]) =>
      runVideo(
        {
          videoPath: join(dir, 'modules.mp4'),
          storeRoot: join(dir, 'store'),
          videoId: 'modules',
          runId,
          useCache: false,
          databasePath: join(dir, 'profiles.db'),
          profile: profileOf(['cut_detection', 'core_clip', 'high_level_semantic'], SYNTHETIC_MODELS),
          config: { components: { high_level_semantic: { labels, template: '{}' } } },
        },
        { modelSystem: system },
      );
    const before = labelEmbeddingCalls();
    const same = await run('same-labels', COLOURS);
    expect(statusOf(same.manifest).high_level_semantic).toEqual(['ok', null]);
    expect(labelEmbeddingCalls()).toBe(before);
    const other = await run('other-labels', ['blue', 'yellow']);
    expect(statusOf(other.manifest).high_level_semantic).toEqual(['ok', null]);
    expect(labelEmbeddingCalls()).toBe(before + 1);
  }, 200_000);
});

describe('empty and failing dependencies', () => {
  it('no faces: emotion_face is empty (no_faces_detected); shot_quality computes its pixels, face and depth fields are dependency_empty', async () => {
    const video = join(dir, 'no-faces.mp4');
    makeVideo(video, [
      { colour: '0xff0000' },
      { source: 'testsrc2' },
      { colour: '0x2040a0' },
      { source: 'testsrc2' },
    ]);
    const { runDir, manifest } = await runVideo(
      {
        videoPath: video,
        storeRoot: join(dir, 'store'),
        videoId: 'nofaces',
        runId: 'empty',
        databasePath: join(dir, 'profiles.db'),
        profile: profileOf(['cut_detection', 'core_face_landmarks', 'shot_quality', 'emotion_face']),
      },
      { modelSystem: system },
    );
    const status = statusOf(manifest);
    expect(status.emotion_face).toEqual(['empty', null]);
    expect(status.shot_quality).toEqual(['ok', null]);
    const e = loadNpzWithNumpy(join(runDir, 'emotion_face', 'emotion_face.npz'));
    expect(e.meta.status).toBe('empty');
    expect(e.meta.empty_reason).toBe('no_faces_detected');
    expect(e.arrays.emotion_probs?.shape).toEqual([60, 4, 7]);
    const q = loadNpzWithNumpy(join(runDir, 'shot_quality', 'shot_quality.npz'));
    const reasons = q.meta.field_empty_reasons as Record<string, string | null>;
    expect(reasons.face_area_fraction).toBe('dependency_empty');
    expect(reasons.depth_mean).toBe('dependency_empty');
    expect(reasons.shot_sharpness).toBeNull();
    expect((q.arrays.depth_mean?.values as string[]).every((x) => x === 'NaN')).toBe(true);
    expect((q.arrays.sharpness?.values as number[]).every((x) => typeof x === 'number')).toBe(true);
    const report = await auditRun(runDir);
    expect(
      report.rules.filter((r) => !r.pass),
      JSON.stringify(report.rules.filter((r) => !r.pass)),
    ).toEqual([]);
  }, 300_000);

  it('high_level_semantic: a text tower from another embedding space is CONTRACT_VIOLATION, not an empty result', async () => {
    // The synthetic text stand-in's bytes installed under the real card's name: a text tower that
    // says it is CLIP's, beside core_clip on the synthetic vision stand-in.
    const text = buildSyntheticModel('clip-text');
    const src = makeTempDir('fake-real-text');
    writeFileSync(join(src, 'text_model.onnx'), text.files['model.onnx']!);
    writeFileSync(join(src, 'tokenizer.json'), text.files['tokenizer.json']!);
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    await system.store.install(system.registry!.get('clip-vit-b32-text'), src, {
      'text_model.onnx': sha(text.files['model.onnx']!),
      'tokenizer.json': sha(text.files['tokenizer.json']!),
    });
    rmSync(src, { recursive: true, force: true });
    const outcome = await runVideo(
      {
        videoPath: join(dir, 'modules.mp4'),
        storeRoot: join(dir, 'store'),
        videoId: 'modules',
        runId: 'mismatch',
        databasePath: join(dir, 'profiles.db'),
        profile: {
          ...profileOf(['high_level_semantic'], { core_clip: model('synthetic-clip-vision') }),
          components: [
            { name: 'cut_detection', required: true },
            { name: 'core_clip', required: true },
            { name: 'high_level_semantic', required: false },
          ],
        },
      },
      { modelSystem: system },
    );
    const entry = outcome.manifest.components.find((c) => c.name === 'high_level_semantic');
    expect(entry?.status).toBe('error');
    expect(entry?.error_code).toBe('CONTRACT_VIOLATION');
    expect(entry?.error).toMatch(/synthetic-clip-vision.*clip-vit-b32-text/);
  }, 200_000);
});
