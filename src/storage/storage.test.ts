import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DataProcessorError } from '../contracts/index.js';
import { sha256Hex, type Manifest, type ManifestComponent } from '../contracts/index.js';
import {
  LocalResultStore,
  readManifest,
  removeStaleTemps,
  updateManifest,
  verifyManifestArtifacts,
  withLock,
  writeFileAtomic,
} from './index.js';

const ROOT = join(import.meta.dirname, '..', '..');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as DataProcessorError).code;
  }
  return undefined;
}

function baseManifest(runDir: string): Manifest {
  const t = new Date().toISOString();
  return {
    schema_version: '1.0',
    run: {
      platform_id: 'p',
      video_id: 'v',
      run_id: 'r',
      config_hash: 'b'.repeat(64),
      sampling_policy_version: 'sp_v1',
      dataprocessor_version: 'test',
      created_at: t,
      updated_at: t,
      frames_dir: 'frames_dir',
      root_path: runDir,
      profile: 'default',
      models: {},
      status: 'running',
      error: null,
      error_code: null,
    },
    components: [],
  };
}

function entry(name: string): ManifestComponent {
  return {
    name,
    kind: 'module',
    status: 'skipped',
    started_at: null,
    finished_at: null,
    duration_ms: null,
    artifacts: [],
    producer_version: '1',
    schema_version: '1',
    device_used: null,
    batch_size: null,
    error: null,
    error_code: null,
    notes: null,
    warnings: [],
    models_used: [],
    model_signature: null,
    idempotency_key: null,
    cache_hit: false,
    retries: 0,
    required: true,
  };
}

describe('atomic writes', () => {
  it('writes the content, returns its sha256, and leaves no temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dp-atomic-'));
    const path = join(dir, 'x.json');
    const written = await writeFileAtomic(path, '{"a":1}');
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}');
    expect(written).toEqual({ sha256: sha256Hex('{"a":1}'), bytes: 7 });
    await writeFileAtomic(path, 'second');
    expect(readFileSync(path, 'utf8')).toBe('second');
    expect(readdirSync(dir)).toEqual(['x.json']);
  });

  it('GC removes leftover temp files only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dp-gc-'));
    mkdirSync(join(dir, 'c'));
    writeFileSync(join(dir, 'c', '.tmp-a.npz-123'), 'partial');
    writeFileSync(join(dir, 'c', 'a.npz'), 'whole');
    expect(await removeStaleTemps(dir)).toHaveLength(1);
    expect(readdirSync(join(dir, 'c'))).toEqual(['a.npz']);
  });

  it('a failed write is STORAGE_IO and leaves the target untouched', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dp-fail-'));
    await expect(writeFileAtomic(join(dir, 'missing-dir', 'x'), 'x')).rejects.toMatchObject({
      code: 'STORAGE_IO',
    });
  });
});

describe('result store paths (R-ID-4, R-SEC-3)', () => {
  it('rejects ids that could traverse or are malformed with INPUT_INVALID before touching disk', () => {
    const root = join(tmpdir(), `dp-never-${process.pid}`);
    const store = new LocalResultStore(root);
    for (const bad of ['../x', 'a/b', '', 'x'.repeat(200), '.x', '-x', 'a\\b', 'a b']) {
      expect(
        codeOf(() => store.runDir('local', bad, 'r1')),
        bad,
      ).toBe('INPUT_INVALID');
      expect(
        codeOf(() => store.runDir(bad, 'v', 'r1')),
        bad,
      ).toBe('INPUT_INVALID');
      expect(
        codeOf(() => store.runDir('local', 'v', bad)),
        bad,
      ).toBe('INPUT_INVALID');
    }
    expect(store.runDir('local', 'v-1_2.x', 'r1')).toBe(join(root, 'local', 'v-1_2.x', 'r1'));
    expect(existsSync(root)).toBe(false);
  });

  it('refuses artifact paths that escape the run directory or pass through a symlink', async () => {
    const root = await mkdtemp(join(tmpdir(), 'dp-store-'));
    const store = new LocalResultStore(root);
    const runDir = store.runDir('p', 'v', 'r');
    mkdirSync(runDir, { recursive: true });
    await expect(store.writeArtifact(runDir, '../../escape.npz', new Uint8Array(1))).rejects.toMatchObject({
      code: 'INPUT_INVALID',
    });
    await expect(store.writeArtifact(runDir, '/abs.npz', new Uint8Array(1))).rejects.toMatchObject({
      code: 'INPUT_INVALID',
    });
    const outside = await mkdtemp(join(tmpdir(), 'dp-outside-'));
    symlinkSync(outside, join(runDir, 'linked'));
    await expect(store.writeArtifact(runDir, 'linked/a.npz', new Uint8Array(1))).rejects.toMatchObject({
      code: 'INPUT_INVALID',
    });
    expect(readdirSync(outside)).toEqual([]);
    const ok = await store.writeArtifact(runDir, 'comp/a.npz', new Uint8Array([1, 2, 3]));
    expect(ok).toEqual({ path: 'comp/a.npz', sha256: sha256Hex(new Uint8Array([1, 2, 3])), bytes: 3 });
    await expect(store.removeRun(join(root, 'p'))).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await store.removeRun(runDir);
    expect(existsSync(runDir)).toBe(false);
  });
});

describe('locks and the manifest writer (R-MAN-3)', () => {
  it('serialises concurrent in-process updates: every component survives', async () => {
    const runDir = await mkdtemp(join(tmpdir(), 'dp-man-'));
    const base = baseManifest(runDir);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => updateManifest(runDir, { components: [entry(`c${i}`)] }, base)),
    );
    const manifest = await readManifest(runDir);
    expect(manifest?.components.map((c) => c.name).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `c${i}`).sort(),
    );
    expect(existsSync(join(runDir, 'manifest.json.lock'))).toBe(false);
  });

  it('breaks a lock whose holder is dead at once, and times out on a live holder with STORAGE_IO', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dp-lock-'));
    const target = join(dir, 'm.json');
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => dead.on('exit', resolve));
    writeFileSync(
      `${target}.lock`,
      JSON.stringify({
        pid: dead.pid,
        hostname: (await import('node:os')).hostname(),
        token: 'x',
        acquired_at: new Date().toISOString(),
      }),
    );
    const started = Date.now();
    expect(await withLock(target, () => Promise.resolve('got it'), { timeoutMs: 5000 })).toBe('got it');
    expect(Date.now() - started).toBeLessThan(1000);
    writeFileSync(
      `${target}.lock`,
      JSON.stringify({
        pid: process.pid,
        hostname: (await import('node:os')).hostname(),
        token: 'y',
        acquired_at: new Date().toISOString(),
      }),
    );
    await expect(withLock(target, () => Promise.resolve(1), { timeoutMs: 300 })).rejects.toMatchObject({
      code: 'STORAGE_IO',
    });
  });

  it('survives hundreds of SIGKILLs at random points: the manifest is absent or valid and every listed artifact matches', async () => {
    const writer = join(ROOT, 'test', 'storage', 'kill-writer.mjs');
    expect(existsSync(join(ROOT, 'dist', 'storage', 'index.js')), 'run `npm run build` first').toBe(true);
    const root = await mkdtemp(join(tmpdir(), 'dp-kill-'));
    const runDir = new LocalResultStore(root).runDir('p', 'v', 'r');
    const iterations = 300;
    let withLockLeft = 0;
    let tempsLeft = 0;
    let everSeen = 0;
    for (let i = 0; i < iterations; i += 1) {
      // Two writers on the same manifest, each killed at its own random moment.
      const children = [0, 1].map(() =>
        spawn(process.execPath, [writer, root, 'p', 'v', 'r'], { stdio: ['ignore', 'pipe', 'inherit'] }),
      );
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve, reject) => {
              child.stdout.once('data', () => {
                setTimeout(() => child.kill('SIGKILL'), Math.random() * 40);
              });
              child.on('exit', (code, signal) =>
                signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited ${code}`)),
              );
            }),
        ),
      );
      if (existsSync(join(runDir, 'manifest.json.lock'))) withLockLeft += 1;
      const manifest = await readManifest(runDir); // throws if it does not parse or validate
      if (manifest) {
        everSeen = Math.max(everSeen, manifest.components.length);
        expect(await verifyManifestArtifacts(runDir, manifest)).toEqual([]);
      }
      // GC of what the killed writers left half-written (R-ST-3).
      if (existsSync(runDir)) tempsLeft += (await removeStaleTemps(runDir)).length;
    }
    console.log(
      `kill test: ${iterations}×2 SIGKILLs, ${withLockLeft} left a lock behind, ${tempsLeft} temp files left and removed by GC, up to ${everSeen} components`,
    );
    expect(everSeen).toBeGreaterThan(5);
    expect(withLockLeft).toBeGreaterThan(0);
  }, 300_000);
});
