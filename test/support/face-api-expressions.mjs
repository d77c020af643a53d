// The second opinion of the emotion_face agreement test: @vladmandic/face-api's expression model
// (its own architecture and weights, trained apart from Human's) on face crops. Runs in its own
// process because face-api's bundled TFJS must be told it is not in Node (its Node platform needs
// a `util` the browser bundle stubs out), which would mislead our own TFJS in the same process.
// Usage: node face-api-expressions.mjs <crops.rgb> <count>   (count × 112×112×3 uint8 RGB)
// Prints a JSON array of {neutral, happy, sad, angry, fearful, disgusted, surprised} per crop.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import process from 'node:process';

globalThis.WorkerGlobalScope = class {};
const faceapi = await import('@vladmandic/face-api/dist/face-api.esm.js');
const tf = faceapi.tf;
await tf.setBackend('cpu');
await tf.ready();
const require = createRequire(import.meta.url);
const modelDir = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
const manifest = JSON.parse(
  readFileSync(join(modelDir, 'face_expression_model-weights_manifest.json'), 'utf8'),
);
const bin = readFileSync(join(modelDir, 'face_expression_model.bin'));
const weights = tf.io.decodeWeights(
  bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
  manifest.flatMap((group) => group.weights),
);
await faceapi.nets.faceExpressionNet.loadFromWeightMap(weights);

const SIZE = 112;
const crops = readFileSync(process.argv[2]);
const count = Number(process.argv[3]);
const out = [];
for (let i = 0; i < count; i++) {
  const pixels = crops.subarray(i * SIZE * SIZE * 3, (i + 1) * SIZE * SIZE * 3);
  const input = tf.tensor3d(new Int32Array(pixels), [SIZE, SIZE, 3], 'int32');
  const expressions = await faceapi.nets.faceExpressionNet.predictExpressions(input);
  input.dispose();
  out.push({ ...expressions });
}
process.stdout.write(JSON.stringify(out));
