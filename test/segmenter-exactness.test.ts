// R-SEG-7: union frame k equals source frame union_frame_indices_source[k] of an independent
// decoder (PyAV, Debian python3-av), pixel-wise after the same scaling, with the same timestamp —
// for a CFR file, a VFR file and a file whose first frame starts late.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ffmpeg, makeTempDir } from './support/media.js';
import { PYTHON } from './support/numpy.js';
import { segment } from './support/segment.js';

const dir = makeTempDir('exact');

/** Decodes with PyAV and compares every union frame; prints JSON with the worst differences. */
const COMPARE = String.raw`
import json, sys
import av, numpy as np
video, meta_path = sys.argv[1], sys.argv[2]
meta = json.load(open(meta_path))
w, h = meta['analysis_width'], meta['analysis_height']
wanted = meta['union_frame_indices_source']
times = meta['union_timestamps_sec']
frames_dir = meta_path.rsplit('/', 1)[0]
ours = np.concatenate([np.load(frames_dir + '/' + b['file']) for b in meta['batches']])
container = av.open(video)
stream = container.streams.video[0]
truth = {}
want = set(wanted)
decoded = []
for frame in container.decode(stream):
    decoded.append(float(frame.pts * stream.time_base))
order = sorted(range(len(decoded)), key=lambda i: decoded[i])
# PyAV yields frames in presentation order; index i is the i-th presented frame.
container = av.open(video)
stream = container.streams.video[0]
for i, frame in enumerate(container.decode(stream)):
    if i in want:
        truth[i] = (frame.reformat(width=w, height=h, format='rgb24', interpolation='BILINEAR').to_ndarray(), float(frame.pts * stream.time_base))
worst_pixel, worst_time, missing = 0.0, 0.0, 0
for k, src in enumerate(wanted):
    if src not in truth:
        missing += 1
        continue
    img, t = truth[src]
    worst_pixel = max(worst_pixel, float(np.abs(img.astype(np.int16) - ours[k].astype(np.int16)).mean()))
    worst_time = max(worst_time, abs(t - times[k]))
# A neighbour frame must differ clearly, or the test could not tell frames apart.
neighbour = 0.0
if len(wanted) > 1 and wanted[1] in truth:
    neighbour = float(np.abs(truth[wanted[1]][0].astype(np.int16) - ours[0].astype(np.int16)).mean())
print(json.dumps({'frames': len(wanted), 'decoded': len(decoded), 'sorted': order == list(range(len(decoded))), 'worst_pixel': worst_pixel, 'worst_time': worst_time, 'missing': missing, 'neighbour': neighbour}))
`;

function compare(video: string, metadataPath: string) {
  return JSON.parse(
    execFileSync(PYTHON, ['-c', COMPARE, video, metadataPath], { encoding: 'utf8', maxBuffer: 1 << 28 }),
  ) as {
    frames: number;
    decoded: number;
    sorted: boolean;
    worst_pixel: number;
    worst_time: number;
    missing: number;
    neighbour: number;
  };
}

// testsrc draws a frame counter, so neighbouring frames differ visibly.
const BUDGET = {
  cut_detection: { min: 37, targetPerMinute: 0, max: 37 },
  other: { min: 11, targetPerMinute: 0, max: 11 },
};

describe('frame exactness against PyAV', () => {
  const cases: { name: string; make: (path: string) => void }[] = [
    {
      name: 'CFR H.264 with B-frames',
      make: (p) =>
        ffmpeg([
          '-f',
          'lavfi',
          '-i',
          'testsrc=s=320x240:r=25:d=8',
          '-c:v',
          'libx264',
          '-preset',
          'ultrafast',
          '-bf',
          '3',
          '-g',
          '30',
          p,
        ]),
    },
    {
      name: 'VFR (25 fps, then 10 fps)',
      make: (p) =>
        ffmpeg([
          '-f',
          'lavfi',
          '-i',
          'testsrc=s=320x240:r=25:d=8',
          '-vf',
          "setpts='if(lt(N,50),N/25,2+(N-50)/10)/TB'",
          '-fps_mode',
          'vfr',
          '-c:v',
          'libx264',
          '-preset',
          'ultrafast',
          '-g',
          '30',
          p,
        ]),
    },
    {
      name: 'delayed start (first PTS 1.5 s) in Matroska',
      make: (p) =>
        ffmpeg([
          '-f',
          'lavfi',
          '-i',
          'testsrc=s=320x240:r=25:d=8',
          '-vf',
          'setpts=PTS+1.5/TB',
          '-c:v',
          'libx264',
          '-preset',
          'ultrafast',
          '-bf',
          '2',
          '-g',
          '30',
          p,
        ]),
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const video = join(
        dir,
        `${c.name.replace(/\W+/g, '_')}.${c.name.includes('Matroska') ? 'mkv' : 'mp4'}`,
      );
      c.make(video);
      const { result, runDir } = await segment(video, BUDGET);
      const report = compare(video, join(runDir, 'frames_dir', 'metadata.json'));
      expect(report.missing).toBe(0);
      expect(report.frames).toBe(result.frames.total_frames);
      expect(result.frames.source_total_frames).toBe(report.decoded);
      expect(report.worst_pixel).toBeLessThan(1.5);
      expect(report.neighbour).toBeGreaterThan(report.worst_pixel + 1);
      expect(report.worst_time).toBeLessThan(1e-3);
      // The container keeps the late start (x264's B-frame delay moves it by a frame or less).
      if (c.name.startsWith('delayed')) expect(result.frames.union_timestamps_sec[0]).toBeGreaterThan(1.4);
    });

    it(`${c.name}, sparse sampling with GOP skipping`, async () => {
      const video = join(
        dir,
        `${c.name.replace(/\W+/g, '_')}.${c.name.includes('Matroska') ? 'mkv' : 'mp4'}`,
      );
      const { result, runDir } = await segment(
        video,
        { sparse: { min: 6, targetPerMinute: 0, max: 6 } },
        { seek_merge_gap_frames: 0, seek_max_decode_fraction: 0.9, seek_segment_cost_frames: 0 },
      );
      expect(result.frames.decode_strategy).toBe('seek');
      expect(result.frames.decode_segments).toBeGreaterThan(1);
      expect(result.frames.source_total_frames_read).toBeLessThan(result.frames.source_total_frames);
      const report = compare(video, join(runDir, 'frames_dir', 'metadata.json'));
      expect(report.missing).toBe(0);
      expect(report.worst_pixel).toBeLessThan(1.5);
      expect(report.worst_time).toBeLessThan(1e-3);
    });
  }
});
