// R-SEG-1/2, R-SEC-1/2: every kind of input the product contract names, generated with ffmpeg,
// gives upright frames of the right aspect and correct timestamps, or the right error code.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DataProcessorError } from '../src/contracts/index.js';
import { frameAccessFor } from '../src/segmenter/index.js';
import { ffmpeg, makeTempDir } from './support/media.js';
import { segment } from './support/segment.js';

const dir = makeTempDir('inputs');
const CUT = { cut_detection: { min: 400, targetPerMinute: 900, max: 1500 } };

async function firstFrame(
  runDir: string,
  metadata: Parameters<typeof frameAccessFor>[1],
): Promise<{ pixels: Uint8Array; width: number; height: number }> {
  for await (const batch of frameAccessFor(runDir, metadata, 'cut_detection').batches(1)) return batch;
  throw new Error('no frames');
}

/** Mean RGB of a rectangle of an RGB24 frame. */
function meanRgb(
  f: { pixels: Uint8Array; width: number },
  x0: number,
  y0: number,
  x1: number,
  y1: number,
): [number, number, number] {
  const sum: [number, number, number] = [0, 0, 0];
  let n = 0;
  for (let y = y0; y < y1; y += 1) {
    for (let x = x0; x < x1; x += 1) {
      const p = (y * f.width + x) * 3;
      sum[0] += f.pixels[p] ?? 0;
      sum[1] += f.pixels[p + 1] ?? 0;
      sum[2] += f.pixels[p + 2] ?? 0;
      n += 1;
    }
  }
  return sum.map((s) => s / n) as [number, number, number];
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<DataProcessorError> {
  try {
    await promise;
  } catch (error) {
    expect((error as DataProcessorError).code).toBe(code);
    return error as DataProcessorError;
  }
  throw new Error(`expected ${code}`);
}

/** Top half red, bottom half blue, 320×180: orientation is visible in every frame. */
const TOP_RED = [
  '-f',
  'lavfi',
  '-i',
  'color=c=blue:s=320x180:r=25:d=6',
  '-vf',
  'drawbox=x=0:y=0:w=320:h=90:color=red:t=fill',
];

describe('Segmenter inputs', () => {
  it('rotation metadata: frames come out upright with swapped dimensions', async () => {
    const plain = join(dir, 'plain.mp4');
    ffmpeg([...TOP_RED, '-c:v', 'libx264', '-preset', 'ultrafast', plain]);
    const p = join(dir, 'rotated.mp4');
    // ffmpeg 5.1 writes the display matrix only when remuxing with the legacy rotate tag.
    ffmpeg(['-i', plain, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', p]);
    const matrix = execFileSync(
      'ffprobe',
      ['-v', 'error', '-show_entries', 'stream_side_data=displaymatrix', '-of', 'csv=p=0', p],
      { encoding: 'utf8' },
    );
    // ISO 14496-12 matrix {a b; c d} = {0 -1; 1 0}: x' = y, y' = -x, so the stored top edge
    // (small y, red) becomes the displayed left edge.
    expect(matrix.replace(/\s+/g, ' ')).toContain('0 -65536 0 00000001: 65536 0 0');
    const { probe, result, runDir } = await segment(p, CUT);
    expect(probe.video.rotationDeg).toBe(90);
    expect([result.frames.analysis_width, result.frames.analysis_height]).toEqual([180, 320]);
    const frame = await firstFrame(runDir, result.frames);
    const left = meanRgb(frame, 0, 0, 80, 320);
    const right = meanRgb(frame, 100, 0, 180, 320);
    expect(left[0]).toBeGreaterThan(200);
    expect(right[2]).toBeGreaterThan(200);
  });

  it('non-square pixels: the display aspect is kept', async () => {
    const p = join(dir, 'anamorphic.mp4');
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=640x360:r=25:d=6',
      '-vf',
      'setsar=4/3',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      p,
    ]);
    const { result } = await segment(p, CUT);
    // 640×360 at SAR 4:3 displays as 853.3×360 → at height 320: 758.5 → even 758.
    expect(result.frames.analysis_height).toBe(320);
    expect(result.frames.analysis_width).toBe(758);
  });

  it('never upscales: a 160×90 source stays 160×90', async () => {
    const p = join(dir, 'tiny.mp4');
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=160x90:r=25:d=6', '-c:v', 'libx264', '-preset', 'ultrafast', p]);
    const { result } = await segment(p, CUT);
    expect([result.frames.analysis_width, result.frames.analysis_height]).toEqual([160, 90]);
  });

  it('Matroska with two audio streams and a subtitle stream: the default audio stream is used and recorded', async () => {
    const srt = join(dir, 'subs.srt');
    writeFileSync(srt, '1\n00:00:00,000 --> 00:00:02,000\nhello\n');
    const p = join(dir, 'multi.mkv');
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=320x180:r=25:d=6',
      '-f',
      'lavfi',
      '-i',
      'sine=f=440:d=6',
      '-f',
      'lavfi',
      '-i',
      'aevalsrc=0.5*sin(2*PI*1000*t)|0.5*sin(2*PI*1000*t):d=6',
      '-i',
      srt,
      '-map',
      '0:v',
      '-map',
      '1:a',
      '-map',
      '2:a',
      '-map',
      '3:s',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-c:a',
      'aac',
      '-c:s',
      'srt',
      '-disposition:a:0',
      '0',
      '-disposition:a:1',
      'default',
      p,
    ]);
    const { result } = await segment(p, CUT);
    expect(result.audio.has_audio).toBe(true);
    expect(result.audio.source_stream_index).toBe(2);
    expect(result.audio.source_audio_streams).toBe(2);
    expect(result.audio.channels).toBe(2);
    // 6 s of audio, measured from the WAV's data chunk (AAC priming may add a few ms).
    expect(result.audio.duration_sec).toBeGreaterThan(5.95);
    expect(result.audio.duration_sec).toBeLessThan(6.1);
    expect(result.frames.total_frames).toBe(150);
  });

  it('4K at 60 fps: analysed at 320 px height, every frame timestamped at 1/60 s', async () => {
    const p = join(dir, 'uhd60.mp4');
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=3840x2160:r=60:d=5',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      p,
    ]);
    const { result } = await segment(p, CUT);
    expect([result.frames.analysis_width, result.frames.analysis_height]).toEqual([568, 320]);
    expect(result.frames.source_total_frames).toBe(300);
    expect(result.frames.union_timestamps_sec[1]).toBeCloseTo(1 / 60, 4);
  });

  it('a video without audio is valid: has_audio=false', async () => {
    const p = join(dir, 'mute.mp4');
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=320x180:r=25:d=6',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      p,
    ]);
    const { result } = await segment(p, CUT);
    expect(result.audio).toMatchObject({ has_audio: false, file: null, channels: 0 });
  });

  it('an audio-only file is INPUT_UNREADABLE (no video stream)', async () => {
    const p = join(dir, 'audio.m4a');
    ffmpeg(['-f', 'lavfi', '-i', 'sine=f=440:d=6', '-c:a', 'aac', p]);
    const error = await expectCode(segment(p, CUT), 'INPUT_UNREADABLE');
    expect(error.message).toMatch(/no video stream/);
  });

  it('too short and too long (configurable) are refused', async () => {
    const p = join(dir, 'six.mp4');
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=160x90:r=25:d=6', '-c:v', 'libx264', '-preset', 'ultrafast', p]);
    await expectCode(segment(p, CUT, { min_duration_sec: 7 }), 'INPUT_TOO_SHORT');
    await expectCode(segment(p, CUT, { max_duration_sec: 5 }), 'INPUT_TOO_LONG');
  });
});

describe('hostile and huge inputs (R-SEC-1/2)', () => {
  it('an HLS playlist named .mp4 is refused and its segment is never read', async () => {
    const canary = join(dir, 'canary.ts');
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=160x90:r=25:d=6',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-f',
      'mpegts',
      canary,
    ]);
    const p = join(dir, 'playlist.mp4');
    writeFileSync(p, `#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\n${canary}\n#EXT-X-ENDLIST\n`);
    await expectCode(segment(p, CUT), 'INPUT_UNREADABLE');
  });

  it('an ffconcat script named .mp4 reads nothing: the canary next to it never reaches any output', async () => {
    const canary = join(dir, 'canary_concat.mp4');
    // A frame of pure green: if it were ever decoded, a green frame would appear.
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'color=c=green:s=160x90:r=25:d=6',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      canary,
    ]);
    const p = join(dir, 'concat.mp4');
    writeFileSync(p, `ffconcat version 1.0\nfile '${canary}'\n`);
    const error = await expectCode(segment(p, CUT), 'INPUT_UNREADABLE');
    expect(error.message).not.toContain('canary');
  });

  it('a 16000×16000 image stream is refused before decoding (pixel cap)', async () => {
    const p = join(dir, 'huge.mkv');
    // A single 750 kB PNG frame that would cost ~800 MB to decode.
    ffmpeg(['-f', 'lavfi', '-i', 'color=c=black:s=16000x16000:r=1:d=1', '-c:v', 'png', '-frames:v', '1', p]);
    const error = await expectCode(segment(p, CUT), 'INPUT_INVALID');
    expect(error.message).toMatch(/16000×16000/);
  });

  it('a file whose header claims two hours is INPUT_TOO_LONG before its packets are read', async () => {
    const p = join(dir, 'claims_hours.mkv');
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=160x90:r=25:d=4',
      '-vf',
      "setpts='if(eq(N,99),7200/TB,PTS)'",
      '-fps_mode',
      'vfr',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      p,
    ]);
    await expectCode(segment(p, CUT), 'INPUT_TOO_LONG');
  });

  it('fuzzed files end as a classified result, never an internal error', async () => {
    const p = join(dir, 'clean.mp4');
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=320x180:r=25:d=6',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-movflags',
      '+faststart',
      p,
    ]);
    const clean = readFileSync(p);
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i += 1) {
      const fuzzed = Buffer.from(clean);
      for (let j = 0; j < 40; j += 1)
        fuzzed[Math.floor(random() * fuzzed.length)] = Math.floor(random() * 256);
      const q = join(dir, `fuzzed_${i}.mp4`);
      writeFileSync(q, fuzzed);
      try {
        await segment(q, CUT);
        outcomes.push('ok');
      } catch (error) {
        outcomes.push((error as DataProcessorError).code);
      }
    }
    for (const outcome of outcomes)
      expect(['ok', 'INPUT_UNREADABLE', 'INPUT_INVALID', 'INPUT_TOO_SHORT', 'INPUT_TOO_LONG']).toContain(
        outcome,
      );
  });

  it('a probe that exceeds its wall-clock limit is TIMEOUT', async () => {
    const p = join(dir, 'timeout.mp4');
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=320x180:r=25:d=6',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      p,
    ]);
    await expectCode(segment(p, CUT, { probe_timeout_sec: 0.001 }), 'TIMEOUT');
  });

  it('ffprobe and ffmpeg run under a memory bound: a bound too small ends as OOM, not a crash', async () => {
    const p = join(dir, 'bounded.mp4');
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=1280x720:r=25:d=6',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      p,
    ]);
    execFileSync('prlimit', ['--version']);
    await expectCode(segment(p, CUT, { decode_memory_limit_mb: 40 }), 'OOM');
  });
});
