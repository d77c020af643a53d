import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { nd, type Component, type ComponentResult } from '../../../../../contracts/index.js';
import {
  FRAME_AXIS_ARRAYS,
  copySlot,
  deviceSchema,
  modelAccess,
  ownFrames,
  runOverFrames,
} from '../frames.js';
import { DEFAULT_DB_PARAMS } from './db.js';
import { DEFAULT_OCR_PARAMS, OCR_MIN_HEIGHT, readText, type OcrArrays, type OcrParams } from './ocr.js';
import { ctcAlphabet } from './recognise.js';

const NAME = 'ocr';
const P = DEFAULT_OCR_PARAMS;
export const OCR_MODELS = { det: 'paddleocr-det', cls: 'paddleocr-cls', rec: 'paddleocr-rec' } as const;
/** The character dictionary shipped with (and digest-pinned in the card of) the recogniser. */
const DICTIONARY = 'ppocr_keys_v1.txt';
/** R-PRV-2: the OCR → Text handoff, the only place raw OCR strings are written. */
/** The scratch area of the raw-text handoff (`_tmp_ocr/`, R-PRV-2). */
export const OCR_HANDOFF_AREA = 'ocr';
export const OCR_HANDOFF_DIR = `_tmp_${OCR_HANDOFF_AREA}`;
export const OCR_HANDOFF_FILE = 'ocr_text.npz';

/** `ocr` config (see `OcrParams` in ocr.ts and `DbParams` in db.ts). */
const configSchema = z
  .object({
    /** Lines kept per frame, top to bottom: the L of the arrays. */
    max_lines: z.number().int().min(1).max(256).default(P.maxLines),
    det_max_side: z.number().int().min(64).max(4096).default(P.detMaxSide),
    det_threshold: z.number().min(0).max(1).default(DEFAULT_DB_PARAMS.threshold),
    box_threshold: z.number().min(0).max(1).default(DEFAULT_DB_PARAMS.boxThreshold),
    unclip_ratio: z.number().min(1).max(4).default(DEFAULT_DB_PARAMS.unclipRatio),
    use_angle_classifier: z.boolean().default(P.useAngleClassifier),
    rec_batch_size: z.number().int().min(1).max(256).default(P.recBatchSize),
    min_rec_score: z.number().min(0).max(1).default(P.minRecScore),
    device: deviceSchema,
  })
  .strict();
export type OcrConfig = z.infer<typeof configSchema>;

const metaSchema = z
  .object({
    max_lines: z.number().int().positive(),
    thresholds: z.record(z.string(), z.number()),
    frames_with_text: z.number().int().nonnegative(),
    total_lines: z.number().int().nonnegative(),
    total_chars: z.number().int().nonnegative(),
    /** Where the raw strings went (relative to the run dir, under `_tmp_*`); never the strings. */
    text_handoff: z.string(),
  })
  .loose();

// One unit = one frame at ≥ 720 lines: the detector input (≤ 960 long side, ~6 MB float32), its
// probability map, and the line crops.
const RESOURCES = { memoryMbPerUnit: 24, devices: ['cpu'] as const, minBatch: 1, maxBatch: 8 };

function paramsOf(c: OcrConfig): OcrParams {
  return {
    maxLines: c.max_lines,
    detMaxSide: c.det_max_side,
    db: {
      ...DEFAULT_DB_PARAMS,
      threshold: c.det_threshold,
      boxThreshold: c.box_threshold,
      unclipRatio: c.unclip_ratio,
    },
    useAngleClassifier: c.use_angle_classifier,
    recBatchSize: c.rec_batch_size,
    minRecScore: c.min_rec_score,
  };
}

/**
 * `ocr` (SPEC §4): PaddleOCR (DB detection, angle classifier, CRNN recognition) through the model
 * system. The artifact holds per-frame statistics, boxes and scores only (R-PRV-1); the raw
 * strings go to `_tmp_ocr/ocr_text.npz` for the Text processor (R-PRV-2).
 */
export const ocr: Component<OcrConfig> = {
  name: NAME,
  kind: 'core',
  processor: 'visual',
  version: '0.1.0',
  dependsOn: [],
  handoffs: [OCR_HANDOFF_AREA],
  // Not in the SPEC's defaults: ~1 s/frame on a shared CPU at 720 lines; on-screen text stays for
  // seconds, so one frame every ~2 s (at least 6) covers captions and lower thirds.
  budget: { min: 6, targetPerMinute: 30, max: 120 },
  minHeight: OCR_MIN_HEIGHT,
  resources: RESOURCES,
  configSchema,
  models: (config) => [
    { model: OCR_MODELS.det, device: config.device },
    ...(config.use_angle_classifier ? [{ model: OCR_MODELS.cls, device: config.device }] : []),
    { model: OCR_MODELS.rec, device: config.device },
  ],
  schema: {
    file: 'ocr.npz',
    schemaVersion: '1.0',
    arrays: {
      ...FRAME_AXIS_ARRAYS,
      text_present: {
        dtype: 'bool',
        shape: ['N'],
        description: 'whether the frame has at least one read line',
      },
      line_count: { dtype: 'int32', shape: ['N'], description: 'text lines kept on the frame (≤ L)' },
      char_count: { dtype: 'int32', shape: ['N'], description: 'characters over the kept lines' },
      text_area_fraction: {
        dtype: 'float32',
        shape: ['N'],
        description: 'sum of line-box areas / frame area, capped at 1',
      },
      line_present: { dtype: 'bool', shape: ['N', 'L'], description: 'slot l of frame n holds a line' },
      boxes: {
        dtype: 'float32',
        shape: ['N', 'L', 4],
        unit: 'px',
        description: 'axis-aligned line box x0, y0, x1, y1 in analysis-frame pixels; NaN padding',
      },
      quads: {
        dtype: 'float32',
        shape: ['N', 'L', 4, 2],
        unit: 'px',
        description: 'rotated line corners tl, tr, br, bl (x, y); NaN padding',
      },
      det_scores: { dtype: 'float32', shape: ['N', 'L'], description: 'DB box score; NaN padding' },
      rec_scores: {
        dtype: 'float32',
        shape: ['N', 'L'],
        description: 'mean character probability of the recognised line; NaN padding',
      },
      line_chars: { dtype: 'int32', shape: ['N', 'L'], description: 'characters in the line; −1 padding' },
    },
    meta: metaSchema,
  },
  knownSymbols: (ctx) => (ctx.frames ? { N: ctx.frames.frameIndices.length, L: ctx.config.max_lines } : {}),

  async run(ctx): Promise<ComponentResult> {
    const frames = ownFrames(ctx, NAME);
    const models = modelAccess(ctx, NAME);
    const c = ctx.config;
    const params = paramsOf(c);
    const det = await models.load(OCR_MODELS.det, { device: c.device });
    const cls = c.use_angle_classifier ? await models.load(OCR_MODELS.cls, { device: c.device }) : det;
    const rec = await models.load(OCR_MODELS.rec, { device: c.device });
    const alphabet = ctcAlphabet(await readFile(join(rec.dir, DICTIONARY), 'utf8'));
    const { slots, batchSize } = await runOverFrames(ctx, frames, models, RESOURCES, (pixels, count, w, h) =>
      readText({ det, cls, rec }, alphabet, pixels, w, h, count, params),
    );
    const n = frames.frameIndices.length;
    const L = c.max_lines;
    const out: OcrArrays = {
      lineCount: new Int32Array(n),
      charCount: new Int32Array(n),
      areaFraction: new Float32Array(n),
      boxes: new Float32Array(n * L * 4).fill(Number.NaN),
      quads: new Float32Array(n * L * 8).fill(Number.NaN),
      detScores: new Float32Array(n * L).fill(Number.NaN),
      recScores: new Float32Array(n * L).fill(Number.NaN),
      lineChars: new Int32Array(n * L).fill(-1),
    };
    const texts: string[] = new Array<string>(n * L).fill('');
    slots.forEach(({ part, index }, k) => {
      const a = part.arrays;
      copySlot(out.lineCount, k, a.lineCount, index, 1);
      copySlot(out.charCount, k, a.charCount, index, 1);
      copySlot(out.areaFraction, k, a.areaFraction, index, 1);
      copySlot(out.boxes, k, a.boxes, index, L * 4);
      copySlot(out.quads, k, a.quads, index, L * 8);
      copySlot(out.detScores, k, a.detScores, index, L);
      copySlot(out.recScores, k, a.recScores, index, L);
      copySlot(out.lineChars, k, a.lineChars, index, L);
      (part.texts[index] ?? []).slice(0, L).forEach((t, l) => (texts[k * L + l] = t));
    });
    const present = new Uint8Array(n);
    const linePresent = new Uint8Array(n * L);
    let lines = 0;
    let chars = 0;
    for (let f = 0; f < n; f++) {
      const count = out.lineCount[f] ?? 0;
      present[f] = count > 0 ? 1 : 0;
      linePresent.fill(1, f * L, f * L + count);
      lines += count;
      chars += out.charCount[f] ?? 0;
    }
    const withText = present.reduce((a, b) => a + b, 0);
    // R-PRV-2: raw strings only in the run's scratch handoff, written atomically.
    await ctx.scratch.writeNpz(
      OCR_HANDOFF_AREA,
      OCR_HANDOFF_FILE,
      {
        frame_indices: nd.int32(Int32Array.from(frames.frameIndices)),
        source_frame_indices: nd.int32(Int32Array.from(frames.sourceFrameIndices)),
        times_sec: nd.float32(Float32Array.from(frames.timestampsSec)),
        line_count: nd.int32(Int32Array.from(out.lineCount)),
        texts: nd.unicode(texts, [n, L]),
      },
      { producer: NAME, producer_version: '0.1.0', raw_text: true },
    );
    const empty = lines === 0;
    return {
      status: empty ? 'empty' : 'ok',
      emptyReason: empty ? 'no_text_detected' : null,
      arrays: {
        frame_indices: nd.int32(Int32Array.from(frames.frameIndices)),
        source_frame_indices: nd.int32(Int32Array.from(frames.sourceFrameIndices)),
        times_sec: nd.float32(Float32Array.from(frames.timestampsSec)),
        text_present: nd.bool(present, [n]),
        line_count: nd.int32(out.lineCount, [n]),
        char_count: nd.int32(out.charCount, [n]),
        text_area_fraction: nd.float32(out.areaFraction, [n]),
        line_present: nd.bool(linePresent, [n, L]),
        boxes: nd.float32(out.boxes, [n, L, 4]),
        quads: nd.float32(out.quads, [n, L, 4, 2]),
        det_scores: nd.float32(out.detScores, [n, L]),
        rec_scores: nd.float32(out.recScores, [n, L]),
        line_chars: nd.int32(out.lineChars, [n, L]),
      },
      meta: {
        max_lines: L,
        thresholds: {
          det_threshold: c.det_threshold,
          box_threshold: c.box_threshold,
          unclip_ratio: c.unclip_ratio,
          min_rec_score: c.min_rec_score,
        },
        frames_with_text: withText,
        total_lines: lines,
        total_chars: chars,
        text_handoff: `${OCR_HANDOFF_DIR}/${OCR_HANDOFF_FILE}`,
      },
      notes: empty
        ? `no text on ${n} frames`
        : `${lines} lines (${chars} characters) on ${withText} of ${n} frames`,
      deviceUsed: det.device,
      batchSize,
      modelsUsed: models.used(),
    };
  },
};
