// Cut detection on generated clips with known boundaries (test/support/cut-clips.ts): the
// Segmenter's every-frame signal checked against an independent numpy computation, then
// cut_detection on it — hard cuts exact to the frame even off the union, a dark low-contrast cut,
// fades, a dissolve, a wipe, and flashes, fast pans and strobe that are no cuts — plus the
// union-frames fallback and CLIP arbitration (synthetic CLIP through runVideo, audited).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRun } from '../src/audit/index.js';
import {
  checkArrays,
  encodeNpz,
  type ComponentContext,
  memoryScratchSpace,
  noDependencyInputs,
  type ComponentResult,
  type NdArray,
} from '../src/contracts/index.js';
import {
  ModelStore,
  buildSyntheticModel,
  clearModelSessions,
  createRegistry,
  type ModelSystemOptions,
} from '../src/models/index.js';
import { runVideo } from '../src/orchestrator/index.js';
import type { Profile } from '../src/orchestrator/index.js';
import { cutDetection } from '../src/processors/visual/index.js';
import { frameAccessFor, readFramesMetadata } from '../src/segmenter/index.js';
import { CUT_CLIPS, cutF1, makeCutClip, type CutClip } from './support/cut-clips.js';
import { ffmpeg, makeTempDir } from './support/media.js';
import { installSynthetic } from './support/models/fixtures.js';
import { loadNpzWithNumpy, runPythonJson } from './support/numpy.js';
import { segment } from './support/segment.js';

let dir: string;
// 30 own frames: most true cuts fall between union frames.
const BUDGET = { cut_detection: { min: 30, targetPerMinute: 0, max: 30 } };

const values = (a: NdArray | undefined): number[] => Array.from((a?.data ?? []) as ArrayLike<number>);
const strings = (a: NdArray | undefined): string[] => (a?.data ?? []) as string[];

async function detect(
  clip: CutClip,
  segmenterConfig: Record<string, unknown> = {},
): Promise<{ result: ComponentResult; union: number[]; runDir: string }> {
  const { result: seg, runDir } = await segment(makeCutClip(dir, clip), BUDGET, segmenterConfig);
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
  const result = await cutDetection.run(ctx);
  checkArrays(cutDetection.schema, result.arrays, { N: ctx.frames.frameIndices.length });
  return { result, union: seg.frames.union_frame_indices_source, runDir };
}

beforeAll(() => {
  dir = makeTempDir('cuts');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the every-frame signal', () => {
  it('holds one 32×18 thumbnail per source frame, equal to numpy 8×8 means of a 256×144 point grid of the decoded luma, listed as an artifact', async () => {
    const clip = CUT_CLIPS.find((c) => c.name === 'hard')!;
    const { result, runDir } = await segment(makeCutClip(dir, clip), BUDGET);
    expect(result.frames.frame_signal).toMatchObject({ file: 'frame_signal.npz', frames: clip.frames });
    expect(result.frames.union_frame_indices_source.length).toBe(30);
    const ref = result.artifacts.find((a) => a.path === 'frames_dir/frame_signal.npz');
    expect(ref?.type).toBe('npz');
    // Independent expectation: every frame decoded at full size, its Y plane in 10×10 block means.
    const raw = join(dir, 'hard.yuv');
    ffmpeg(['-i', makeCutClip(dir, clip), '-f', 'rawvideo', '-pix_fmt', 'yuv420p', raw]);
    const out = runPythonJson<{
      shape: number[];
      maxDiff: number;
      meanDiff: number;
      times: number[];
      meta: Record<string, unknown>;
    }>(
      String.raw`
import json, sys
import numpy as np
z = np.load(sys.argv[1], allow_pickle=False)
y = z["y"].astype(np.float64)
full = np.fromfile(sys.argv[2], dtype=np.uint8).reshape(-1, 320 * 180 * 3 // 2)[:, : 320 * 180]
full = full.reshape(-1, 180, 320).astype(np.float64)
# the documented sampling: nearest pixel centres on a 256×144 grid, then 8×8 box means per cell
xs = np.floor((np.arange(256) + 0.5) * 320 / 256).astype(int)
ys = np.floor((np.arange(144) + 0.5) * 180 / 144).astype(int)
blocks = full[:, ys][:, :, xs].reshape(-1, 18, 8, 32, 8).mean(axis=(2, 4))
d = np.abs(blocks - y)
print(json.dumps({"shape": list(z["y"].shape) + list(z["u"].shape), "maxDiff": float(d.max()), "meanDiff": float(d.mean()), "times": z["timestamps_sec"][:3].tolist(), "meta": json.loads(str(z["meta"]))}))
`,
      [join(runDir, 'frames_dir', 'frame_signal.npz'), raw],
    );
    expect(out.shape).toEqual([clip.frames, 18, 32, clip.frames, 9, 16]);
    // Row i is source frame i: a shift by one frame would differ by far more at every cut.
    expect(out.meanDiff).toBeLessThan(0.6);
    expect(out.maxDiff).toBeLessThanOrEqual(1.5);
    expect(out.times).toEqual([0, 0.04, 0.08]);
    // R-ID-1: the signal carries the run's identity like every other file of the run.
    for (const key of ['platform_id', 'video_id', 'run_id', 'config_hash'] as const)
      expect(out.meta[key], key).toBe(result.frames[key]);
    expect(out.meta).toMatchObject({ index_domain: 'source', width: 32, height: 18, frames: clip.frames });
  });

  it('is skipped with segmenter.frame_signal=false (metadata says so, no file)', async () => {
    const clip = CUT_CLIPS.find((c) => c.name === 'hard')!;
    const { result } = await segment(makeCutClip(dir, clip), BUDGET, { frame_signal: false });
    expect(result.frames.frame_signal).toBeNull();
    expect(result.artifacts.some((a) => a.path.endsWith('frame_signal.npz'))).toBe(false);
  });
});

describe('cut_detection on the generated clips', () => {
  const outcomes = new Map<string, { result: ComponentResult; union: number[] }>();
  beforeAll(async () => {
    for (const clip of CUT_CLIPS) outcomes.set(clip.name, await detect(clip));
  }, 240_000);

  it('finds every hard cut exactly (F1 = 1 at ±0 frames over all clips), most of them between union frames', () => {
    const found: number[] = [];
    const truth: number[] = [];
    let offUnion = 0;
    CUT_CLIPS.forEach((clip, i) => {
      const { result, union } = outcomes.get(clip.name)!;
      expect(result.meta?.signal).toBe('frame_signal');
      expect(result.meta?.localisation_frames).toBe(0);
      found.push(...values(result.arrays.source_cut_frame_indices).map((c) => c + i * 10_000));
      truth.push(...clip.cuts.map((c) => c + i * 10_000));
      offUnion += clip.cuts.filter((c) => !union.includes(c)).length;
    });
    const score = cutF1(found, truth, 0);
    expect(score, JSON.stringify(score)).toMatchObject({ fp: 0, fn: 0 });
    expect(score.f1).toBeGreaterThanOrEqual(0.98);
    expect(truth.length).toBe(8);
    expect(offUnion).toBeGreaterThanOrEqual(6);
  });

  it('finds the dark low-contrast cuts although their absolute change is tiny', () => {
    const { result } = outcomes.get('dark')!;
    expect(values(result.arrays.source_cut_frame_indices)).toEqual([83, 154]);
    for (const s of values(result.arrays.cut_scores)) expect(s).toBeLessThan(0.05);
  });

  it('reports no cut and no transition for flashes, fast pans (apart from the real cut) and strobe', () => {
    for (const name of ['flash', 'strobe']) {
      const { result } = outcomes.get(name)!;
      expect(values(result.arrays.source_cut_frame_indices), name).toEqual([]);
      expect(values(result.arrays.source_gradual_start_frame_indices), name).toEqual([]);
      expect(values(result.arrays.source_shot_start_frame_indices), name).toEqual([0]);
    }
    const pan = outcomes.get('pan')!.result;
    expect(values(pan.arrays.source_cut_frame_indices)).toEqual([100]);
    expect(values(pan.arrays.source_gradual_start_frame_indices)).toEqual([]);
  });

  it('finds fades, a dissolve and a wipe with their spans (±3 frames), kinds and times', () => {
    const expected: Record<string, string[]> = {
      gradual: ['fade_out', 'fade_in', 'dissolve', 'wipe'],
      fades: ['fade_in', 'fade_out'],
    };
    for (const [name, kinds] of Object.entries(expected)) {
      const clip = CUT_CLIPS.find((c) => c.name === name)!;
      const { result } = outcomes.get(name)!;
      const a = result.arrays;
      expect(strings(a.gradual_kinds), name).toEqual(kinds);
      const starts = values(a.source_gradual_start_frame_indices);
      const ends = values(a.source_gradual_end_frame_indices);
      clip.gradual.forEach(([start, end], i) => {
        expect(Math.abs(starts[i]! - start), `${name} #${i} start ${starts[i]}`).toBeLessThanOrEqual(3);
        expect(Math.abs(ends[i]! - end), `${name} #${i} end ${ends[i]}`).toBeLessThanOrEqual(3);
      });
      // Times are the PTS of those frames (25 fps, first PTS 0).
      values(a.gradual_start_times_sec).forEach((t, i) => expect(t).toBeCloseTo(starts[i]! / 25, 4));
      values(a.gradual_end_times_sec).forEach((t, i) => expect(t).toBeCloseTo(ends[i]! / 25, 4));
      // Shots start at frame 0 and at every transition's end; they tile the video.
      const shotStarts = values(a.source_shot_start_frame_indices);
      const shotEnds = values(a.source_shot_end_frame_indices);
      expect(shotStarts[0]).toBe(0);
      expect(shotEnds.at(-1)).toBe(clip.frames - 1);
      for (let i = 1; i < shotStarts.length; i += 1) expect(shotStarts[i]).toBe(shotEnds[i - 1]! + 1);
    }
  });

  it('writes an NPZ numpy reads, with source-domain boundaries and union-domain frame_indices', () => {
    const { result } = outcomes.get('hard')!;
    const path = join(dir, 'cut_detection.npz');
    writeFileSync(path, encodeNpz(result.arrays, { status: result.status, ...result.meta }));
    const { arrays, meta } = loadNpzWithNumpy(path);
    expect(arrays.source_cut_frame_indices?.values).toEqual([37, 98, 127, 180, 224]);
    expect(arrays.frame_indices?.values).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(arrays.source_scores?.shape).toEqual([295]);
    expect(arrays.gradual_kinds?.shape).toEqual([0]);
    expect(arrays.cut_times_sec?.values).toEqual([37, 98, 127, 180, 224].map((f) => Math.fround(f / 25)));
    expect(meta).toMatchObject({ signal: 'frame_signal', num_cuts: 5, num_shots: 6, clip: null });
  });
});

describe('cut_detection without the frame signal', () => {
  it('falls back to its own union frames: each cut at the first own frame after it, localisation recorded', async () => {
    const clip = CUT_CLIPS.find((c) => c.name === 'hard')!;
    const { result, union } = await detect(clip, { frame_signal: false });
    expect(result.meta?.signal).toBe('union_frames');
    expect(result.meta?.localisation_frames).toBeGreaterThan(0);
    expect(values(result.arrays.source_scores)).toEqual([]);
    const expected = clip.cuts.map((c) => union.find((s) => s >= c));
    expect(values(result.arrays.source_cut_frame_indices)).toEqual(expected);
  }, 60_000);
});

describe('cut_detection with use_clip (synthetic CLIP, through runVideo)', () => {
  let system: ModelSystemOptions & { storeDir: string };
  beforeAll(async () => {
    const clip = buildSyntheticModel('clip-vision');
    const registry = createRegistry([clip.card]);
    const storeDir = makeTempDir('cuts-models');
    const store = new ModelStore(storeDir);
    await installSynthetic(store, registry, 'clip-vision');
    system = { registry, store, storeDir };
  }, 60_000);
  afterAll(async () => {
    await clearModelSessions();
    rmSync(system.storeDir, { recursive: true, force: true });
  });

  it('confirms a cut to new colours, rejects a mirrored picture (same colours), records the model, passes the audit', async () => {
    // testsrc2 mirrored from frame 60 on (a persistent change of layout, not of content), then a
    // cut to smptebars at frame 120. The synthetic CLIP embeds an image by its channel means.
    const video = join(dir, 'mirror.mp4');
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=320x180:r=25,trim=end_frame=120',
      '-f',
      'lavfi',
      '-i',
      'smptebars=s=320x180:r=25,trim=end_frame=55',
      '-filter_complex',
      "[0:v]hflip=enable='gte(n,60)',format=yuv420p,setsar=1[a];[1:v]format=yuv420p,setsar=1[b];[a][b]concat=n=2:v=1:a=0[v]",
      '-map',
      '[v]',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-pix_fmt',
      'yuv420p',
      video,
    ]);
    const profile: Profile = {
      name: 'cuts-clip',
      description: 'cut_detection with CLIP',
      generation: 'baseline',
      components: [{ name: 'cut_detection', required: true }],
      models: {
        cut_detection: {
          model: 'synthetic-clip-vision',
          version: '1',
          device: 'cpu',
          precision: 'fp32',
          runtime: 'inprocess',
        },
      },
    };
    const run = (runId: string, useClip: boolean) =>
      runVideo(
        {
          videoPath: video,
          storeRoot: join(dir, 'store'),
          videoId: 'mirror',
          runId,
          databasePath: join(dir, 'profiles.db'),
          profile,
          // Every candidate is "ambiguous" (band 1e6), so CLIP settles each one.
          config: { components: { cut_detection: { use_clip: useClip, clip_band: 1e6 } } },
        },
        { modelSystem: system },
      );
    const plain = await run('plain', false);
    const plainNpz = loadNpzWithNumpy(join(plain.runDir, 'cut_detection', 'cut_detection.npz'));
    expect(plainNpz.arrays.source_cut_frame_indices?.values).toEqual([60, 120]);

    const withClip = await run('clip', true);
    const entry = withClip.manifest.components.find((c) => c.name === 'cut_detection')!;
    expect(entry.status, entry.error ?? '').toBe('ok');
    expect(entry.models_used.map((m) => [m.model_name, m.synthetic])).toEqual([
      ['synthetic-clip-vision', true],
    ]);
    const { arrays, meta } = loadNpzWithNumpy(join(withClip.runDir, 'cut_detection', 'cut_detection.npz'));
    expect(arrays.source_cut_frame_indices?.values).toEqual([120]);
    expect((arrays.cut_clip_distances?.values as number[])[0]).toBeGreaterThan(0.1);
    expect(meta.clip).toMatchObject({ model: 'clip-vit-b32-vision', rejected: 1, confirmed: 1 });
    expect((meta.models_used as { model_name: string }[])[0]?.model_name).toBe('synthetic-clip-vision');
    const audit = await auditRun(withClip.runDir);
    const failed = audit.rules.filter((r) => !r.pass);
    expect(failed, JSON.stringify(failed)).toEqual([]);
    expect(audit.pass).toBe(true);
  }, 120_000);
});
