// The core provider components on their own (no orchestrator): DEPENDENCY_MISSING without frames,
// and valid empty artifacts at contract shape on frames with nothing to find (real packaged models).
import {
  encodeNpz,
  memoryScratchSpace,
  noDependencyInputs,
  type ScratchSpace,
} from '../../../../contracts/index.js';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../../../../test/support/media.js';
import { loadNpzWithNumpy } from '../../../../../test/support/numpy.js';
import {
  checkArrays,
  type Component,
  type ComponentContext,
  type FrameAccess,
} from '../../../../contracts/index.js';
import { ModelStore, clearModelSessions, createModelAccess } from '../../../../models/index.js';
import { coreClip } from './core_clip/index.js';
import { coreDepthMidas } from './core_depth_midas/index.js';
import { coreFaceLandmarks } from './core_face_landmarks/index.js';
import { coreObjectDetections } from './core_object_detections/index.js';
import { ocr, OCR_HANDOFF_DIR, OCR_HANDOFF_FILE } from './ocr/index.js';

const dir = makeTempDir('visual-core-components');
afterAll(async () => {
  await clearModelSessions();
  rmSync(dir, { recursive: true, force: true });
});

/** `n` flat grey frames of w×h as a FrameAccess (what frames_dir would deliver). */
function flatFrames(n: number, w: number, h: number): FrameAccess {
  const frameBytes = w * h * 3;
  const all = new Uint8Array(n * frameBytes).fill(128);
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const times = Float64Array.from(idx, (i) => i / 5);
  return {
    frameIndices: idx,
    sourceFrameIndices: Int32Array.from(idx, (i) => i * 5),
    timestampsSec: times,
    width: w,
    height: h,
    sourceFps: 25,
    async *batches(size) {
      for (let s = 0; s < n; s += size) {
        const e = Math.min(n, s + size);
        await Promise.resolve(); // a file read in the real frames_dir
        yield {
          unionIndices: idx.subarray(s, e),
          sourceIndices: idx.subarray(s, e),
          timestampsSec: times.subarray(s, e),
          pixels: all.subarray(s * frameBytes, e * frameBytes),
          width: w,
          height: h,
        };
      }
    },
  };
}

function ctxOf<C>(
  component: Component<C>,
  frames: FrameAccess | null,
  runDir = '/nonexistent',
): ComponentContext<C> {
  return {
    identity: {} as never,
    runDir,
    config: component.configSchema.parse({}),
    frames,
    audio: { hasAudio: false, wavPath: null, sampleRate: 48000, channels: 0, durationSec: 0 },
    progress: () => undefined,
    signal: new AbortController().signal,
    inputs: noDependencyInputs('test'),
    scratch: runDir === '/nonexistent' ? memoryScratchSpace() : diskScratchSpace(runDir),
    document: null,
    models: createModelAccess(),
  };
}

/** Scratch NPZs written under `runDir/_tmp_<area>/` so numpy can read what the component handed off. */
function diskScratchSpace(runDir: string): ScratchSpace {
  const memory = memoryScratchSpace();
  return {
    async writeNpz(area, file, arrays, meta = {}) {
      await memory.writeNpz(area, file, arrays, meta);
      mkdirSync(join(runDir, `_tmp_${area}`), { recursive: true });
      writeFileSync(join(runDir, `_tmp_${area}`, file), encodeNpz(arrays, meta));
      return `_tmp_${area}/${file}`;
    },
    readNpz: (area, file) => memory.readNpz(area, file),
  };
}

describe('visual core provider components', () => {
  it('fail with DEPENDENCY_MISSING when the Segmenter planned no frames for them', async () => {
    for (const c of [coreFaceLandmarks, coreObjectDetections, ocr, coreClip, coreDepthMidas] as Component[])
      await expect(c.run(ctxOf(c, null)), c.name).rejects.toMatchObject({ code: 'DEPENDENCY_MISSING' });
  });

  it('declare their registry models, device cpu by default', () => {
    const cfg = <C>(c: Component<C>) => c.configSchema.parse({});
    expect(coreFaceLandmarks.models?.(cfg(coreFaceLandmarks))).toEqual([
      { model: 'blazeface', device: 'cpu' },
      { model: 'facemesh', device: 'cpu' },
    ]);
    expect(coreObjectDetections.models?.(cfg(coreObjectDetections))).toEqual([
      { model: 'centernet-coco', device: 'cpu' },
    ]);
    expect(ocr.models?.(cfg(ocr)).map((m) => m.model)).toEqual([
      'paddleocr-det',
      'paddleocr-cls',
      'paddleocr-rec',
    ]);
    expect(ocr.minHeight).toBe(720);
    expect(coreClip.models?.(cfg(coreClip))).toEqual([{ model: 'clip-vit-b32-vision', device: 'cpu' }]);
    expect(coreDepthMidas.models?.(cfg(coreDepthMidas))).toEqual([
      { model: 'depth-anything-v2-small', device: 'cpu' },
    ]);
    expect(() => coreClip.configSchema.parse({ device: 'gpu' })).toThrow();
  });

  it('on frames with nothing to find write valid empty artifacts at contract shape', async () => {
    const frames = flatFrames(3, 568, 320);
    const faces = await coreFaceLandmarks.run(ctxOf(coreFaceLandmarks, frames));
    expect([faces.status, faces.emptyReason]).toEqual(['empty', 'no_faces_detected']);
    expect(checkArrays(coreFaceLandmarks.schema, faces.arrays, { N: 3, F: 4 })).toEqual([]);
    expect(faces.modelsUsed?.map((u) => u.model_name)).toEqual(['blazeface', 'facemesh']);
    const objects = await coreObjectDetections.run(ctxOf(coreObjectDetections, frames));
    expect([objects.status, objects.emptyReason]).toEqual(['empty', 'no_objects_detected']);
    expect(checkArrays(coreObjectDetections.schema, objects.arrays, { N: 3, K: 20, C: 80 })).toEqual([]);
    expect(Array.from(objects.arrays.class_ids?.data as Int32Array).every((v) => v === -1)).toBe(true);
    const runDir = join(dir, 'run');
    const text = await ocr.run(ctxOf(ocr, flatFrames(2, 1280, 720), runDir));
    expect([text.status, text.emptyReason]).toEqual(['empty', 'no_text_detected']);
    expect(checkArrays(ocr.schema, text.arrays, { N: 2, L: 32 })).toEqual([]);
    // The handoff exists even when empty (the Text processor reads "no text" from it).
    const handoff = loadNpzWithNumpy(join(runDir, OCR_HANDOFF_DIR, OCR_HANDOFF_FILE));
    expect(handoff.arrays.texts?.shape).toEqual([2, 32]);
    expect(handoff.arrays.texts?.dtype.startsWith('<U')).toBe(true);
  }, 120_000);

  it('report MODEL_NOT_FOUND for CLIP and depth when their weights are not installed', async () => {
    const frames = flatFrames(1, 64, 36);
    for (const c of [coreClip, coreDepthMidas] as Component[]) {
      const ctx = {
        ...ctxOf(c, frames),
        models: createModelAccess({ store: new ModelStore(makeTempDir('empty-store')) }),
      };
      await expect(c.run(ctx), c.name).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    }
  });
});
