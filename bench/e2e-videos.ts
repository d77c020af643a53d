// Bench videos that resemble real content: 5 s shots of people photos (the face-api demo photos,
// a devDependency) with a slow pan, a caption line drawn with ffmpeg drawtext, every fourth shot a
// moving test pattern with a title, concatenated with hard cuts; a tone with noise as audio.
// Generated once into .tmp/bench/ and reused (the name carries duration and height).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FACE_SAMPLES, FONTS, faceSamplePath } from '../test/support/visual.js';

const SHOT_SEC = 5;
const FPS = 25;
const CAPTIONS = [
  'Interview with the design team',
  'Spring festival 2024 highlights',
  'Breaking: city council votes today',
  'Meet our new volunteers',
  'Behind the scenes at the studio',
  'Family reunion in the park',
];

function ff(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: 'inherit' });
}

/** One 5 s shot: photo `index` (or a test pattern), panned, with a caption. */
function makeShot(dir: string, index: number, width: number, height: number): string {
  const out = join(dir, `shot-${index}.mp4`);
  const caption = join(dir, `caption-${index}.txt`);
  writeFileSync(caption, CAPTIONS[index % CAPTIONS.length] ?? '');
  const size = Math.round(height / 18);
  const text = `drawtext=fontfile=${FONTS.sansBold}:textfile=${caption}:fontsize=${size}:fontcolor=white:x=(w-text_w)/2:y=h-${size * 3}:box=1:boxcolor=black@0.55:boxborderw=${Math.round(size / 3)}`;
  const photos = Object.keys(FACE_SAMPLES);
  const common = ['-t', String(SHOT_SEC), '-r', String(FPS), '-pix_fmt', 'yuv420p'];
  if (index % 4 === 3) {
    ff([
      ...['-f', 'lavfi', '-i', `testsrc2=s=${width}x${height}:r=${FPS}`],
      ...['-vf', text, ...common, '-c:v', 'libx264', '-preset', 'veryfast', out],
    ]);
  } else {
    const photo = faceSamplePath(photos[index % photos.length] ?? 'sample1.jpg');
    // Scale to cover 112% of the frame, then pan across the excess over the shot (camera motion).
    const pan = `scale=${Math.round(width * 1.12)}:${Math.round(height * 1.12)}:force_original_aspect_ratio=increase,crop=${width}:${height}:x='(iw-ow)*t/${SHOT_SEC}':y='(ih-oh)/2'`;
    ff([
      ...['-loop', '1', '-framerate', String(FPS), '-i', photo],
      ...['-vf', `${pan},${text}`, ...common, '-c:v', 'libx264', '-preset', 'veryfast', out],
    ]);
  }
  return out;
}

/** The bench video of `durationSec` at `height` (16:9), generated once. */
export function benchVideo(durationSec: number, height: number): string {
  const dir = join(import.meta.dirname, '..', '.tmp', 'bench');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `e2e_${durationSec}s_${height}p.mp4`);
  if (existsSync(path)) return path;
  const width = Math.round((height * 16) / 9 / 2) * 2;
  const work = join(dir, `e2e-work-${process.pid}`);
  mkdirSync(work, { recursive: true });
  try {
    const shots = Math.ceil(durationSec / SHOT_SEC);
    // Six distinct shots are rendered and repeated: the content stays varied, generation stays short.
    const distinct = Array.from({ length: Math.min(shots, 8) }, (_, i) => makeShot(work, i, width, height));
    const list = join(work, 'list.txt');
    writeFileSync(
      list,
      Array.from({ length: shots }, (_, i) => `file '${distinct[i % distinct.length]}'`).join('\n'),
    );
    const tmp = `${path}.tmp.mp4`;
    ff([
      ...['-f', 'concat', '-safe', '0', '-i', list],
      ...['-f', 'lavfi', '-i', `sine=f=220:d=${durationSec}`],
      ...['-f', 'lavfi', '-i', `anoisesrc=a=0.05:d=${durationSec}`],
      ...['-filter_complex', '[1:a][2:a]amix=inputs=2[a]'],
      ...['-map', '0:v', '-map', '[a]', '-c:v', 'copy', '-c:a', 'aac', '-t', String(durationSec), tmp],
    ]);
    renameSync(tmp, path);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return path;
}
