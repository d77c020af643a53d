// Test inputs for the visual core providers. Sample photos come from npm packages installed as
// devDependencies (licences unstated: used only as inputs at test time, never copied into the
// repo); scenes and text frames are composed/rendered with ffmpeg into temp files.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** @vladmandic/face-api demo photos: people count per photo (faces and persons, counted by eye). */
export const FACE_SAMPLES: Record<string, number> = {
  'sample1.jpg': 3,
  'sample2.jpg': 3,
  'sample3.jpg': 3,
  'sample4.jpg': 4,
  'sample5.jpg': 5,
  'sample6.jpg': 4,
};

export function faceSamplePath(name: string): string {
  const dir = dirname(require.resolve('@vladmandic/face-api/package.json'));
  const path = join(dir, 'demo', name);
  if (!existsSync(path)) throw new Error(`missing test sample ${path}`);
  return path;
}

/** Decodes the first frame of an image/video (optionally through a filter) to RGB24. */
export function decodeRgb(input: string[], filter: string, width: number, height: number): Uint8Array {
  const out = execFileSync(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      ...input,
      '-filter_complex',
      `${filter},scale=${width}:${height}:flags=bicubic,format=rgb24`,
      '-frames:v',
      '1',
      '-f',
      'rawvideo',
      'pipe:1',
    ],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  if (out.length !== width * height * 3)
    throw new Error(`decoded ${out.length} bytes, want ${width * height * 3}`);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** Decodes every frame of a video to RGB24 at width×height. */
export function decodeVideoRgb(
  path: string,
  width: number,
  height: number,
): { pixels: Uint8Array; count: number } {
  const out = execFileSync(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-i',
      path,
      '-vf',
      `scale=${width}:${height},format=rgb24`,
      '-f',
      'rawvideo',
      'pipe:1',
    ],
    { maxBuffer: 1024 * 1024 * 1024 },
  );
  const frame = width * height * 3;
  return { pixels: new Uint8Array(out.buffer, out.byteOffset, out.length), count: out.length / frame };
}

/**
 * A scene: photo `name` scaled to `photoHeight` and overlaid at (x, y) on a flat-coloured
 * width×height canvas (a different framing than the photo's own, so letterboxing, offsets and
 * scale are exercised). Returns RGB24 pixels and the photo's placement.
 */
export function composeScene(
  name: string,
  options: { width: number; height: number; photoHeight: number; x: number; y: number; background?: string },
): Uint8Array {
  const { width, height, photoHeight, x, y, background = '0x6a7b8c' } = options;
  return decodeRgb(
    ['-f', 'lavfi', '-i', `color=c=${background}:s=${width}x${height}`, '-i', faceSamplePath(name)],
    `[1:v]scale=-2:${photoHeight}[p];[0:v][p]overlay=${x}:${y}`,
    width,
    height,
  );
}

/** DejaVu fonts from Debian `fonts-dejavu-core` (scripts/setup.sh installs it). */
export const FONTS = {
  sans: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  sansBold: '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
  serif: '/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf',
  mono: '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf',
} as const;

export interface TextLine {
  text: string;
  /** Font size in pixels (drawtext `fontsize`, ≈ the line's ascender-to-descender height). */
  size: number;
  font: keyof typeof FONTS;
  x: number;
  y: number;
  color?: string;
  /** Draw a translucent dark band behind the line (caption style). */
  box?: boolean;
}

/**
 * Renders lines with ffmpeg `drawtext` on a flat background (or over a photo when `photo` names
 * a face sample) and returns RGB24 pixels. Text goes through `textfile=` so no escaping is needed.
 */
export function renderTextFrame(
  dir: string,
  options: {
    width: number;
    height: number;
    lines: TextLine[];
    background?: string;
    photo?: string;
    png?: string;
  },
): Uint8Array {
  const { width, height, lines, background = '0xf4f1e8' } = options;
  const draws = lines.map((line, i) => {
    const file = join(dir, `line-${i}-${Math.random().toString(36).slice(2)}.txt`);
    writeFileSync(file, line.text);
    return `drawtext=fontfile=${FONTS[line.font]}:textfile=${file}:fontsize=${line.size}:fontcolor=${line.color ?? 'black'}:x=${line.x}:y=${line.y}${line.box ? ':box=1:boxcolor=black@0.55:boxborderw=8' : ''}`;
  });
  const input = options.photo
    ? ['-i', faceSamplePath(options.photo)]
    : ['-f', 'lavfi', '-i', `color=c=${background}:s=${width}x${height}`];
  const filter = [`[0:v]scale=${width}:${height}`, ...draws].join(',');
  if (options.png) {
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      ...input,
      '-filter_complex',
      filter,
      '-frames:v',
      '1',
      options.png,
    ]);
  }
  return decodeRgb(input, filter, width, height);
}

/** Levenshtein distance between two strings (by code point). */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[y.length] ?? 0;
}

/**
 * Character error rate of recognised text against the truth: edit distance / truth length,
 * whitespace-normalised (single spaces) and with full-width ASCII folded to half-width, since the
 * Chinese+English recogniser may emit either form of punctuation.
 */
export function characterErrorRate(recognised: string, truth: string): number {
  const norm = (s: string): string =>
    s
      .replace(/[\uff01-\uff5e]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
      .replace(/\s+/g, ' ')
      .trim();
  const t = norm(truth);
  return editDistance(norm(recognised), t) / Math.max(1, [...t].length);
}
