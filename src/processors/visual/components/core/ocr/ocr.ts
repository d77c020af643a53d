// The `ocr` pipeline for a batch of frames: DB detection (one call for the batch), angle
// classification and recognition batched across all lines of all frames. Written against the
// minimal `LoadedModel` interface; pixel work is in pure functions.
import type { InferModel as LoadedModel } from '../model-types.js';
import { DEFAULT_DB_PARAMS, postprocessDb, preprocessDb, type DbParams, type TextBox } from './db.js';
import type { Quad } from './geometry.js';
import {
  CLS_HEIGHT,
  CLS_WIDTH,
  REC_HEIGHT,
  ctcGreedyDecode,
  decodeCls,
  orientQuad,
  preprocessCls,
  preprocessRec,
  type DecodedLine,
} from './recognise.js';

/**
 * Minimum analysis height OCR needs (R-SEG-5): at 720 lines the text heights the recogniser reads
 * well (≥ ~16 px) survive for captions and lower thirds; at the default 320 they do not.
 */
export const OCR_MIN_HEIGHT = 720;

export interface OcrParams {
  /** Lines kept per frame (the L of the arrays), top to bottom. @defaultValue 32 */
  maxLines: number;
  /** Detector longer-side cap (pixels). @defaultValue 960 */
  detMaxSide: number;
  db: DbParams;
  /** Run the 180° classifier. @defaultValue true */
  useAngleClassifier: boolean;
  /** Lines per recogniser call. @defaultValue 16 */
  recBatchSize: number;
  /** Lines whose mean character probability is below this are dropped (PaddleOCR drop_score). @defaultValue 0.5 */
  minRecScore: number;
}

export const DEFAULT_OCR_PARAMS: OcrParams = {
  maxLines: 32,
  detMaxSide: 960,
  db: DEFAULT_DB_PARAMS,
  useAngleClassifier: true,
  recBatchSize: 16,
  minRecScore: 0.5,
};

/**
 * Per-frame OCR statistics for N frames (no strings — R-PRV-1), padded to L = maxLines:
 * boxes NaN, scores NaN, char counts −1 where no line.
 */
export interface OcrArrays {
  lineCount: Int32Array; // [N]
  charCount: Int32Array; // [N] characters over all kept lines
  /** Sum of line-box areas / frame area, capped at 1 (lines do not overlap after DB). */
  areaFraction: Float32Array; // [N]
  boxes: Float32Array; // [N,L,4] axis-aligned x0,y0,x1,y1 frame pixels
  quads: Float32Array; // [N,L,4,2] rotated corners tl,tr,br,bl
  detScores: Float32Array; // [N,L]
  recScores: Float32Array; // [N,L]
  lineChars: Int32Array; // [N,L]
}

/** What the pipeline returns: the arrays and, only for the `_tmp_*` text handoff, the raw strings. */
export interface OcrResult {
  arrays: OcrArrays;
  /** texts[n][l] is line l of frame n. Never log or store these in an artifact (R-PRV-1). */
  texts: string[][];
}

export interface OcrModels {
  det: LoadedModel;
  cls: LoadedModel;
  rec: LoadedModel;
}

function firstOutput(out: Record<string, { dims: readonly number[]; data: unknown }>): {
  dims: readonly number[];
  data: Float32Array;
} {
  const t = Object.values(out)[0];
  if (!t) throw new Error('ocr: model returned no outputs');
  return { dims: t.dims, data: t.data as Float32Array };
}

/** Reads text on `count` RGB uint8 frames `[count, height, width, 3]` (all the same size). */
export async function readText(
  models: OcrModels,
  alphabet: readonly string[],
  pixels: Uint8Array,
  width: number,
  height: number,
  count: number,
  params: OcrParams = DEFAULT_OCR_PARAMS,
): Promise<OcrResult> {
  const L = params.maxLines;
  const arrays: OcrArrays = {
    lineCount: new Int32Array(count),
    charCount: new Int32Array(count),
    areaFraction: new Float32Array(count),
    boxes: new Float32Array(count * L * 4).fill(NaN),
    quads: new Float32Array(count * L * 8).fill(NaN),
    detScores: new Float32Array(count * L).fill(NaN),
    recScores: new Float32Array(count * L).fill(NaN),
    lineChars: new Int32Array(count * L).fill(-1),
  };
  const texts: string[][] = Array.from({ length: count }, () => []);
  if (count === 0) return { arrays, texts };
  const frameBytes = width * height * 3;
  const frames = Array.from({ length: count }, (_, n) =>
    pixels.subarray(n * frameBytes, (n + 1) * frameBytes),
  );
  // Detection: one frame per call. The detector is batch-invariant, and on the CPU batching buys
  // nothing (960×544, 2 threads, arena on: 8 single calls 555–626 ms, one batch of 8 540–546 ms),
  // while every new batch size is a new shape whose first call costs ONNX Runtime ≈ 2 s (batch 8;
  // 0.2 s at batch 1). One frame per call keeps one shape and one frame's buffers.
  const lines: { frame: number; box: TextBox; quad: Quad }[] = [];
  for (let n = 0; n < count; n++) {
    const { data, w, h } = preprocessDb(frames[n] ?? pixels, width, height, params.detMaxSide);
    const prob = firstOutput(await models.det.infer({ x: { dtype: 'float32', dims: [1, 3, h, w], data } }));
    const boxes = postprocessDb(prob.data, w, h, width, height, params.db);
    for (const box of boxes.slice(0, L)) lines.push({ frame: n, box, quad: box.quad });
  }
  if (lines.length === 0) return { arrays, texts };
  const lineFrames = lines.map((l) => frames[l.frame] ?? pixels);
  // Angle classifier: upside-down lines are read turned by 180°.
  const oriented = lines.map((l) => orientQuad(l.quad, false));
  if (params.useAngleClassifier) {
    for (let start = 0; start < lines.length; start += params.recBatchSize) {
      const end = Math.min(lines.length, start + params.recBatchSize);
      const data = preprocessCls(lineFrames.slice(start, end), width, height, oriented.slice(start, end));
      const cls = firstOutput(
        await models.cls.infer({
          x: { dtype: 'float32', dims: [end - start, 3, CLS_HEIGHT, CLS_WIDTH], data },
        }),
      );
      decodeCls(cls.data).forEach((flip, k) => {
        const line = lines[start + k];
        if (line && flip) oriented[start + k] = orientQuad(line.quad, true);
      });
    }
  }
  // Recognition batched across all lines of all frames, sorted by width so batches pad little.
  const decoded: DecodedLine[] = new Array<DecodedLine>(lines.length);
  for (const batch of preprocessRec(lineFrames, width, height, oriented, params.recBatchSize)) {
    const out = firstOutput(
      await models.rec.infer({
        x: { dtype: 'float32', dims: [batch.indices.length, 3, REC_HEIGHT, batch.width], data: batch.data },
      }),
    );
    const [, steps = 0, classes = 0] = out.dims;
    if (classes !== alphabet.length)
      throw new Error(`ocr: recogniser has ${classes} classes, alphabet ${alphabet.length}`);
    ctcGreedyDecode(out.data, batch.indices.length, steps, alphabet).forEach((d, k) => {
      const i = batch.indices[k];
      if (i !== undefined) decoded[i] = d;
    });
  }
  lines.forEach((l, i) => {
    const d = decoded[i];
    if (!d || d.chars === 0 || d.score < params.minRecScore) return;
    const n = l.frame;
    const slot = arrays.lineCount[n] ?? 0;
    const at = n * L + slot;
    const xs = l.quad.map((p) => p[0]);
    const ys = l.quad.map((p) => p[1]);
    const box = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
    arrays.boxes.set(box, at * 4);
    arrays.quads.set(l.quad.flat(), at * 8);
    arrays.detScores[at] = l.box.score;
    arrays.recScores[at] = d.score;
    arrays.lineChars[at] = d.chars;
    arrays.lineCount[n] = slot + 1;
    arrays.charCount[n] = (arrays.charCount[n] ?? 0) + d.chars;
    arrays.areaFraction[n] = Math.min(
      1,
      (arrays.areaFraction[n] ?? 0) +
        (((box[2] ?? 0) - (box[0] ?? 0)) * ((box[3] ?? 0) - (box[1] ?? 0))) / (width * height),
    );
    texts[n]?.push(d.text);
  });
  return { arrays, texts };
}
