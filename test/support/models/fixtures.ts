// Shared set-up of the model-system tests: temp stores, synthetic models installed into them,
// byte flips, and an independent reference for the synthetic CLIP stand-in.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ModelStore,
  buildSyntheticModel,
  createRegistry,
  syntheticClipWeight,
  writeSyntheticModel,
  type ModelRegistry,
  type SyntheticKind,
} from '../../../src/models/index.js';
import { makeTempDir } from '../media.js';

/** A registry with the builtin cards plus the synthetic ones, and an empty temp store. */
export function tempModelSystem(kinds: readonly SyntheticKind[] = ['clip-vision', 'depth']): {
  registry: ModelRegistry;
  store: ModelStore;
  storeDir: string;
} {
  const registry = createRegistry(kinds.map((k) => buildSyntheticModel(k).card));
  const storeDir = makeTempDir('models');
  return { registry, store: new ModelStore(storeDir), storeDir };
}

/** Builds the synthetic model `kind`, writes it to a temp dir and installs it into `store`. */
export async function installSynthetic(
  store: ModelStore,
  registry: ModelRegistry,
  kind: SyntheticKind,
): Promise<string> {
  const model = buildSyntheticModel(kind);
  const src = makeTempDir(`synthetic-${kind}`);
  await writeSyntheticModel(model, src);
  await store.install(registry.get(model.card.name), src);
  return src;
}

/** Flips one byte of a file in place (XOR 0xff at `offset`). */
export function flipByte(path: string, offset = 100): void {
  const bytes = readFileSync(path);
  bytes[offset] = (bytes[offset] ?? 0) ^ 0xff;
  writeFileSync(path, bytes);
}

/**
 * Expected `image_embeds` of the synthetic CLIP stand-in for one [3, H, W] image, computed here
 * in float64 from the documented function (channel means × the fixed weight), not by the model.
 */
export function expectedClipEmbedding(
  pixels: Float32Array,
  height: number,
  width: number,
  dim = 512,
): number[] {
  const plane = height * width;
  const means = [0, 1, 2].map((c) => {
    let sum = 0;
    for (let i = 0; i < plane; i++) sum += pixels[c * plane + i] ?? 0;
    return sum / plane;
  });
  return Array.from({ length: dim }, (_, j) =>
    means.reduce((acc, m, c) => acc + m * syntheticClipWeight(c, j), 0),
  );
}

export const OCR_ASSETS = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'node_modules',
  '@gutenye',
  'ocr-models',
  'assets',
);
export const HUMAN_MODELS = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'node_modules',
  '@vladmandic',
  'human-models',
  'models',
);
