// Text embedder throughput (R-BAT-2): texts/s of USE Lite (`use-lite-en`, TFJS wasm) at batch 1
// and at the batch the planner picks from text_processor's resource profile, through the model
// system's batch runner, measured in the same run on the same 128 comment-like sentences.
// Usage: npx tsx bench/text.ts [--units N]
// Also prints the load average: on a shared machine the ratio moves with it.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelStore, clearModelSessions, createModelAccess } from '../src/models/index.js';
import { SentenceEmbedder, textProcessor } from '../src/processors/text/index.js';

const arg = process.argv.indexOf('--units');
const UNITS = arg > 0 ? Number(process.argv[arg + 1]) : 128;
const SUBJECTS = ['this recipe', 'the new phone', 'your editing', 'the soundtrack', 'that last trick'];
const OPINIONS = ['is amazing', 'could be better', 'made my day', 'looks too hard', 'needs a part two'];
const texts = Array.from(
  { length: UNITS },
  (_, i) => `Honestly ${SUBJECTS[i % 5]} ${OPINIONS[Math.floor(i / 5) % 5]}, thanks for video number ${i}!`,
);

const dir = mkdtempSync(join(tmpdir(), 'bench-text-'));
const models = createModelAccess({ store: new ModelStore(dir) });
const embedder = SentenceEmbedder.of(await models.load('use-lite-en', { device: 'cpu' }));
const units = texts.map((t) => Int32Array.from(embedder.tokenizer.encode(t)));
await embedder.embed(units.slice(0, 4)); // warm-up: kernels compiled, weights resident

async function textsPerSecond(batchSize: number): Promise<number> {
  const start = performance.now();
  await models.runBatches(units, (batch) => embedder.embed(batch), { batchSize });
  return units.length / ((performance.now() - start) / 1000);
}

const planned = models.planBatchSize(textProcessor.resources, { units: units.length });
const one = await textsPerSecond(1);
const best = await textsPerSecond(planned);
const pieces = units.reduce((a, u) => a + u.length, 0) / units.length;
console.log(
  `use-lite-en (TFJS wasm), ${units.length} texts of ${pieces.toFixed(1)} pieces on average; ` +
    `${cpus().length} CPUs, load ${loadavg()[0]?.toFixed(2)}`,
);
console.log(
  `| batch | texts/s |\n| --- | --- |\n| 1 | ${one.toFixed(1)} |\n| ${planned} (planner) | ${best.toFixed(1)} |`,
);
console.log(`planner batch ${planned} over batch 1: ×${(best / one).toFixed(2)}`);
await clearModelSessions();
rmSync(dir, { recursive: true, force: true });
