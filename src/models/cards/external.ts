// Cards of models with no offline weights here. Their signatures and preprocessing are those of
// the public ONNX exports named in `source.url`; file digests are unknown until installed, so
// `models install <name> --from <URL|DIR>` pins them (from `--sha256` or the mirror's
// SHA256SUMS) into the store's lock file, and `verify` checks against that lock afterwards.
import type { ModelCard } from '../card.js';

const unpinned = (path: string) => ({ path, sha256: null, bytes: null });
const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

/** R-MOD-1 cards installable only with `models install … --from`. */
export const EXTERNAL_CARDS: readonly ModelCard[] = [
  {
    name: 'clip-vit-b32-vision',
    version: 'openai-1.0',
    task: 'image_embedding',
    engine: 'onnx',
    precision: 'fp32',
    entry: 'vision_model.onnx',
    files: [unpinned('vision_model.onnx')],
    inputs: [{ name: 'pixel_values', dtype: 'float32', shape: ['N', 3, 224, 224] }],
    outputs: [{ name: 'image_embeds', dtype: 'float32', shape: ['N', 512] }],
    preprocessing: {
      kind: 'image',
      size: [224, 224],
      resize: 'shorter side to 224 (bicubic), centre crop 224×224',
      layout: 'NCHW',
      colorOrder: 'RGB',
      scale: 1 / 255,
      mean: CLIP_MEAN,
      std: CLIP_STD,
      notes: 'image_embeds is the projected (not normalised) embedding; L2-normalise for cosine similarity',
    },
    licence: { weights: 'MIT', notes: 'openai/clip-vit-base-patch32' },
    source: {
      kind: 'external',
      url: 'https://huggingface.co/Xenova/clip-vit-base-patch32 (onnx/vision_model.onnx)',
    },
    synthetic: false,
  },
  {
    name: 'clip-vit-b32-text',
    version: 'openai-1.0',
    task: 'text_embedding',
    engine: 'onnx',
    precision: 'fp32',
    entry: 'text_model.onnx',
    files: [unpinned('text_model.onnx'), unpinned('tokenizer.json')],
    inputs: [
      { name: 'input_ids', dtype: 'int64', shape: ['N', 'S'] },
      { name: 'attention_mask', dtype: 'int64', shape: ['N', 'S'] },
    ],
    outputs: [{ name: 'text_embeds', dtype: 'float32', shape: ['N', 512] }],
    preprocessing: {
      kind: 'text',
      tokenizer:
        'CLIP byte-level BPE (tokenizer.json: model.vocab, model.merges, end-of-word suffix </w>); NFC, whitespace collapsed, lower case; <|startoftext|> … <|endoftext|>, padded with <|endoftext|>',
      maxTokens: 77,
      notes:
        'the text tower of clip-vit-b32-vision: text_embeds is the projected (not normalised) embedding in the same space as image_embeds; L2-normalise for cosine similarity',
    },
    licence: { weights: 'MIT', notes: 'openai/clip-vit-base-patch32 (text tower, with the tokenizer)' },
    source: {
      kind: 'external',
      url: 'https://huggingface.co/Xenova/clip-vit-base-patch32 (onnx/text_model.onnx, tokenizer.json)',
    },
    synthetic: false,
  },
  {
    name: 'depth-anything-v2-small',
    version: '2.0',
    task: 'depth_estimation',
    engine: 'onnx',
    precision: 'fp32',
    entry: 'model.onnx',
    files: [unpinned('model.onnx')],
    inputs: [{ name: 'pixel_values', dtype: 'float32', shape: ['N', 3, 'H', 'W'] }],
    outputs: [{ name: 'predicted_depth', dtype: 'float32', shape: ['N', 'H', 'W'] }],
    preprocessing: {
      kind: 'image',
      size: [518, 518],
      resize: 'keep aspect, shorter side 518, each side a multiple of 14 (bicubic)',
      layout: 'NCHW',
      colorOrder: 'RGB',
      scale: 1 / 255,
      mean: IMAGENET_MEAN,
      std: IMAGENET_STD,
      notes: 'relative inverse depth (disparity), larger = nearer',
    },
    licence: {
      weights: 'Apache-2.0',
      notes: 'depth-anything/Depth-Anything-V2-Small (the Small variant only)',
    },
    source: {
      kind: 'external',
      url: 'https://huggingface.co/onnx-community/depth-anything-v2-small (onnx/model.onnx)',
    },
    synthetic: false,
  },
  {
    name: 'clap-htsat-unfused-audio',
    version: 'laion-1.0',
    task: 'audio_embedding',
    engine: 'onnx',
    precision: 'fp32',
    entry: 'audio_model.onnx',
    files: [unpinned('audio_model.onnx')],
    inputs: [{ name: 'input_features', dtype: 'float32', shape: ['N', 1, 1001, 64] }],
    outputs: [{ name: 'audio_embeds', dtype: 'float32', shape: ['N', 512] }],
    preprocessing: {
      kind: 'audio',
      sampleRateHz: 48000,
      melBins: 64,
      windowSec: 10,
      notes: 'log-mel (n_fft 1024, hop 480, 50–14000 Hz), 10 s windows (repeat-pad shorter clips)',
    },
    licence: { weights: 'Apache-2.0', notes: 'laion/clap-htsat-unfused' },
    source: {
      kind: 'external',
      url: 'https://huggingface.co/Xenova/clap-htsat-unfused (onnx/audio_model.onnx)',
    },
    synthetic: false,
  },
  {
    name: 'minilm-l6-v2',
    version: 'sentence-transformers-1.0',
    task: 'sentence_embedding',
    engine: 'onnx',
    precision: 'fp32',
    entry: 'model.onnx',
    files: [unpinned('model.onnx'), unpinned('tokenizer.json')],
    inputs: [
      { name: 'input_ids', dtype: 'int64', shape: ['N', 'S'] },
      { name: 'attention_mask', dtype: 'int64', shape: ['N', 'S'] },
      { name: 'token_type_ids', dtype: 'int64', shape: ['N', 'S'] },
    ],
    outputs: [{ name: 'last_hidden_state', dtype: 'float32', shape: ['N', 'S', 384] }],
    preprocessing: {
      kind: 'text',
      tokenizer: 'WordPiece, uncased (tokenizer.json)',
      maxTokens: 256,
      notes: 'sentence embedding = attention-masked mean of last_hidden_state, then L2-normalised',
    },
    licence: { weights: 'Apache-2.0', notes: 'sentence-transformers/all-MiniLM-L6-v2' },
    source: {
      kind: 'external',
      url: 'https://huggingface.co/Xenova/all-MiniLM-L6-v2 (onnx/model.onnx, tokenizer.json)',
    },
    synthetic: false,
  },
  {
    name: 'whisper-tiny-encoder',
    version: 'openai-1.0',
    task: 'speech_encoding',
    engine: 'onnx',
    precision: 'fp32',
    entry: 'encoder_model.onnx',
    files: [unpinned('encoder_model.onnx')],
    inputs: [{ name: 'input_features', dtype: 'float32', shape: ['N', 80, 3000] }],
    outputs: [{ name: 'last_hidden_state', dtype: 'float32', shape: ['N', 1500, 384] }],
    preprocessing: {
      kind: 'audio',
      sampleRateHz: 16000,
      melBins: 80,
      windowSec: 30,
      notes: 'log-mel (n_fft 400, hop 160), clamp to max − 8, (x + 4) / 4; 30 s windows zero-padded',
    },
    licence: { weights: 'MIT', notes: 'openai/whisper-tiny (encoder; the decoder is a separate model)' },
    source: {
      kind: 'external',
      url: 'https://huggingface.co/onnx-community/whisper-tiny (onnx/encoder_model.onnx)',
    },
    synthetic: false,
  },
  {
    name: 'whisper-tiny-decoder',
    version: 'openai-1.0',
    task: 'speech_decoding',
    engine: 'onnx',
    precision: 'fp32',
    entry: 'decoder_model.onnx',
    files: [unpinned('decoder_model.onnx'), unpinned('tokenizer.json')],
    inputs: [
      { name: 'input_ids', dtype: 'int64', shape: ['N', 'S'] },
      { name: 'encoder_hidden_states', dtype: 'float32', shape: ['N', 1500, 384] },
    ],
    outputs: [{ name: 'logits', dtype: 'float32', shape: ['N', 'S', 51865] }],
    preprocessing: {
      kind: 'text',
      tokenizer:
        'byte-level BPE (tokenizer.json: model.vocab and added_tokens, GPT-2 bytes-to-unicode); special tokens <|endoftext|>, <|startoftranscript|>, <|xx|> languages, <|transcribe|>, <|notimestamps|>, <|nospeech|>',
      maxTokens: 448,
      notes:
        'decoder without KV cache (decoder_model.onnx, not decoder_with_past): the whole sequence each step; greedy from <|startoftranscript|><|lang|><|transcribe|><|notimestamps|>; no_speech_prob = softmax(logits at <|startoftranscript|>)[<|nospeech|>]',
    },
    licence: { weights: 'MIT', notes: 'openai/whisper-tiny (decoder, with the tokenizer)' },
    source: {
      kind: 'external',
      url: 'https://huggingface.co/onnx-community/whisper-tiny (onnx/decoder_model.onnx, tokenizer.json)',
    },
    synthetic: false,
  },
];
