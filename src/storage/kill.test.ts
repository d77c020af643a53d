// The kill test (R-ST-3, R-MAN-3): real writer processes doing real artifact and manifest writes
// are SIGKILLed at random points, hundreds of times, on one run directory. After every kill the
// run must read as consistent, and the next writer must get past the dead writer's lock at once.
import { readFile, readdir, rm, unlink } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileScripts, type CompiledScripts } from '../../test/storage/compile.js';
import { IDS, baseManifest, componentEntry } from '../../test/storage/fixtures.js';
import { spawnChild, type Child } from '../../test/storage/spawn.js';
import {
  LocalResultStore,
  MANIFEST_FILE,
  TEMP_PREFIX,
  readManifest,
  removeStaleTemps,
  updateManifest,
  verifyManifestArtifacts,
} from './index.js';

/** At least 300 (the requirement); raise it locally with DP_KILL_ITERATIONS to soak. */
const ITERATIONS = Math.max(300, Number(process.env.DP_KILL_ITERATIONS ?? 300));
/** Each writer is killed this long (uniformly random) after it starts writing. */
const MAX_KILL_DELAY_MS = 40;
const WRITER = 'test/storage/kill-writer.ts';

let compiled: CompiledScripts;
let root: string;
beforeAll(async () => {
  compiled = await compileScripts([WRITER]);
  root = await mkdtemp(join(tmpdir(), 'dp-kill-'));
});
afterAll(async () => {
  await compiled.cleanup();
  await rm(root, { recursive: true, force: true });
});

interface Observed {
  kills: number;
  /** The lock directory still named the killed writer: it died holding the lock. */
  killedHoldingLock: number;
  /** An empty lock directory: killed between the two steps of a release. */
  killedMidRelease: number;
  /** A lock staging directory was left: killed while taking the lock. */
  killedMidLockAcquire: number;
  /** A manifest temp file was left: killed while writing the manifest (lock held). */
  killedMidManifestWrite: number;
  /** An artifact temp file was left: killed while writing an artifact. */
  killedMidArtifactWrite: number;
  artifactCommits: number;
  manifestCommits: number;
  /** Writers started on a dead writer's lock, and how many of them still committed a manifest. */
  startedOnDeadLock: number;
  committedPastDeadLock: number;
  maxComponents: number;
}

async function findTemps(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (entry.name.startsWith(TEMP_PREFIX)) found.push(entry.name);
      else if (entry.isDirectory()) await walk(join(d, entry.name));
    }
  };
  await walk(dir);
  return found;
}

/** The pid in the lock's owner record, 'empty' for an empty lock directory, null for no lock. */
async function lockHolder(runDir: string): Promise<number | 'empty' | null> {
  const lockDir = join(runDir, `${MANIFEST_FILE}.lock`);
  const names = await readdir(lockDir).catch(() => null);
  if (names === null) return null;
  const owner = names[0];
  if (owner === undefined) return 'empty';
  return (JSON.parse(await readFile(join(lockDir, owner), 'utf8')) as { pid: number }).pid;
}

/** Deletes artifacts the manifest does not list (left by writers killed before their update). */
async function pruneUnlisted(runDir: string, listed: Set<string>): Promise<void> {
  for (const entry of await readdir(runDir, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory() || !entry.name.startsWith('comp_')) continue;
    for (const file of await readdir(join(runDir, entry.name))) {
      const rel = `${entry.name}/${file}`;
      if (!listed.has(rel)) await unlink(join(runDir, rel));
    }
  }
}

it(`survives ${ITERATIONS} SIGKILLs of a writer at random points: the manifest is absent or valid, every listed artifact matches, and the next writer gets past the dead lock at once`, async () => {
  const store = new LocalResultStore(root);
  const runDir = store.runDir(IDS.platformId, IDS.videoId, IDS.runId);
  const script = compiled.scriptFor(WRITER);
  const startWriter = (): { child: Child; ready: Promise<void> } => {
    const child = spawnChild(script, [root, IDS.platformId, IDS.videoId, IDS.runId]);
    return { child, ready: child.waitFor('ready') };
  };
  const seen: Observed = {
    kills: 0,
    killedHoldingLock: 0,
    killedMidRelease: 0,
    killedMidLockAcquire: 0,
    killedMidManifestWrite: 0,
    killedMidArtifactWrite: 0,
    artifactCommits: 0,
    manifestCommits: 0,
    startedOnDeadLock: 0,
    committedPastDeadLock: 0,
    maxComponents: 0,
  };
  const started = performance.now();
  // Node's start-up is the slow part, so the next writer loads while the current one runs; it
  // touches nothing until it reads "go".
  let next = startWriter();
  try {
    for (let i = 0; i < ITERATIONS; i += 1) {
      const { child, ready } = next;
      await ready;
      next = startWriter();
      const holderBefore = await lockHolder(runDir);
      const onDeadLock = typeof holderBefore === 'number';
      child.process.stdin.write('go\n');
      await sleep(Math.random() * MAX_KILL_DELAY_MS);
      child.process.kill('SIGKILL');
      const exit = await child.exited;
      // A writer that stopped on its own (an error, a lock timeout) would fail here.
      expect(exit, `iteration ${i}: ${exit.stderr}`).toMatchObject({ signal: 'SIGKILL' });
      seen.kills += 1;
      const commits = child.lines.filter((l) => l === 'M').length;
      seen.artifactCommits += child.lines.filter((l) => l === 'A').length;
      seen.manifestCommits += commits;
      if (onDeadLock) {
        seen.startedOnDeadLock += 1;
        if (commits > 0) seen.committedPastDeadLock += 1;
      }

      const holder = await lockHolder(runDir);
      if (holder === child.pid) seen.killedHoldingLock += 1;
      if (holder === 'empty') seen.killedMidRelease += 1;
      const temps = await findTemps(runDir);
      if (temps.some((t) => t.startsWith(`${TEMP_PREFIX}${MANIFEST_FILE}.lock-`)))
        seen.killedMidLockAcquire += 1;
      if (temps.some((t) => t.startsWith(`${TEMP_PREFIX}${MANIFEST_FILE}-`)))
        seen.killedMidManifestWrite += 1;
      if (temps.some((t) => /\.npz-[0-9a-f]+$/.test(t))) seen.killedMidArtifactWrite += 1;

      // What a reader sees now: no manifest yet, or one that parses and validates (readManifest
      // throws otherwise) and whose every artifact exists with the listed size and sha256.
      const manifest = await readManifest(runDir);
      if (manifest !== null) {
        seen.maxComponents = Math.max(seen.maxComponents, manifest.components.length);
        expect(await verifyManifestArtifacts(runDir, manifest), `iteration ${i}`).toEqual([]);
      }
      // GC between writers, as a resumed run would do; the lock is left for the next writer.
      await removeStaleTemps(runDir);
      await pruneUnlisted(
        runDir,
        new Set(manifest?.components.flatMap((c) => c.artifacts.map((a) => a.path))),
      );
    }
  } finally {
    next.ready.catch(() => undefined); // killed while idle: it never gets to "ready"
    next.child.process.kill('SIGKILL');
    await next.child.exited;
  }
  const elapsedS = (performance.now() - started) / 1000;

  // A last update from this process must also get past whatever the last writer left.
  const final = await updateManifest(
    runDir,
    { components: [componentEntry('final')] },
    baseManifest(runDir),
    {
      timeoutMs: 2_000,
    },
  );
  expect(await verifyManifestArtifacts(runDir, final)).toEqual([]);
  expect(await findTemps(runDir)).toEqual([]);

  console.log(
    `kill test: ${seen.kills} SIGKILLs in ${elapsedS.toFixed(1)} s; ${seen.artifactCommits} artifact and ` +
      `${seen.manifestCommits} manifest commits; killed holding the lock ${seen.killedHoldingLock}× ` +
      `(mid manifest write ${seen.killedMidManifestWrite}×, mid lock acquire ${seen.killedMidLockAcquire}×, ` +
      `mid release ${seen.killedMidRelease}×); mid artifact write ${seen.killedMidArtifactWrite}×; ` +
      `${seen.startedOnDeadLock} writers started on a dead writer's lock, ${seen.committedPastDeadLock} of them ` +
      `committed within their ≤${MAX_KILL_DELAY_MS} ms; up to ${seen.maxComponents} components`,
  );
  expect(seen.kills).toBe(ITERATIONS);
  // The interesting cases really happened, and dead locks did not stall the writers after them.
  expect(seen.killedHoldingLock).toBeGreaterThan(0);
  expect(seen.killedMidArtifactWrite).toBeGreaterThan(0);
  expect(seen.committedPastDeadLock).toBeGreaterThan(0);
  expect(seen.maxComponents).toBeGreaterThan(5);
}, 300_000);
