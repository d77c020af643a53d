// R-SEG-5: a component that declares a minimum height gets its frames from a resolution bucket,
// decoded in the same pass; sources above 1080p are capped at 1080 first.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { frameAccessFor } from '../src/segmenter/index.js';
import { ffmpeg, makeTempDir } from './support/media.js';
import { PYTHON } from './support/numpy.js';
import { segment } from './support/segment.js';

const dir = makeTempDir('buckets');

describe('resolution buckets', () => {
  it('writes a 720p bucket for a component that needs it, pixel-exact against PyAV, in one decode pass', async () => {
    const video = join(dir, 'hd.mp4');
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc=s=1280x720:r=25:d=6',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-bf',
      '2',
      video,
    ]);
    const budgets = {
      plain: { min: 30, targetPerMinute: 0, max: 30 },
      needs_pixels: { min: 11, targetPerMinute: 0, max: 11 },
    };
    const { result, runDir } = await segment(video, budgets, {}, { needs_pixels: 720 });
    const frames = result.frames;
    expect(frames.metadata.plain?.bucket).toBeNull();
    expect(frames.metadata.needs_pixels?.bucket).toBe('h720');
    const bucket = frames.buckets.h720;
    expect(bucket).toMatchObject({ width: 1280, height: 720, dir: 'bucket_h720' });
    expect(bucket?.union_indices).toEqual(frames.metadata.needs_pixels?.frame_indices);
    expect(result.artifacts.some((a) => a.path.startsWith('frames_dir/bucket_h720/batch_'))).toBe(true);

    const access = frameAccessFor(runDir, frames, 'needs_pixels');
    expect([access.width, access.height]).toEqual([1280, 720]);
    const plainAccess = frameAccessFor(runDir, frames, 'plain');
    expect([plainAccess.width, plainAccess.height]).toEqual([568, 320]);

    // Independent decode of the same source frames at 1280×720.
    const wanted = Array.from(access.sourceFrameIndices);
    const out = execFileSync(
      PYTHON,
      [
        '-c',
        String.raw`
import sys, json, av, numpy as np
wanted = set(json.loads(sys.argv[2]))
c = av.open(sys.argv[1])
frames = [f.to_ndarray(format='rgb24') for i, f in enumerate(c.decode(video=0)) if i in wanted]
np.save(sys.argv[3], np.stack(frames))
`,
        video,
        JSON.stringify(wanted),
        join(dir, 'truth.npy'),
      ],
      { encoding: 'utf8' },
    );
    expect(out).toBe('');
    const truth = execFileSync(
      PYTHON,
      ['-c', 'import numpy as np, sys; a = np.load(sys.argv[1]); print(a.shape[0])', join(dir, 'truth.npy')],
      { encoding: 'utf8' },
    );
    expect(Number(truth)).toBe(11);
    let k = 0;
    let worst = 0;
    const { readFileSync } = await import('node:fs');
    const truthBytes = readFileSync(join(dir, 'truth.npy'));
    const headerLength = truthBytes.readUInt16LE(8) + 10;
    const frameBytes = 1280 * 720 * 3;
    for await (const batch of access.batches(4)) {
      for (let i = 0; i < batch.unionIndices.length; i += 1, k += 1) {
        let diff = 0;
        const base = headerLength + k * frameBytes;
        for (let p = 0; p < frameBytes; p += 97)
          diff += Math.abs((batch.pixels[i * frameBytes + p] ?? 0) - (truthBytes[base + p] ?? 0));
        worst = Math.max(worst, diff / Math.ceil(frameBytes / 97));
      }
    }
    expect(k).toBe(11);
    expect(worst).toBeLessThan(1.5);
  });

  it('caps a bucket at 1080 lines for a 4K source and skips buckets no larger than the analysis size', async () => {
    const video = join(dir, 'uhd.mp4');
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=3840x2160:r=10:d=5',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      video,
    ]);
    const budgets = {
      a: { min: 5, targetPerMinute: 0, max: 5 },
      big: { min: 3, targetPerMinute: 0, max: 3 },
      small: { min: 3, targetPerMinute: 0, max: 3 },
    };
    const { result } = await segment(video, budgets, {}, { big: 2160, small: 240 });
    expect(Object.keys(result.frames.buckets)).toEqual(['h1080']);
    expect(result.frames.buckets.h1080).toMatchObject({ width: 1920, height: 1080 });
    expect(result.frames.metadata.small?.bucket).toBeNull();
  });
});
