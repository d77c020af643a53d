// Visual core providers: ms per frame and frames/s per provider (pre-processing + model +
// post-processing) on the real models, plus model-only time per call, plus the CenterNet/NanoDet
// comparison behind the detector choice and face-count accuracy over the sample photos.
//   npx tsx bench/visual_core.ts [--frames 8]
// Inputs are composed with ffmpeg from the sample photos in devDependencies and drawtext frames.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ctcAlphabet,
  DEFAULT_FACE_PARAMS,
  DEFAULT_OBJECT_PARAMS,
  detectFaceLandmarks,
  detectObjects,
  type LoadedModel,
  readText,
  type Tensor,
} from '../src/processors/visual/index.js';
import { loadModel } from '../src/models/index.js';
import { composeScene, FACE_SAMPLES, renderTextFrame } from '../test/support/visual.js';

const argFrames = process.argv.indexOf('--frames');
const BATCH = argFrames > 0 ? Number(process.argv[argFrames + 1]) : 8;
// Models come through the model system (registry card → digest-verified package files → runtime),
// as the components load them.
const DETECTOR_MODEL = { centernet: 'centernet-coco', nanodet: 'nanodet-coco' } as const;

function stack(frames: Uint8Array[]): Uint8Array {
  const size = frames[0]?.length ?? 0;
  const out = new Uint8Array(frames.length * size);
  frames.forEach((f, i) => out.set(f, i * size));
  return out;
}

/** Wall-clock and process CPU ms per run (CPU time is less distorted by other load on the machine). */
async function timeIt(runs: number, fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  await fn(); // warm-up (first call compiles kernels)
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) await fn();
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / runs, cpu: (c.user + c.system) / 1000 / runs };
}

async function modelOnly(model: LoadedModel, inputs: Record<string, Tensor>, runs = 5): Promise<string> {
  const t = await timeIt(runs, () => model.infer(inputs));
  return `${t.wall.toFixed(1)} ms (cpu ${t.cpu.toFixed(1)})`;
}

/** Table cells for a pipeline timing over `frames` frames. */
function perFrame(t: { wall: number; cpu: number }, frames: number): string[] {
  return [(t.wall / frames).toFixed(1), (t.cpu / frames).toFixed(1), (1000 / (t.wall / frames)).toFixed(1)];
}

const rows: string[][] = [];
const row = (...cells: (string | number)[]): void => {
  rows.push(cells.map(String));
};

const samples = Object.keys(FACE_SAMPLES);
// Segmenter default analysis size (height 320) for faces/objects, 720 for OCR (OCR_MIN_HEIGHT).
const W = 568;
const H = 320;

console.log(
  `cpus ${cpus().length}, load average ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}, batch ${BATCH}`,
);

// ---- faces
const faceModels = {
  detector: await loadModel('blazeface'),
  mesh: await loadModel('facemesh'),
};
const faceFrames = Array.from({ length: BATCH }, (_, i) =>
  composeScene(samples[i % samples.length] ?? 'sample1.jpg', {
    width: W,
    height: H,
    photoHeight: H,
    x: 40,
    y: 0,
  }),
);
const facePixels = stack(faceFrames);
const faceMs = await timeIt(2, () =>
  detectFaceLandmarks(faceModels, facePixels, W, H, BATCH, { ...DEFAULT_FACE_PARAMS, maxFaces: 6 }),
);
const blazeMs = await modelOnly(faceModels.detector, {
  input: { dtype: 'float32', dims: [1, 256, 256, 3], data: new Float32Array(256 * 256 * 3) },
});
const meshMs = await modelOnly(faceModels.mesh, {
  input_1: { dtype: 'float32', dims: [4, 192, 192, 3], data: new Float32Array(4 * 192 * 192 * 3) },
});
row(
  'core_face_landmarks',
  `${W}×${H}, 3–5 faces`,
  ...perFrame(faceMs, BATCH),
  `blazeface ${blazeMs}/frame; facemesh ${meshMs}/batch of 4 faces`,
);

// Face-count accuracy: every sample at two framings.
let exact = 0;
let total = 0;
const faceLines: string[] = [];
for (const name of samples) {
  for (const photoHeight of [H, 240]) {
    const px = composeScene(name, { width: W, height: H, photoHeight, x: 20, y: H - photoHeight });
    const r = await detectFaceLandmarks(faceModels, px, W, H, 1, { ...DEFAULT_FACE_PARAMS, maxFaces: 8 });
    const found = r.faceCount[0] ?? 0;
    total++;
    if (found === FACE_SAMPLES[name]) exact++;
    faceLines.push(`${name}@${photoHeight}: ${found}/${FACE_SAMPLES[name]}`);
  }
}
console.log(`faces: exact count on ${exact}/${total} scenes (found/true) ${faceLines.join(', ')}`);

// ---- objects: both detectors on the same scenes
const scenes = samples.flatMap((name) => [
  { name, px: composeScene(name, { width: W, height: H, photoHeight: H - 20, x: 60, y: 10 }) },
  { name, px: composeScene(name, { width: W, height: H, photoHeight: 180, x: 300, y: 120 }) },
]);
for (const detector of ['centernet', 'nanodet'] as const) {
  const model = await loadModel(DETECTOR_MODEL[detector]);
  const batch = stack(
    Array.from({ length: BATCH }, (_, i) => scenes[i % scenes.length]?.px ?? new Uint8Array()),
  );
  const ms = await timeIt(2, () => detectObjects(detector, model, batch, W, H, BATCH));
  const size = detector === 'centernet' ? 512 : 416;
  const dims = detector === 'centernet' ? [1, size, size, 3] : [1, 3, size, size];
  const inputName = detector === 'centernet' ? 'tower_0/images' : 'input_1';
  const raw = await modelOnly(model, {
    [inputName]: { dtype: 'float32', dims, data: new Float32Array(size * size * 3) },
  });
  row(`core_object_detections (${detector})`, `${W}×${H}`, ...perFrame(ms, BATCH), `${raw}/frame`);
  for (const threshold of [0.2, 0.3, 0.4]) {
    let error = 0;
    let exactScenes = 0;
    let truthPersons = 0;
    let foundPersons = 0;
    for (const scene of scenes) {
      const r = await detectObjects(detector, model, scene.px, W, H, 1, {
        ...DEFAULT_OBJECT_PARAMS,
        scoreThreshold: threshold,
      });
      let persons = 0;
      for (let k = 0; k < (r.counts[0] ?? 0); k++) if (r.classIds[k] === 0) persons++;
      const truth = FACE_SAMPLES[scene.name] ?? 0;
      error += Math.abs(persons - truth);
      truthPersons += truth;
      foundPersons += Math.min(persons, truth);
      if (persons === truth) exactScenes++;
    }
    console.log(
      `objects ${detector} score≥${threshold}: person count exact on ${exactScenes}/${scenes.length} scenes, ` +
        `Σ|count error| ${error}, persons found ≤ truth ${foundPersons}/${truthPersons}`,
    );
  }
}

// ---- OCR at 1280×720
const dir = mkdtempSync(join(tmpdir(), 'dp-bench-ocr-'));
const ocrModels = {
  det: await loadModel('paddleocr-det'),
  cls: await loadModel('paddleocr-cls'),
  rec: await loadModel('paddleocr-rec'),
};
const alphabet = ctcAlphabet(readFileSync(join(ocrModels.rec.dir, 'ppocr_keys_v1.txt'), 'utf8'));
const ocrFrames = Array.from({ length: BATCH }, (_, i) =>
  renderTextFrame(dir, {
    width: 1280,
    height: 720,
    lines: [
      { text: `Headline number ${i + 1} of the evening`, size: 44, font: 'sansBold', x: 80, y: 60 },
      { text: 'Lower third with the speaker name', size: 30, font: 'sans', x: 80, y: 560 },
      { text: 'Small caption text at the bottom', size: 24, font: 'serif', x: 80, y: 640 },
    ],
  }),
);
const ocrPixels = stack(ocrFrames);
for (const detMaxSide of [960, 640]) {
  const ms = await timeIt(1, () =>
    readText(ocrModels, alphabet, ocrPixels, 1280, 720, BATCH, {
      maxLines: 32,
      detMaxSide,
      db: { threshold: 0.3, boxThreshold: 0.6, unclipRatio: 1.5, minSize: 3, maxCandidates: 1000 },
      useAngleClassifier: true,
      recBatchSize: 16,
      minRecScore: 0.5,
    }),
  );
  row(`ocr (det side ${detMaxSide})`, '1280×720, 3 lines', ...perFrame(ms, BATCH), '');
}
const detH = 544;
const detRaw = await modelOnly(ocrModels.det, {
  x: { dtype: 'float32', dims: [1, 3, detH, 960], data: new Float32Array(3 * detH * 960) },
});
const recRaw = await modelOnly(ocrModels.rec, {
  x: { dtype: 'float32', dims: [16, 3, 48, 480], data: new Float32Array(16 * 3 * 48 * 480) },
});
row('ocr models', '', '', '', '', `det ${detRaw} at 960×544; rec ${recRaw}/batch of 16 lines × 480 px`);
rmSync(dir, { recursive: true, force: true });

console.log(
  '\n| provider | frame | ms/frame | cpu ms/frame | frames/s | model only |\n| --- | --- | --- | --- | --- | --- |',
);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
console.log(
  `load average after: ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`,
);
