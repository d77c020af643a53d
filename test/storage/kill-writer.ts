// Writer child for the SIGKILL test (src/storage/kill.test.ts). Loads the store, prints "ready",
// waits for a line on stdin, then loops until killed: write an artifact atomically (random bytes,
// 1–200 KB, under a component folder), then update the manifest with a component entry listing
// it. Prints "A" after each artifact commit and "M" after each manifest commit (stdout on a pipe
// is synchronous on Linux, so a printed mark means the step finished before the kill).
// Args: <storeRoot> <platformId> <videoId> <runId>
import { randomBytes, randomInt } from 'node:crypto';
import { manifestSchema } from '../../src/contracts/index.js';
import { LocalResultStore, updateManifest } from '../../src/storage/index.js';
import { baseManifest, componentEntry } from './fixtures.js';

const [root = '', platformId = '', videoId = '', runId = ''] = process.argv.slice(2);
const store = new LocalResultStore(root);
const runDir = store.runDir(platformId, videoId, runId);
const base = baseManifest(runDir, { platformId, videoId, runId });

// Warm up zod's schema compilation (≈ 40 ms on the first parse) before "ready", so the random kill
// delay measures the writes themselves, not the first-call JIT.
manifestSchema.parse({ ...base, components: [componentEntry('warm-up')] });
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));

for (let i = 0; ; i += 1) {
  const name = `comp_${randomInt(24)}`;
  const ref = await store.writeArtifact(
    runDir,
    `${name}/${randomBytes(6).toString('hex')}.npz`,
    randomBytes(randomInt(1024, 200 * 1024 + 1)),
  );
  process.stdout.write('A\n');
  await updateManifest(
    runDir,
    {
      run: { updated_at: new Date().toISOString() },
      components: [componentEntry(name, [{ ...ref, type: 'npz' }], `writer ${process.pid}, step ${i}`)],
    },
    base,
    // A dead writer's lock must be broken at once; waiting this long would mean it was not.
    { timeoutMs: 10_000 },
  );
  process.stdout.write('M\n');
}
