import onnxProto, { type onnx as OnnxTypes } from 'onnx-proto';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelCard, TensorSpec } from './card.js';
import { EXTERNAL_CARDS } from './cards/external.js';
import { CLIP_END, CLIP_START, bytesToUnicode } from './clip-tokenizer.js';

const { onnx } = onnxProto;
type IValueInfoProto = OnnxTypes.IValueInfoProto;
type IGraphProto = OnnxTypes.IGraphProto;

/** The models a synthetic stand-in exists for. */
export const SYNTHETIC_KINDS = [
  'clip-vision',
  'clip-text',
  'depth',
  'clap-audio',
  'whisper-encoder',
  'whisper-decoder',
] as const;
export type SyntheticKind = (typeof SYNTHETIC_KINDS)[number];

/** A built synthetic model: its ONNX bytes and its card (digest of exactly those bytes). */
export interface SyntheticModel {
  card: ModelCard;
  files: Record<string, Uint8Array>;
}

/**
 * The fixed projection of the synthetic CLIP stand-in: `image_embeds[n, j] = Σ_c mean_c(n) · W[c, j]`
 * with `mean_c` the mean of channel c over the image and `W[c, j] = ((c + 1) · (j + 1) mod 7 − 3) / 4`.
 * Exported so tests can compute the expected output independently of the model.
 */
export function syntheticClipWeight(c: number, j: number): number {
  return ((((c + 1) * (j + 1)) % 7) - 3) / 4;
}

/**
 * The words the synthetic CLIP text stand-in knows, with the RGB colour (0..255) each stands for.
 * Its `text_embeds` of a text is the sum, over the text's tokens, of a row per token: for these
 * words the synthetic CLIP vision embedding of a flat frame of that colour (so a flat red frame's
 * embedding is parallel to "red"'s), zero for every other token. Cosine similarity of the two
 * stand-ins therefore ranks colour words by how close a frame's mean colour is to theirs.
 */
export const SYNTHETIC_CLIP_TEXT_COLOURS: Readonly<Record<string, readonly [number, number, number]>> = {
  red: [255, 0, 0],
  green: [0, 255, 0],
  blue: [0, 0, 255],
  white: [255, 255, 255],
  black: [0, 0, 0],
  yellow: [255, 255, 0],
};

/** The synthetic CLIP vision embedding (not normalised) of a flat frame of colour `rgb`, `dim` values. */
export function syntheticClipColourEmbedding(rgb: readonly number[], dim = 512): Float32Array {
  const vision = EXTERNAL_CARDS.find((c) => c.name === 'clip-vit-b32-vision')?.preprocessing;
  const mean = vision?.mean ?? [0, 0, 0];
  const std = vision?.std ?? [1, 1, 1];
  const v = [0, 1, 2].map((c) => ((rgb[c] ?? 0) / 255 - (mean[c] ?? 0)) / (std[c] ?? 1));
  return Float32Array.from({ length: dim }, (_, j) =>
    v.reduce((acc, x, c) => acc + x * syntheticClipWeight(c, j), 0),
  );
}

/**
 * The synthetic CLIP text tokenizer's vocabulary and merges: the two specials, the 256 byte
 * symbols with and without `</w>`, and right-to-left merges that build each colour word whole
 * (`e d</w>` → `ed</w>`, `r ed</w>` → `red</w>`), so no merge can split another word.
 */
export function syntheticClipTextVocab(): { vocab: string[]; merges: [string, string][] } {
  const bytes = bytesToUnicode();
  const vocab = [CLIP_START, CLIP_END, ...bytes, ...bytes.map((b) => `${b}</w>`)];
  const merges: [string, string][] = [];
  const seen = new Set(vocab);
  for (const word of Object.keys(SYNTHETIC_CLIP_TEXT_COLOURS)) {
    let suffix = `${word.at(-1) ?? ''}</w>`;
    for (let i = word.length - 2; i >= 0; i--) {
      const merged = `${word[i] ?? ''}${suffix}`;
      if (!seen.has(merged)) {
        merges.push([word[i] ?? '', suffix]);
        vocab.push(merged);
        seen.add(merged);
      }
      suffix = merged;
    }
  }
  return { vocab, merges };
}

/** The synthetic CLIP text stand-in's `tokenizer.json` (the subset of the Hugging Face format ClipTokenizer reads). */
export function syntheticClipTextTokenizerJson(): string {
  const { vocab, merges } = syntheticClipTextVocab();
  return `${JSON.stringify({
    version: '1.0',
    added_tokens: [
      { id: 0, content: CLIP_START, special: true },
      { id: 1, content: CLIP_END, special: true },
    ],
    model: {
      type: 'BPE',
      end_of_word_suffix: '</w>',
      vocab: Object.fromEntries(vocab.map((t, id) => [t, id])),
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  })}\n`;
}

/**
 * The fixed projection of the synthetic CLAP audio stand-in:
 * `audio_embeds[n, j] = Σ_m mean_t(input_features[n, 0, t, m]) · W[m, j]` (the time-mean of each of
 * the 64 log-mel bins) with `W[m, j] = ((m + 1) · (j + 1) mod 11 − 5) / 8`.
 */
export function syntheticClapWeight(m: number, j: number): number {
  return ((((m + 1) * (j + 1)) % 11) - 5) / 8;
}

/**
 * The fixed projection of the synthetic Whisper encoder stand-in: output frame f (of 1500) is
 * `last_hidden_state[n, f, d] = Σ_k x[n, k] · W[k, d]` over the 160 values `x[n, 80·p + b] =
 * input_features[n, b, 2f + p]` (p ∈ {0, 1}: the two mel frames of f, b the mel bin), with
 * `W[k, d] = ((k + 1) · (d + 3) mod 13 + 1) / 64` (all positive, so the mean of the output is a
 * positively weighted mean of the input features: see the synthetic decoder).
 */
export function syntheticWhisperEncoderWeight(k: number, d: number): number {
  return ((((k + 1) * (d + 3)) % 13) + 1) / 64;
}

/** Σ_k mean_d W[k, d] of the synthetic encoder: the decoder divides by it to read the feature level. */
export function syntheticWhisperEncoderScale(pair = 160, hidden = 384): number {
  let sum = 0;
  for (let k = 0; k < pair; k++) {
    let row = 0;
    for (let d = 0; d < hidden; d++) row += syntheticWhisperEncoderWeight(k, d);
    sum += row / hidden;
  }
  return sum;
}

/**
 * The tiny vocabulary of the synthetic Whisper decoder, in its `tokenizer.json` (Hugging Face
 * format, byte-level: `Ġ` is a space). Ids 0–6 are the special tokens Whisper decoding needs.
 */
export const SYNTHETIC_WHISPER_VOCAB: readonly string[] = [
  '<|endoftext|>',
  '<|startoftranscript|>',
  '<|en|>',
  '<|de|>',
  '<|transcribe|>',
  '<|notimestamps|>',
  '<|nospeech|>',
  'Ze',
  'bra',
  'Ġcan',
  'ary',
  'Ġ7',
  'Q',
  'Ġquiet',
  'Ġloud',
  '.',
];
const SYNTHETIC_WHISPER_SPECIALS = 7;

/**
 * The synthetic Whisper decoder: `logits[n, s, v] = T[input_ids[n, s], v] + c[n] · u[v]` with
 * `c[n] = mean(encoder_hidden_states[n]) / syntheticWhisperEncoderScale()` — for the synthetic
 * encoder, a weighted mean of the log-mel features (−1.5 for silence). `T` (default −10) is the
 * transition table below and `u` is 0 except `u[<|nospeech|>] = −10`, `u[Ġquiet] = −2`,
 * `u[Ġloud] = +2`. So from `<|startoftranscript|>`: `<|en|>` 2, `<|de|>` 1, `<|nospeech|>`
 * −10 − 10c (it wins below c = −1.2); after `<|notimestamps|>` the greedy text is
 * "Zebra canary 7Q loud." for c > 0 and "Zebra canary 7Q quiet." for c ≤ 0, provided the decoder
 * suppresses special tokens (after `<|notimestamps|>`, `<|startoftranscript|>` scores 12).
 */
export function syntheticWhisperTransitions(): { table: Float32Array; u: Float32Array } {
  const v = SYNTHETIC_WHISPER_VOCAB.length;
  const table = new Float32Array(v * v).fill(-10);
  const set = (from: number, to: number, value: number): void => {
    table[from * v + to] = value;
  };
  set(1, 2, 2);
  set(1, 3, 1);
  set(2, 4, 10);
  set(3, 4, 10);
  set(4, 5, 10);
  set(5, 7, 8);
  set(5, 1, 12);
  set(7, 8, 10);
  set(8, 9, 10);
  set(9, 10, 10);
  set(10, 11, 10);
  set(11, 12, 10);
  set(12, 13, 0);
  set(12, 14, 0);
  set(13, 15, 10);
  set(14, 15, 10);
  set(15, 0, 10);
  set(0, 0, 10);
  const u = new Float32Array(v);
  u[6] = -10;
  u[13] = -2;
  u[14] = 2;
  return { table, u };
}

/** The synthetic decoder's `tokenizer.json` (the subset of the Hugging Face format Whisper decoding reads). */
export function syntheticWhisperTokenizerJson(): string {
  const added = SYNTHETIC_WHISPER_VOCAB.slice(0, SYNTHETIC_WHISPER_SPECIALS).map((content, id) => ({
    id,
    content,
    special: true,
  }));
  const vocab = Object.fromEntries(SYNTHETIC_WHISPER_VOCAB.map((t, id) => [t, id]));
  return `${JSON.stringify({ version: '1.0', added_tokens: added, model: { type: 'BPE', vocab } }, null, 1)}\n`;
}

const F = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;

function int64Initializer(name: string, values: readonly number[]): OnnxTypes.ITensorProto {
  return { name, dims: [values.length], dataType: I64, int64Data: values.map((v) => v) };
}

function floatInitializer(name: string, dims: number[], values: Float32Array): OnnxTypes.ITensorProto {
  return {
    name,
    dims,
    dataType: F,
    rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  };
}

function valueInfo(spec: TensorSpec): IValueInfoProto {
  return {
    name: spec.name,
    type: {
      tensorType: {
        elemType: spec.dtype === 'int64' ? I64 : F,
        shape: { dim: spec.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function encodeModel(graph: IGraphProto, standsFor: string): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 7,
    producerName: 'dataprocessor-synthetic',
    producerVersion: '1',
    docString: `synthetic stand-in for ${standsFor} (tests only, not the real model)`,
    opsetImport: [{ domain: '', version: 13 }],
    graph,
  }).finish();
}

function buildGraph(kind: SyntheticKind, real: ModelCard): IGraphProto {
  const input = real.inputs[0];
  const output = real.outputs[0];
  if (input === undefined || output === undefined) throw new Error(`card ${real.name} has no signature`);
  if (kind === 'clip-vision') {
    const embed = output.shape[1] as number;
    const weights = new Float32Array(3 * embed);
    for (let c = 0; c < 3; c++)
      for (let j = 0; j < embed; j++) weights[c * embed + j] = syntheticClipWeight(c, j);
    return {
      name: 'synthetic_clip_vision',
      input: [valueInfo(input)],
      output: [valueInfo(output)],
      initializer: [{ name: 'W', dims: [3, embed], dataType: F, rawData: new Uint8Array(weights.buffer) }],
      node: [
        // [N,3,H,W] → per-channel mean [N,3] → fixed projection [N,embed]
        {
          opType: 'ReduceMean',
          input: [input.name],
          output: ['pooled'],
          attribute: [
            { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [2, 3] },
            { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
          ],
        },
        { opType: 'MatMul', input: ['pooled', 'W'], output: [output.name] },
      ],
    };
  }
  if (kind === 'clip-text') {
    const ids = real.inputs[0];
    const mask = real.inputs[1];
    if (ids === undefined || mask === undefined) throw new Error(`card ${real.name} has no signature`);
    const embed = output.shape[1] as number;
    const { vocab } = syntheticClipTextVocab();
    const table = new Float32Array(vocab.length * embed);
    vocab.forEach((token, id) => {
      const colour = SYNTHETIC_CLIP_TEXT_COLOURS[token.replace(/<\/w>$/, '')];
      if (token.endsWith('</w>') && colour)
        table.set(syntheticClipColourEmbedding(colour, embed), id * embed);
    });
    return {
      name: 'synthetic_clip_text',
      input: [valueInfo(ids), valueInfo(mask)],
      output: [valueInfo(output)],
      initializer: [
        floatInitializer('T', [vocab.length, embed], table),
        int64Initializer('last', [2]),
        int64Initializer('tokens', [1]),
      ],
      node: [
        // Σ_s mask[n, s] · T[input_ids[n, s]]  →  [N, embed]
        { opType: 'Gather', input: ['T', ids.name], output: ['rows'] },
        {
          opType: 'Cast',
          input: [mask.name],
          output: ['maskF'],
          attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: F }],
        },
        { opType: 'Unsqueeze', input: ['maskF', 'last'], output: ['mask3'] },
        { opType: 'Mul', input: ['rows', 'mask3'], output: ['masked'] },
        {
          opType: 'ReduceSum',
          input: ['masked', 'tokens'],
          output: [output.name],
          attribute: [{ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
        },
      ],
    };
  }
  if (kind === 'clap-audio') {
    const bins = input.shape[3] as number;
    const embed = output.shape[1] as number;
    const weights = new Float32Array(bins * embed);
    for (let m = 0; m < bins; m++)
      for (let j = 0; j < embed; j++) weights[m * embed + j] = syntheticClapWeight(m, j);
    return {
      name: 'synthetic_clap_audio',
      input: [valueInfo(input)],
      output: [valueInfo(output)],
      initializer: [floatInitializer('W', [bins, embed], weights)],
      node: [
        // [N,1,T,64] → time-mean per mel bin [N,64] → fixed projection [N,embed]
        {
          opType: 'ReduceMean',
          input: [input.name],
          output: ['pooled'],
          attribute: [
            { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 2] },
            { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
          ],
        },
        { opType: 'MatMul', input: ['pooled', 'W'], output: [output.name] },
      ],
    };
  }
  if (kind === 'whisper-encoder') {
    const bins = input.shape[1] as number;
    const frames = input.shape[2] as number;
    const outFrames = output.shape[1] as number;
    const hidden = output.shape[2] as number;
    const pair = (bins * frames) / outFrames;
    const weights = new Float32Array(pair * hidden);
    for (let k = 0; k < pair; k++)
      for (let d = 0; d < hidden; d++) weights[k * hidden + d] = syntheticWhisperEncoderWeight(k, d);
    return {
      name: 'synthetic_whisper_encoder',
      input: [valueInfo(input)],
      output: [valueInfo(output)],
      initializer: [
        floatInitializer('W', [pair, hidden], weights),
        int64Initializer('pairs', [0, outFrames, pair]),
      ],
      node: [
        // [N,80,3000] → [N,3000,80] → [N,1500,160] (two frames side by side) → [N,1500,384]
        {
          opType: 'Transpose',
          input: [input.name],
          output: ['frames'],
          attribute: [{ name: 'perm', type: onnx.AttributeProto.AttributeType.INTS, ints: [0, 2, 1] }],
        },
        { opType: 'Reshape', input: ['frames', 'pairs'], output: ['paired'] },
        { opType: 'MatMul', input: ['paired', 'W'], output: [output.name] },
      ],
    };
  }
  if (kind === 'whisper-decoder') {
    const ids = real.inputs[0];
    const hidden = real.inputs[1];
    if (ids === undefined || hidden === undefined) throw new Error(`card ${real.name} has no signature`);
    const v = SYNTHETIC_WHISPER_VOCAB.length;
    const { table, u } = syntheticWhisperTransitions();
    const scale = syntheticWhisperEncoderScale();
    return {
      name: 'synthetic_whisper_decoder',
      input: [valueInfo(ids), valueInfo(hidden)],
      output: [valueInfo({ ...output, shape: ['N', 'S', v] })],
      initializer: [
        floatInitializer('T', [v, v], table),
        floatInitializer('u', [v], u),
        floatInitializer('scale', [], Float32Array.of(scale)),
      ],
      node: [
        // T[input_ids] [N,S,V] + (mean(enc) / scale) [N,1,1] · u [V]
        { opType: 'Gather', input: ['T', ids.name], output: ['transition'] },
        {
          opType: 'ReduceMean',
          input: [hidden.name],
          output: ['level'],
          attribute: [
            { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 2] },
            { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
          ],
        },
        { opType: 'Div', input: ['level', 'scale'], output: ['c'] },
        { opType: 'Mul', input: ['c', 'u'], output: ['bias'] },
        { opType: 'Add', input: ['transition', 'bias'], output: [output.name] },
      ],
    };
  }
  // depth: [N,3,H,W] → channel mean [N,H,W] (a "depth" that is the image's brightness)
  return {
    name: 'synthetic_depth',
    input: [valueInfo(input)],
    output: [valueInfo(output)],
    node: [
      {
        opType: 'ReduceMean',
        input: [input.name],
        output: [output.name],
        attribute: [
          { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1] },
          { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
        ],
      },
    ],
  };
}

const STANDS_FOR: Record<SyntheticKind, string> = {
  'clip-vision': 'clip-vit-b32-vision',
  'clip-text': 'clip-vit-b32-text',
  depth: 'depth-anything-v2-small',
  'clap-audio': 'clap-htsat-unfused-audio',
  'whisper-encoder': 'whisper-tiny-encoder',
  'whisper-decoder': 'whisper-tiny-decoder',
};

/**
 * Builds a tiny valid ONNX model with the real input/output signature of the model it stands for
 * and a deterministic, hand-checkable function (see `syntheticClipWeight`). Its card says
 * `synthetic: true` and is named `synthetic-<kind>`, so `models_used` can never mistake it for the real model.
 */
export function buildSyntheticModel(kind: SyntheticKind): SyntheticModel {
  const realName = STANDS_FOR[kind];
  const real = EXTERNAL_CARDS.find((c) => c.name === realName);
  if (real === undefined) throw new Error(`no card for ${realName}`);
  const graph = buildGraph(kind, real);
  const bytes = encodeModel(graph, realName);
  const entry = 'model.onnx';
  const files: Record<string, Uint8Array> = { [entry]: bytes };
  // The decoder ships its tokenizer, as the real one does.
  if (kind === 'whisper-decoder')
    files['tokenizer.json'] = new TextEncoder().encode(syntheticWhisperTokenizerJson());
  if (kind === 'clip-text')
    files['tokenizer.json'] = new TextEncoder().encode(syntheticClipTextTokenizerJson());
  const outputs = kind === 'whisper-decoder' ? graphOutputs(graph, real) : real.outputs;
  const card: ModelCard = {
    ...real,
    name: `synthetic-${kind}`,
    version: '1',
    entry,
    outputs,
    files: Object.entries(files).map(([path, b]) => ({
      path,
      sha256: createHash('sha256').update(b).digest('hex'),
      bytes: b.length,
    })),
    licence: {
      weights: 'UNLICENSED',
      notes: 'generated by DataProcessor for tests; contains no trained weights',
    },
    source: { kind: 'synthetic', standsFor: realName },
    synthetic: true,
  };
  return { card, files };
}

/** The tiny-vocabulary output of the synthetic decoder (same name and dtype as the real one). */
function graphOutputs(graph: IGraphProto, real: ModelCard): TensorSpec[] {
  return real.outputs.map((o) => {
    const declared = graph.output?.find((g) => g.name === o.name);
    const dims = declared?.type?.tensorType?.shape?.dim ?? [];
    return { ...o, shape: dims.map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue))) };
  });
}

/** Writes a synthetic model's files into `dir` (e.g. to `models install --from dir` in tests). */
export async function writeSyntheticModel(model: SyntheticModel, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [path, bytes] of Object.entries(model.files)) await writeFile(join(dir, path), bytes);
}
