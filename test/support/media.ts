// Test media generated with ffmpeg's lavfi sources, so every property is known. Nothing is committed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `dp-${prefix}-`));
}

export function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

export interface ShotVideoOptions {
  width?: number;
  height?: number;
  fps?: number;
  /** Seconds of each shot; the cut frames are the cumulative frame counts. */
  shotSeconds?: number[];
  /** Stereo 1 kHz tone at this dBFS, or null for no audio stream. */
  toneDbfs?: number | null;
  /** Mono audio instead of stereo. */
  mono?: boolean;
}

const SOURCES = ['testsrc2', 'smptebars', 'mandelbrot', 'rgbtestsrc', 'yuvtestsrc'];

/**
 * A video of concatenated shots from different lavfi sources. Returns the source-domain frame
 * index of the first frame of every shot after the first (the true cuts).
 */
export function makeShotVideo(
  path: string,
  options: ShotVideoOptions = {},
): { cutFrames: number[]; frames: number } {
  const {
    width = 640,
    height = 360,
    fps = 25,
    shotSeconds = [3, 3, 3],
    toneDbfs = -23,
    mono = false,
  } = options;
  const inputs: string[] = [];
  shotSeconds.forEach((seconds, i) => {
    const source = SOURCES[i % SOURCES.length];
    inputs.push('-f', 'lavfi', '-i', `${source}=s=${width}x${height}:r=${fps},trim=duration=${seconds}`);
  });
  const total = shotSeconds.reduce((a, b) => a + b, 0);
  const filter = `${shotSeconds.map((_, i) => `[${i}:v]`).join('')}concat=n=${shotSeconds.length}:v=1:a=0,format=yuv420p[v]`;
  const args = [...inputs];
  const maps = ['-map', '[v]'];
  if (toneDbfs !== null) {
    const amplitude = 10 ** (toneDbfs / 20);
    const channel = `${amplitude}*sin(2*PI*1000*t)`;
    args.push('-f', 'lavfi', '-i', `aevalsrc=${mono ? channel : `${channel}|${channel}`}:s=48000:d=${total}`);
    maps.push('-map', `${shotSeconds.length}:a`, '-c:a', 'aac', '-b:a', '192k');
  }
  ffmpeg([
    ...args,
    '-filter_complex',
    filter,
    ...maps,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-g',
    String(fps * 2),
    '-shortest',
    path,
  ]);
  const cutFrames: number[] = [];
  let acc = 0;
  for (const seconds of shotSeconds.slice(0, -1)) {
    acc += Math.round(seconds * fps);
    cutFrames.push(acc);
  }
  return { cutFrames, frames: Math.round(total * fps) };
}
