// The Visual core providers as components, end to end through runVideo: generated media, the
// real packaged models (BlazeFace, FaceMesh, CenterNet, PaddleOCR) and the synthetic CLIP/depth
// stand-ins installed into a temp model store; NPZ read back with numpy; the run audited.
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRun } from '../src/audit/index.js';
import type { Manifest, ManifestComponent } from '../src/contracts/index.js';
import {
  ModelStore,
  buildSyntheticModel,
  clearModelSessions,
  createRegistry,
  syntheticClipWeight,
  writeSyntheticModel,
  type ModelSystemOptions,
} from '../src/models/index.js';
import { runVideo, type Profile, type ProfileModel } from '../src/orchestrator/index.js';
import { frameAccessFor, readFramesMetadata } from '../src/segmenter/index.js';
import { ffmpeg, makeTempDir } from './support/media.js';
import { installSynthetic } from './support/models/fixtures.js';
import { loadNpzWithNumpy, runPythonJson } from './support/numpy.js';
import { recordingStore, type RecordingStore } from './support/recording-store.js';
import { FACE_SAMPLES, FONTS, characterErrorRate, faceSamplePath } from './support/visual.js';

const W = 1280;
const H = 720;
const FPS = 10;
const SHOT_SEC = 2;
const TEXT = 'OPEN DATA 2026';
// Shots: photo with faces, text on a flat background, photo with faces, flat colour.
const SHOTS = [
  { photo: 'sample6.jpg' },
  { text: TEXT },
  { photo: 'sample1.jpg' },
  { colour: '0x3a5f7d' },
] as const;

let dir: string;
let video: string;
let system: ModelSystemOptions & { storeDir: string };

function makeVideo(path: string): void {
  const inputs: string[] = [];
  const chains: string[] = [];
  const textFile = join(dir, 'caption.txt');
  writeFileSync(textFile, TEXT);
  SHOTS.forEach((shot, i) => {
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
        `color=c=${'colour' in shot ? shot.colour : '0xf4f1e8'}:s=${W}x${H}:r=${FPS}:d=${SHOT_SEC}`,
      );
    const draw =
      'text' in shot
        ? `,drawtext=fontfile=${FONTS.sansBold}:textfile=${textFile}:fontsize=72:fontcolor=black:x=(w-text_w)/2:y=(h-text_h)/2`
        : '';
    chains.push(
      `[${i}:v]scale=-2:${H},pad=${W}:${H}:(ow-iw)/2:0,setsar=1,fps=${FPS}${draw},format=yuv420p[s${i}]`,
    );
  });
  ffmpeg([
    ...inputs,
    '-filter_complex',
    `${chains.join(';')};${SHOTS.map((_, i) => `[s${i}]`).join('')}concat=n=${SHOTS.length}:v=1:a=0[v]`,
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

/** Which shot a frame at `t` seconds shows; null within 0.15 s of a shot boundary. */
function shotAt(t: number): number | null {
  const k = Math.floor(t / SHOT_SEC);
  const into = t - k * SHOT_SEC;
  return into < 0.15 || into > SHOT_SEC - 0.15 ? null : k;
}

const model = (name: string, version: string, device = 'cpu'): ProfileModel => ({
  model: name,
  version,
  device,
  precision: 'fp32',
  runtime: 'inprocess',
});

const ALT_CLIP = 'synthetic-clip-vision-alt';
const OFFLINE = ['core_face_landmarks', 'core_object_detections', 'ocr'] as const;

function profileOf(components: readonly string[], models: Record<string, ProfileModel> = {}): Profile {
  return {
    name: 'test-visual',
    description: 'visual core providers under test',
    generation: 'baseline',
    components: components.map((name) => ({ name, required: true })),
    models,
  };
}

const entry = (m: Manifest, name: string): ManifestComponent => {
  const e = m.components.find((c) => c.name === name);
  if (!e) throw new Error(`no manifest entry ${name}`);
  return e;
};

/** Every file of a run dir, relative paths. */
function filesOf(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(root, p));
    }
  };
  walk(root);
  return out;
}

beforeAll(async () => {
  dir = makeTempDir('visual-components');
  video = join(dir, 'visual.mp4');
  makeVideo(video);
  // The synthetic stand-ins, plus a second CLIP stand-in (same bytes, another name: the store
  // holds one version per name) to switch the mapping to.
  const clip = buildSyntheticModel('clip-vision');
  const registry = createRegistry([
    clip.card,
    { ...clip.card, name: ALT_CLIP },
    buildSyntheticModel('depth').card,
  ]);
  const storeDir = makeTempDir('visual-models');
  const store = new ModelStore(storeDir);
  await installSynthetic(store, registry, 'clip-vision');
  await installSynthetic(store, registry, 'depth');
  const src = makeTempDir('synthetic-clip-v2');
  await writeSyntheticModel(clip, src);
  await store.install(registry.get(ALT_CLIP), src);
  rmSync(src, { recursive: true, force: true });
  system = { registry, store, storeDir };
}, 60_000);

afterAll(async () => {
  await clearModelSessions();
  rmSync(dir, { recursive: true, force: true });
  rmSync(system.storeDir, { recursive: true, force: true });
});

describe('visual core providers through runVideo', () => {
  let runDir: string;
  let manifest: Manifest;
  // Records every write the run asks the store port for (R-ST-4).
  let recorded: RecordingStore;

  beforeAll(async () => {
    recorded = recordingStore(join(dir, 'store'));
    const outcome = await runVideo(
      {
        videoPath: video,
        storeRoot: join(dir, 'store'),
        videoId: 'vis',
        runId: 'all',
        // Keep the _tmp_* handoff after the run so the test can read it (R-PRV-1 raw policy).
        storeRawPayload: true,
        databasePath: join(dir, 'profiles.db'),
        profile: profileOf([...OFFLINE, 'core_clip', 'core_depth_midas'], {
          core_clip: model('synthetic-clip-vision', '1'),
          core_depth_midas: model('synthetic-depth', '1'),
        }),
      },
      {
        modelSystem: system,
        store: recorded,
      },
    );
    runDir = outcome.runDir;
    manifest = outcome.manifest;
    expect(
      manifest.components.map((c) => [c.name, c.status, c.error]),
      JSON.stringify(manifest.components.map((c) => [c.name, c.error])),
    ).toEqual(
      expect.arrayContaining([
        ['core_face_landmarks', 'ok', null],
        ['core_object_detections', 'ok', null],
        ['ocr', 'ok', null],
        ['core_clip', 'ok', null],
        ['core_depth_midas', 'ok', null],
      ]),
    );
  }, 300_000);

  it('writes nothing outside the store port: every file of the run was written through it', () => {
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else files.push(relative(runDir, join(d, e.name)).split('\\').join('/'));
      }
    };
    walk(runDir);
    expect(files.length).toBeGreaterThan(10);
    const outside = files.filter(
      (f) => !recorded.written.has(f) && ![...recorded.scratchAreas].some((a) => f.startsWith(`${a}/`)),
    );
    expect(outside).toEqual([]);
    // Frames, audio, state, the event log, the handoff and the manifest are among them.
    for (const f of ['frames_dir/metadata.json', 'run_state.json', 'state_events.jsonl', 'manifest.json'])
      expect(recorded.written.has(f), f).toBe(true);
    expect([...recorded.written].some((f) => /^frames_dir\/batch_\d+\.npy$/.test(f))).toBe(true);
    expect(recorded.written.has('_tmp_ocr/ocr_text.npz')).toBe(true);
  });

  it('runs the components that use models on the CPU one at a time (the run’s CPU budget)', () => {
    const modelStages = manifest.components.filter((c) =>
      c.models_used.some((m) => m.device === 'cpu' && m.runtime === 'inprocess'),
    );
    expect(modelStages.map((c) => c.name)).toEqual(
      expect.arrayContaining(['core_face_landmarks', 'core_object_detections', 'ocr', 'core_clip']),
    );
    const spans = modelStages
      .map((c) => ({
        name: c.name,
        start: Date.parse(c.started_at ?? ''),
        end: Date.parse(c.finished_at ?? ''),
      }))
      .sort((a, b) => a.start - b.start);
    for (const [i, span] of spans.entries()) {
      expect(span.end, span.name).toBeGreaterThanOrEqual(span.start);
      const next = spans[i + 1];
      if (next)
        expect(next.start, `${next.name} started before ${span.name} finished`).toBeGreaterThanOrEqual(
          span.end,
        );
    }
  });

  it('manifest.run.models lists the models each component loaded, with their digests', () => {
    const models = manifest.run.models as Record<
      string,
      { models_used: { model_name: string; weights_digest: string }[] }
    >;
    for (const [component, expected] of [
      ['core_face_landmarks', /blazeface/i],
      ['core_object_detections', /centernet/i],
      ['ocr', /paddle|ocr/i],
    ] as const) {
      const used = models[component]?.models_used ?? [];
      expect(used.length, component).toBeGreaterThan(0);
      expect(
        used.some((m) => expected.test(m.model_name)),
        component,
      ).toBe(true);
      for (const m of used) expect(m.weights_digest).toMatch(/^sha256:[0-9a-f]{64}$|^[0-9a-f]{64}$/);
      expect(used).toEqual(entry(manifest, component).models_used);
    }
  });

  it('finds the photo’s faces on frames that show it and none elsewhere', () => {
    const { arrays } = loadNpzWithNumpy(join(runDir, 'core_face_landmarks', 'face_landmarks.npz'));
    const times = arrays.times_sec?.values as number[];
    const counts = arrays.face_count?.values as number[];
    expect(arrays.landmarks?.shape).toEqual([times.length, 4, 468, 3]);
    expect(arrays.face_present?.dtype).toBe('|b1');
    expect(times.length).toBe(SHOT_SEC * SHOTS.length * FPS);
    let checked = 0;
    times.forEach((t, i) => {
      const shot = shotAt(t);
      if (shot === null) return;
      const s = SHOTS[shot];
      const truth = s && 'photo' in s ? Math.min(4, FACE_SAMPLES[s.photo] ?? -1) : 0;
      expect(counts[i], `frame at ${t}s`).toBe(truth);
      const mask = (arrays.face_mask?.values as boolean[][])[i] ?? [];
      expect(mask.filter(Boolean).length).toBe(truth);
      // NaN padding beyond the faces found.
      const boxes = (arrays.boxes?.values as (number | string)[][][])[i] ?? [];
      for (let f = truth; f < 4; f++) expect(boxes[f]).toEqual(['NaN', 'NaN', 'NaN', 'NaN']);
      checked += 1;
    });
    expect(checked).toBeGreaterThan(50);
  });

  it('detects persons on the photo frames, nothing on the flat colour, with a class-name table', () => {
    const { arrays, meta } = loadNpzWithNumpy(
      join(runDir, 'core_object_detections', 'object_detections.npz'),
    );
    const names = arrays.class_names?.values as string[];
    expect(names).toHaveLength(80);
    expect(names[0]).toBe('person');
    const times = arrays.times_sec?.values as number[];
    const ids = arrays.class_ids?.values as number[][];
    const counts = arrays.object_count?.values as number[];
    let photoFrames = 0;
    times.forEach((t, i) => {
      const shot = shotAt(t);
      if (shot === null) return;
      const s = SHOTS[shot];
      if (s && 'photo' in s) {
        photoFrames += 1;
        expect(ids[i]?.slice(0, counts[i])).toContain(0);
      }
      if (s && 'colour' in s) expect(counts[i]).toBe(0);
      expect(ids[i]?.slice(counts[i] ?? 0).every((v) => v === -1)).toBe(true);
    });
    expect(photoFrames).toBeGreaterThan(4);
    expect((meta.class_counts as Record<string, number>).person).toBeGreaterThan(0);
  });

  it('reads the caption at its 720-line bucket; raw strings only in the _tmp_ocr handoff, never in artifacts, manifest or logs', async () => {
    expect(frameAccessFor(runDir, await readFramesMetadata(runDir), 'ocr').height).toBe(720);
    const main = loadNpzWithNumpy(join(runDir, 'ocr', 'ocr.npz'));
    expect(Object.values(main.arrays).every((a) => !a.dtype.startsWith('<U'))).toBe(true);
    const handoff = loadNpzWithNumpy(join(runDir, '_tmp_ocr', 'ocr_text.npz'));
    const times = handoff.arrays.times_sec?.values as number[];
    const texts = handoff.arrays.texts?.values as string[][];
    const lineCount = main.arrays.line_count?.values as number[];
    expect(handoff.arrays.line_count?.values).toEqual(lineCount);
    let textFrames = 0;
    times.forEach((t, i) => {
      const shot = shotAt(t);
      if (shot === null) return;
      const s = SHOTS[shot];
      const read = (texts[i] ?? []).join(' ').trim();
      if (s && 'text' in s) {
        textFrames += 1;
        expect(characterErrorRate(read.replace(/\s+/g, ''), TEXT.replace(/\s+/g, ''))).toBeLessThan(0.15);
      }
      if (s && 'colour' in s) expect(lineCount[i]).toBe(0);
    });
    expect(textFrames).toBeGreaterThan(0);
    // The raw caption appears nowhere outside _tmp_*: NPZ read by numpy (strings and meta), other
    // files as UTF-8.
    for (const file of filesOf(runDir)) {
      if (file.startsWith('_tmp_')) continue;
      const path = join(runDir, file);
      if (file.endsWith('.npz')) {
        const found = runPythonJson<boolean>(
          String.raw`
import json, sys
import numpy as np
z = np.load(sys.argv[1], allow_pickle=False)
needle = sys.argv[2]
hit = any(needle in str(z[k].tolist()) for k in z.files)
print(json.dumps(hit))
`,
          [path, 'DATA'],
        );
        expect(found, file).toBe(false);
      } else if (!file.endsWith('.npy')) {
        expect(readFileSync(path, 'utf8').includes('DATA 2026'), file).toBe(false);
      }
    }
  });

  it('core_clip: L2-normalised embeddings equal to the synthetic function, signature in meta and manifest', async () => {
    const { arrays, meta } = loadNpzWithNumpy(join(runDir, 'core_clip', 'clip.npz'));
    const e = entry(manifest, 'core_clip');
    expect(e.models_used.map((u) => [u.model_name, u.synthetic, u.device])).toEqual([
      ['synthetic-clip-vision', true, 'cpu'],
    ]);
    expect(meta.models_used).toEqual(e.models_used);
    expect(meta.model_signature).toBe(e.model_signature);
    expect(e.model_signature).toMatch(/^[0-9a-f]{64}$/);
    const emb = arrays.embeddings?.values as number[][];
    expect(arrays.embeddings?.shape).toEqual([emb.length, 512]);
    for (const row of emb) expect(Math.hypot(...row)).toBeCloseTo(1, 5);
    // Independent computation on the frames the component read, for the flat-colour shot (where
    // every resampling gives the same channel means): mean of the centre square, CLIP mean/std,
    // the synthetic projection, L2 norm — in float64.
    const metadata = await readFramesMetadata(runDir);
    const frames = frameAccessFor(runDir, metadata, 'core_clip');
    const mean = [0.48145466, 0.4578275, 0.40821073];
    const std = [0.26862954, 0.26130258, 0.27577711];
    let k = 0;
    let compared = 0;
    for await (const batch of frames.batches(16)) {
      const fb = batch.width * batch.height * 3;
      for (let i = 0; i < batch.unionIndices.length; i++, k++) {
        const shot = shotAt(batch.timestampsSec[i] ?? 0);
        if (shot === null || !('colour' in (SHOTS[shot] ?? {}))) continue;
        const side = Math.min(batch.width, batch.height);
        const x0 = (batch.width - side) / 2;
        const sums = [0, 0, 0];
        for (let y = 0; y < side; y++)
          for (let x = x0; x < x0 + side; x++)
            for (let c = 0; c < 3; c++)
              sums[c] = (sums[c] ?? 0) + (batch.pixels[i * fb + (y * batch.width + x) * 3 + c] ?? 0);
        const m = sums.map((s, c) => (s / side / side / 255 - (mean[c] ?? 0)) / (std[c] ?? 1));
        const raw = Array.from({ length: 512 }, (_, j) =>
          m.reduce((a, v, c) => a + v * syntheticClipWeight(c, j), 0),
        );
        const norm = Math.hypot(...raw);
        const got = emb[k] ?? [];
        raw.forEach((v, j) => expect(got[j]).toBeCloseTo(v / norm, 4));
        compared += 1;
      }
    }
    expect(compared).toBeGreaterThan(5);
  });

  it('core_depth_midas: downsampled float32 maps and per-frame stats from the synthetic depth', () => {
    const { arrays, meta } = loadNpzWithNumpy(join(runDir, 'core_depth_midas', 'depth.npz'));
    const n = (arrays.times_sec?.values as number[]).length;
    expect(arrays.depth_maps?.dtype).toBe('<f4');
    expect(arrays.depth_maps?.shape).toEqual([n, 64, 114]);
    expect(meta.map_size).toEqual([64, 114]);
    expect(entry(manifest, 'core_depth_midas').models_used[0]?.model_name).toBe('synthetic-depth');
    const maps = arrays.depth_maps?.values as number[][][];
    const means = arrays.depth_mean?.values as number[];
    const mins = arrays.depth_min?.values as number[];
    const maxs = arrays.depth_max?.values as number[];
    maps.forEach((map, i) => {
      const flat = map.flat();
      const avg = flat.reduce((a, b) => a + b, 0) / flat.length;
      // Area averaging keeps the mean (up to float32 rounding); stats bracket the map.
      expect(avg).toBeCloseTo(means[i] ?? NaN, 3);
      expect(Math.min(...flat)).toBeGreaterThanOrEqual((mins[i] ?? 0) - 1e-4);
      expect(Math.max(...flat)).toBeLessThanOrEqual((maxs[i] ?? 0) + 1e-4);
    });
  });

  it('passes the audit, with models_used listing the real packaged models and their digests', async () => {
    const report = await auditRun(runDir);
    expect(
      report.rules.filter((r) => !r.pass),
      JSON.stringify(report.rules.filter((r) => !r.pass)),
    ).toEqual([]);
    expect(report.pass).toBe(true);
    const names = (c: string) =>
      entry(manifest, c)
        .models_used.map((u) => u.model_name)
        .sort();
    expect(names('core_face_landmarks')).toEqual(['blazeface', 'facemesh']);
    expect(names('core_object_detections')).toEqual(['centernet-coco']);
    expect(names('ocr')).toEqual(['paddleocr-cls', 'paddleocr-det', 'paddleocr-rec']);
    for (const c of OFFLINE)
      for (const u of entry(manifest, c).models_used) {
        expect(u.weights_digest).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(u.synthetic ?? false).toBe(false);
      }
    expect(entry(manifest, 'core_face_landmarks').batch_size).toBeGreaterThanOrEqual(1);
  });
});

describe('model plans of the model-backed providers', () => {
  const runClip = async (runId: string, models: Record<string, ProfileModel>, components = ['core_clip']) =>
    runVideo(
      {
        videoPath: video,
        storeRoot: join(dir, 'store-plans'),
        videoId: 'plans',
        runId,
        databasePath: join(dir, 'profiles.db'),
        profile: profileOf(components, models),
      },
      {
        modelSystem: system,
      },
    );

  it('auto = cpu here; another model gives a new signature and key; cuda:0 is DEVICE_UNAVAILABLE', async () => {
    const cpu = entry(
      (await runClip('cpu', { core_clip: model('synthetic-clip-vision', '1', 'cpu') })).manifest,
      'core_clip',
    );
    const auto = entry(
      (await runClip('auto', { core_clip: model('synthetic-clip-vision', '1', 'auto') })).manifest,
      'core_clip',
    );
    expect(cpu.status).toBe('ok');
    expect(auto.status).toBe('ok');
    // Without a GPU `auto` resolves to the CPU: the same concrete plan, so the same signature and
    // key (the cache may serve it) — the signature records what runs, not what was asked.
    expect(auto.models_used).toEqual(cpu.models_used);
    expect(auto.model_signature).toBe(cpu.model_signature);
    expect(auto.idempotency_key).toBe(cpu.idempotency_key);
    // Another model (same function and bytes, another registry entry): a new signature and key.
    const v2 = entry(
      (await runClip('alt', { core_clip: model(ALT_CLIP, '1', 'cpu') })).manifest,
      'core_clip',
    );
    expect(v2.status).toBe('ok');
    expect(v2.models_used[0]?.model_name).toBe(ALT_CLIP);
    expect(v2.model_signature).not.toBe(cpu.model_signature);
    expect(v2.idempotency_key).not.toBe(cpu.idempotency_key);
    // A precision the card lacks is refused before the run (no silent conversion).
    const fp16 = entry(
      (
        await runClip('fp16', {
          core_clip: { ...model('synthetic-clip-vision', '1', 'cpu'), precision: 'fp16' },
        })
      ).manifest,
      'core_clip',
    );
    expect([fp16.status, fp16.error_code]).toEqual(['error', 'MODEL_NOT_FOUND']);
    const cuda = await runClip('cuda', { core_clip: model('synthetic-clip-vision', '1', 'cuda:0') });
    const failed = entry(cuda.manifest, 'core_clip');
    expect(failed.status).toBe('error');
    expect(failed.error_code).toBe('DEVICE_UNAVAILABLE');
    expect(cuda.status).toBe('error');
    expect(failed.idempotency_key).not.toBe(cpu.idempotency_key);
  }, 120_000);

  it('the full profile fails core_clip and core_depth_midas with MODEL_NOT_FOUND when their models are not installed', async () => {
    const outcome = await runClip(
      'full-missing',
      {
        core_clip: model('clip-vit-b32-vision', 'openai-1.0'),
        core_depth_midas: model('depth-anything-v2-small', '2.0'),
      },
      ['core_clip', 'core_depth_midas'],
    );
    expect(entry(outcome.manifest, 'core_clip').error_code).toBe('MODEL_NOT_FOUND');
    expect(entry(outcome.manifest, 'core_depth_midas').error_code).toBe('MODEL_NOT_FOUND');
    expect(outcome.status).toBe('error');
  }, 120_000);
});
