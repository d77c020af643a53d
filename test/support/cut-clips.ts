// Generated clips with known shot boundaries for cut detection (tests and bench/cuts.ts): hard cuts
// at arbitrary frames, a dark low-contrast cut, fades, a dissolve, a wipe, flashes, fast pans and
// strobe. Every clip is 320×180 at 25 fps, H.264 with B-frames, built by one ffmpeg call.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ffmpeg } from './media.js';

export const CLIP_FPS = 25;
const SIZE = '320x180';

export interface CutClip {
  name: string;
  /** What the clip exercises. */
  about: string;
  /** Source frame index of the first frame of each new shot after a hard cut. */
  cuts: number[];
  /** Gradual transitions: [first mixed frame, first frame of the new picture alone], approximately. */
  gradual: [number, number][];
  frames: number;
  /** ffmpeg arguments: lavfi inputs and a filter_complex ending in [v]. */
  inputs: string[];
  filter: string;
}

/** Shots of exactly `lengths[i]` frames from `sources[i]` (lavfi), concatenated: cuts at the sums. */
function shots(
  sources: string[],
  lengths: number[],
  post = '',
): Pick<CutClip, 'cuts' | 'frames' | 'inputs' | 'filter'> {
  const inputs = sources.flatMap((s, i) => ['-f', 'lavfi', '-i', `${s},trim=end_frame=${lengths[i]}`]);
  const parts = lengths.map((_, i) => `[${i}:v]setpts=PTS-STARTPTS,format=yuv420p,setsar=1${post}[p${i}]`);
  const concat = `${lengths.map((_, i) => `[p${i}]`).join('')}concat=n=${lengths.length}:v=1:a=0[v]`;
  const cuts: number[] = [];
  let at = 0;
  for (const n of lengths.slice(0, -1)) cuts.push((at += n));
  return {
    cuts,
    frames: lengths.reduce((a, b) => a + b, 0),
    inputs,
    filter: [...parts, concat].join(';'),
  };
}

const src = (name: string, extra = ''): string => `${name}=s=${SIZE}:r=${CLIP_FPS}${extra}`;

export const CUT_CLIPS: readonly CutClip[] = [
  {
    name: 'hard',
    about: 'hard cuts at arbitrary frames between moving, static, recoloured and busy shots',
    gradual: [],
    ...shots(
      [
        src('testsrc2'),
        src('mandelbrot'),
        src('smptebars'),
        `${src('testsrc2')},hue=h=120`,
        src('rgbtestsrc'),
        src('life', ':mold=10:ratio=0.1:death_color=#C83232:life_color=#00ff00'),
      ],
      [37, 61, 29, 53, 44, 71],
    ),
  },
  {
    name: 'dark',
    about: 'dark, low-contrast shots with sensor-like noise: a cut is a small absolute change',
    gradual: [],
    ...shots(
      [src('testsrc2'), src('mandelbrot'), src('smptebars')],
      [83, 71, 96],
      ',lutyuv=y=16+val/10:u=128+(val-128)/6:v=128+(val-128)/6,noise=alls=4:allf=t',
    ),
  },
  {
    name: 'gradual',
    about:
      'fade-out to black (frames 80–99) straight into a fade-in (100–120), a crossfade (xfade fade, 175–200), a wipe (xfade wipeleft, 250–270)',
    cuts: [],
    gradual: [
      [80, 99],
      [101, 120],
      [175, 200],
      [250, 270],
    ],
    frames: 325,
    inputs: [
      ['testsrc2', 100],
      ['testsrc', 100],
      ['smptebars', 100],
      ['rgbtestsrc', 75],
    ].flatMap(([s, n]) => ['-f', 'lavfi', '-i', `${src(String(s))},trim=end_frame=${n}`]),
    filter: [
      '[0:v]format=yuv420p,setsar=1,fade=t=out:s=80:n=20[a0]',
      '[1:v]format=yuv420p,setsar=1,fade=t=in:s=0:n=20[a1]',
      '[2:v]format=yuv420p,setsar=1[a2]',
      '[3:v]format=yuv420p,setsar=1[a3]',
      '[a0][a1]concat=n=2:v=1:a=0,settb=1/25[x0]',
      '[x0][a2]xfade=transition=fade:duration=1:offset=7[x1]',
      '[x1][a3]xfade=transition=wipeleft:duration=0.8:offset=10,format=yuv420p[v]',
    ].join(';'),
  },
  {
    name: 'fades',
    about: 'fade in from black (frames 25–50) and fade out to black (175–205)',
    cuts: [],
    gradual: [
      [25, 50],
      [175, 205],
    ],
    frames: 250,
    inputs: ['-f', 'lavfi', '-i', src('testsrc2', ':d=10')],
    filter: '[0:v]format=yuv420p,fade=t=in:s=25:n=25,fade=t=out:s=175:n=30[v]',
  },
  {
    name: 'flash',
    about: 'white 1- and 2-frame flashes, a brightening camera flash, a decaying flash: no cuts',
    cuts: [],
    gradual: [],
    frames: 250,
    inputs: ['-f', 'lavfi', '-i', src('testsrc2', ':d=10')],
    filter: [
      "[0:v]format=yuv420p,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='eq(n,40)+between(n,90,91)'",
      "lutyuv=y='min(val+140,235)':enable='between(n,150,151)'",
      "eq=brightness='if(between(n,200,203),0.15*(204-n),0)':eval=frame[v]",
    ].join(','),
  },
  {
    name: 'pan',
    about: 'fast pans (20 and 30 px/frame) across large pictures with one hard cut between them',
    cuts: [100],
    gradual: [],
    frames: 225,
    inputs: [
      '-f',
      'lavfi',
      '-i',
      `testsrc2=s=2400x400:r=${CLIP_FPS},trim=end_frame=100`,
      '-f',
      'lavfi',
      '-i',
      `smptehdbars=s=4400x400:r=${CLIP_FPS},trim=end_frame=125`,
    ],
    filter: [
      "[0:v]crop=320:180:x='n*20':y=110,format=yuv420p,setsar=1[p0]",
      "[1:v]crop=320:180:x='n*30':y='100+n/2',format=yuv420p,setsar=1[p1]",
      '[p0][p1]concat=n=2:v=1:a=0[v]',
    ].join(';'),
  },
  {
    name: 'strobe',
    about: 'a white strobe every 5th frame, then brightness toggling every 2 frames: no cuts',
    cuts: [],
    gradual: [],
    frames: 250,
    inputs: ['-f', 'lavfi', '-i', src('testsrc2', ':d=10')],
    filter: [
      "[0:v]format=yuv420p,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='between(n,50,125)*not(mod(n,5))'",
      "eq=brightness=0.3:enable='between(n,150,200)*lt(mod(n,4),2)'[v]",
    ].join(','),
  },
];

/** Writes clip `clip` as `<dir>/<name>.mp4` (kept when it exists) and returns its path. */
export function makeCutClip(dir: string, clip: CutClip): string {
  const path = join(dir, `${clip.name}.mp4`);
  if (existsSync(path)) return path;
  ffmpeg([
    ...clip.inputs,
    '-filter_complex',
    clip.filter,
    '-map',
    '[v]',
    '-frames:v',
    String(clip.frames),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '18',
    '-g',
    '50',
    '-bf',
    '2',
    '-pix_fmt',
    'yuv420p',
    path,
  ]);
  return path;
}

/** Precision, recall and F1 of detected cut frames against true ones at ±`tolerance` frames. */
export function cutF1(
  detected: readonly number[],
  truth: readonly number[],
  tolerance = 0,
): { tp: number; fp: number; fn: number; precision: number; recall: number; f1: number } {
  const unmatched = [...truth];
  let tp = 0;
  for (const d of detected) {
    const i = unmatched.findIndex((t) => Math.abs(t - d) <= tolerance);
    if (i >= 0) {
      unmatched.splice(i, 1);
      tp += 1;
    }
  }
  const fp = detected.length - tp;
  const fn = unmatched.length;
  const precision = detected.length === 0 ? 1 : tp / detected.length;
  const recall = truth.length === 0 ? 1 : tp / truth.length;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { tp, fp, fn, precision, recall, f1 };
}
