// The idempotency cache (R-ORC-3), resume after kill -9 (R-ORC-4) and waiting for another run's
// computation (R-ORC-5), through the real pipeline on generated videos.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditRun } from '../src/audit/index.js';
import type { Manifest, ManifestComponent } from '../src/contracts/index.js';
import { RUN_STATE_FILE, rebuildState, runVideo, type Profile } from '../src/orchestrator/index.js';
import { CLAIMS_DIR, readManifest, withLock } from '../src/storage/index.js';
import { componentsWithFaults } from './support/faults.js';
import { makeShotVideo, makeTempDir } from './support/media.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'dataprocessor.js');
// The cache and claim tests need components, not models: the signal components keep them fast
// (the default profile's face detector reads every frame of a short video). The CLI resume tests
// below run the default profile, as the CLI does.
const SIGNALS: Profile = {
  name: 'test-cache-signals',
  description: 'loudness, tempo and cut detection',
  generation: 'baseline',
  components: [
    { name: 'loudness_extractor', required: true },
    { name: 'tempo_extractor', required: true },
    { name: 'cut_detection', required: true },
  ],
};
const dir = makeTempDir('cache');
const video = join(dir, 'v.mp4');

beforeAll(() => {
  makeShotVideo(video, { width: 320, height: 180, shotSeconds: [3, 3], toneDbfs: -20 });
});

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const entry = (m: Manifest, name: string): ManifestComponent => {
  const found = m.components.find((c) => c.name === name);
  if (!found) throw new Error(`no ${name} in the manifest`);
  return found;
};
const failedRules = async (runDir: string): Promise<string[]> =>
  (await auditRun(runDir)).rules.filter((r) => !r.pass).map((r) => `${r.id}: ${r.evidence.join('; ')}`);

describe('idempotency cache', () => {
  const store = join(dir, 'store');
  let first: Awaited<ReturnType<typeof runVideo>>;
  let second: Awaited<ReturnType<typeof runVideo>>;

  beforeAll(async () => {
    first = await runVideo({
      videoPath: video,
      profile: SIGNALS,
      storeRoot: store,
      videoId: 'v',
      runId: 'r1-first',
    });
    second = await runVideo({
      videoPath: video,
      profile: SIGNALS,
      storeRoot: store,
      videoId: 'v',
      runId: 'r2-second',
    });
  });

  it('serves every stage of an unchanged second run from the cache, byte-identical to the first', () => {
    expect(first.status).toBe('ok');
    expect(second.status).toBe('ok');
    for (const c of second.manifest.components) {
      const original = entry(first.manifest, c.name);
      expect(c, c.name).toMatchObject({
        cache_hit: true,
        idempotency_key: original.idempotency_key,
        status: original.status,
        cache_source: { run_id: 'r1-first', config_hash: first.identity.config_hash },
      });
      expect(c.artifacts.length, c.name).toBeGreaterThan(0);
      for (const artifact of c.artifacts) {
        // The bytes on disk are the first run's, and the manifest says so.
        expect(sha256(join(second.runDir, artifact.path)), artifact.path).toBe(
          sha256(join(first.runDir, artifact.path)),
        );
        expect(artifact).toEqual(original.artifacts.find((a) => a.path === artifact.path));
      }
    }
  });

  it('a run made of cache hits passes the audit (its files carry their cache source identity)', async () => {
    expect(await failedRules(second.runDir)).toEqual([]);
    expect(await failedRules(first.runDir)).toEqual([]);
  });

  it('a changed component config recomputes only that component; the rest are hits', async () => {
    const changed = await runVideo({
      videoPath: video,
      profile: SIGNALS,
      storeRoot: store,
      videoId: 'v',
      runId: 'r3-changed',
      config: { components: { cut_detection: { min_shot_frames: 3 } } },
    });
    expect(changed.status).toBe('ok');
    expect(entry(changed.manifest, 'cut_detection')).toMatchObject({ cache_hit: false, cache_source: null });
    expect(entry(changed.manifest, 'cut_detection').idempotency_key).not.toBe(
      entry(first.manifest, 'cut_detection').idempotency_key,
    );
    expect(entry(changed.manifest, 'segmenter').cache_hit).toBe(true);
    expect(entry(changed.manifest, 'loudness_extractor').cache_hit).toBe(true);
    expect(await failedRules(changed.runDir)).toEqual([]);
  });

  it('--no-cache (useCache: false) recomputes everything', async () => {
    const fresh = await runVideo({
      videoPath: video,
      profile: SIGNALS,
      storeRoot: store,
      videoId: 'v',
      runId: 'r4-nocache',
      useCache: false,
    });
    for (const c of fresh.manifest.components) expect(c, c.name).toMatchObject({ cache_hit: false });
  });

  it('an artifact older than cache_ttl_days is not reused', async () => {
    const expired = await runVideo({
      videoPath: video,
      profile: SIGNALS,
      storeRoot: store,
      videoId: 'v',
      runId: 'r5-ttl',
      orchestrator: { cache_ttl_days: 0 },
    });
    for (const c of expired.manifest.components) expect(c, c.name).toMatchObject({ cache_hit: false });
  });

  it('a cached artifact whose bytes no longer match its sha256 is a miss, recomputed with a warning', async () => {
    const own = join(dir, 'store-corrupt');
    const a = await runVideo({
      videoPath: video,
      profile: SIGNALS,
      storeRoot: own,
      videoId: 'v',
      runId: 'a',
    });
    const npz = join(a.runDir, entry(a.manifest, 'loudness_extractor').artifacts[0]?.path ?? '');
    const bytes = readFileSync(npz);
    bytes[bytes.length - 30] = (bytes[bytes.length - 30] ?? 0) ^ 0xff;
    writeFileSync(npz, bytes);
    const b = await runVideo({
      videoPath: video,
      profile: SIGNALS,
      storeRoot: own,
      videoId: 'v',
      runId: 'b',
    });
    const loudness = entry(b.manifest, 'loudness_extractor');
    expect(loudness).toMatchObject({ status: 'ok', cache_hit: false });
    expect(loudness.warnings.join(' ')).toMatch(/unusable.*sha256/);
    expect(entry(b.manifest, 'segmenter').cache_hit).toBe(true);
    expect(await failedRules(b.runDir)).toEqual([]);
  });
});

describe('reused frame batches', () => {
  it('are hashed before any component reads them: a corrupted batch makes the Segmenter a miss for a run that needs frames', async () => {
    const own = join(dir, 'store-frames');
    const a = await runVideo({
      videoPath: video,
      profile: SIGNALS,
      storeRoot: own,
      videoId: 'v',
      runId: 'a',
    });
    const batch = entry(a.manifest, 'segmenter').artifacts.find((x) => x.type === 'npy');
    const path = join(a.runDir, batch?.path ?? '');
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    writeFileSync(path, bytes);
    // cut_detection's config changed: it must read frames, so the reused frames are verified.
    const c = await runVideo({
      videoPath: video,
      profile: SIGNALS,
      storeRoot: own,
      videoId: 'v',
      runId: 'c',
      config: { components: { cut_detection: { min_shot_frames: 3 } } },
    });
    expect(entry(c.manifest, 'segmenter')).toMatchObject({ status: 'ok', cache_hit: false });
    expect(entry(c.manifest, 'segmenter').warnings.join(' ')).toMatch(/unusable.*sha256/);
    expect(entry(c.manifest, 'cut_detection')).toMatchObject({ status: 'ok', cache_hit: false });
    expect(await failedRules(c.runDir)).toEqual([]);
  });
});

describe('resume after kill -9 (CLI)', () => {
  it('a run killed after the Segmenter finished resumes: the Segmenter is kept, the rest computed, manifest and state agree', async () => {
    const store = join(dir, 'store-kill');
    const args = ['run', video, '--out', store, '--video-id', 'v', '--run-id', 'k1', '--json'];
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const killed = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (/"type":"stage_finished","stage":"segmenter"/.test(out)) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    const exited = new Promise((resolve) => child.on('close', resolve));
    await killed;
    await exited;
    const runDir = join(store, 'local', 'v', 'k1');
    const before = await readManifest(runDir);
    expect(before?.run.status).toBe('running');
    const segmenterBefore = entry(before as Manifest, 'segmenter');
    expect(segmenterBefore.status).toBe('ok');

    // A second run without --resume refuses to touch it.
    await expect(runVideo({ videoPath: video, storeRoot: store, videoId: 'v', runId: 'k1' })).rejects.toThrow(
      /already exists.*--resume/,
    );

    const resumed = await runVideo({
      videoPath: video,
      storeRoot: store,
      videoId: 'v',
      runId: 'k1',
      resume: true,
    });
    expect(resumed.status).toBe('ok');
    // Nothing that had finished was recomputed: same entry, same bytes.
    expect(entry(resumed.manifest, 'segmenter')).toEqual({ ...segmenterBefore });
    // Finished, not failed (test patterns have no faces: that provider is validly `empty`).
    for (const c of resumed.manifest.components) expect(['ok', 'empty'], c.name).toContain(c.status);
    // The checkpoint, the event log and the manifest agree.
    const state = JSON.parse(readFileSync(join(runDir, RUN_STATE_FILE), 'utf8')) as {
      status: string;
      stages: Record<string, { status: string }>;
    };
    const rebuilt = await rebuildState(runDir, () => 'x');
    expect(state.status).toBe('ok');
    expect(rebuilt?.status).toBe('ok');
    for (const c of resumed.manifest.components) {
      expect(state.stages[c.name]?.status, c.name).toBe(c.status);
      expect(rebuilt?.stages[c.name]?.status, c.name).toBe(c.status);
    }
    expect(await failedRules(runDir)).toEqual([]);
  });

  it('a run killed at random points always resumes to a complete run that audits, keeping what had finished', async () => {
    const store = join(dir, 'store-kill-random');
    const seen: string[] = [];
    for (let round = 0; round < 5; round += 1) {
      const runId = `rk${round}`;
      const args = [
        'run',
        video,
        '--out',
        store,
        '--video-id',
        'v',
        '--run-id',
        runId,
        '--json',
        '--no-cache',
      ];
      const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'ignore'] });
      const exited = new Promise((resolve) => child.on('close', resolve));
      await new Promise((r) => setTimeout(r, 600 + Math.random() * 2400));
      child.kill('SIGKILL');
      await exited;
      const runDir = join(store, 'local', 'v', runId);
      const before = await readManifest(runDir).catch(() => null);
      if (!before) {
        seen.push('before the run existed');
        continue;
      }
      const finished = before.components.filter((c) => c.status === 'ok');
      seen.push(`${finished.length} finished`);
      const resumed = await runVideo({
        videoPath: video,
        storeRoot: store,
        videoId: 'v',
        runId,
        resume: true,
        useCache: false,
      });
      expect(resumed.status).toBe('ok');
      for (const c of finished) expect(entry(resumed.manifest, c.name), c.name).toEqual(c);
      expect(await failedRules(runDir)).toEqual([]);
    }
    console.log(`random kills: ${seen.join(', ')}`);
  });

  it('resuming needs an existing run with the same config', async () => {
    const store = join(dir, 'store-resume-errors');
    await expect(
      runVideo({
        videoPath: video,
        profile: SIGNALS,
        storeRoot: store,
        videoId: 'v',
        runId: 'nope',
        resume: true,
      }),
    ).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await runVideo({ videoPath: video, profile: SIGNALS, storeRoot: store, videoId: 'v', runId: 'done' });
    await expect(
      runVideo({
        videoPath: video,
        profile: SIGNALS,
        storeRoot: store,
        videoId: 'v',
        runId: 'done',
        resume: true,
        config: { components: { cut_detection: { min_shot_frames: 3 } } },
      }),
    ).rejects.toThrow(/another configuration/);
  });
});

describe('waiting for another run computing the same artifact (R-ORC-5)', () => {
  it('a run that finds a stage being computed by another run waits, then takes its artifacts', async () => {
    const store = join(dir, 'store-wait');
    let claimed!: () => void;
    const segmenterStarted = new Promise<void>((r) => (claimed = r));
    const slow = runVideo(
      {
        videoPath: video,
        profile: SIGNALS,
        storeRoot: store,
        videoId: 'v',
        runId: 'w1',
      },
      {
        components: componentsWithFaults({ cut_detection: { delayMs: 1500 } }),
        onEvent: (e) => {
          if (e.type === 'stage_started' && e.stage === 'segmenter') claimed();
        },
      },
    );
    // w1 holds the Segmenter's claim (it is computing it) when w2 starts.
    await segmenterStarted;
    const waiting = runVideo({
      videoPath: video,
      profile: SIGNALS,
      storeRoot: store,
      videoId: 'v',
      runId: 'w2',
    });
    const [a, b] = await Promise.all([slow, waiting]);
    expect(a.status).toBe('ok');
    expect(b.status).toBe('ok');
    for (const name of ['segmenter', 'cut_detection'])
      expect(entry(b.manifest, name), name).toMatchObject({
        cache_hit: true,
        cache_source: { run_id: 'w1' },
      });
  });

  it('gives up with DEPENDENCY_TIMEOUT after the expected time + grace, without blocking other stages', async () => {
    const store = join(dir, 'store-timeout');
    // Learn the key (keys do not depend on the store), then hold its claim as a live "other worker".
    const probe = await runVideo({
      videoPath: video,
      profile: SIGNALS,
      storeRoot: join(dir, 'store-keys'),
      videoId: 'v',
      runId: 'keys',
    });
    const key = entry(probe.manifest, 'cut_detection').idempotency_key ?? '';
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(store, 'local', 'v', CLAIMS_DIR), { recursive: true });
    let acquired!: () => void;
    const isHeld = new Promise<void>((r) => (acquired = r));
    const holder = withLock(join(store, 'local', 'v', CLAIMS_DIR, key), async () => {
      acquired();
      await held;
    });
    await isHeld;
    const started = performance.now();
    const outcome = await runVideo({
      videoPath: video,
      profile: SIGNALS,
      storeRoot: store,
      videoId: 'v',
      runId: 't1',
      orchestrator: { dependency_expected_sec: 1, dependency_grace_sec: 1 },
    });
    const waitedS = (performance.now() - started) / 1000;
    release();
    await holder;
    expect(entry(outcome.manifest, 'cut_detection')).toMatchObject({
      status: 'error',
      error_code: 'DEPENDENCY_TIMEOUT',
    });
    expect(entry(outcome.manifest, 'loudness_extractor').status).toBe('ok');
    expect(outcome.status).toBe('error');
    expect(waitedS).toBeGreaterThanOrEqual(2);
    expect(await failedRules(outcome.runDir)).toEqual([]);
  });
});
