import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compileScripts, type CompiledScripts } from '../../test/storage/compile.js';
import { IDS, baseManifest, componentEntry } from '../../test/storage/fixtures.js';
import { spawnChild } from '../../test/storage/spawn.js';
import {
  LocalResultStore,
  MANIFEST_FILE,
  readManifest,
  updateManifest,
  verifyManifestArtifacts,
} from './index.js';

let compiled: CompiledScripts;
beforeAll(async () => {
  compiled = await compileScripts(['test/storage/child.ts']);
});
afterAll(() => compiled.cleanup());

const dirs: string[] = [];
async function newRunDir(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'dp-manifest-'));
  dirs.push(root);
  const runDir = new LocalResultStore(root).runDir(IDS.platformId, IDS.videoId, IDS.runId);
  mkdirSync(runDir, { recursive: true });
  return runDir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('readManifest', () => {
  it('is null when there is no manifest, and CONTRACT_VIOLATION when it does not parse or validate', async () => {
    const runDir = await newRunDir();
    expect(await readManifest(runDir)).toBeNull();
    writeFileSync(join(runDir, MANIFEST_FILE), '{"schema_version":');
    await expect(readManifest(runDir)).rejects.toMatchObject({ code: 'CONTRACT_VIOLATION' });
    writeFileSync(join(runDir, MANIFEST_FILE), JSON.stringify({ ...baseManifest(runDir), extra: 1 }));
    await expect(readManifest(runDir)).rejects.toMatchObject({ code: 'CONTRACT_VIOLATION' });
  });
});

describe('updateManifest (R-MAN-3)', () => {
  it('starts from the base, merges components by name, overlays run fields', async () => {
    const runDir = await newRunDir();
    const base = baseManifest(runDir);
    await updateManifest(runDir, { components: [componentEntry('a'), componentEntry('b')] }, base);
    const replaced = { ...componentEntry('a'), notes: 'second pass' };
    const written = await updateManifest(runDir, { run: { status: 'ok' }, components: [replaced] });
    expect(written.run.status).toBe('ok');
    expect(written.components.map((c) => [c.name, c.notes])).toEqual([
      ['a', 'second pass'],
      ['b', null],
    ]);
    expect(await readManifest(runDir)).toEqual(written);
    expect(readdirSync(runDir)).toEqual([MANIFEST_FILE]);
  });

  it('refuses an update that would break the schema, leaving the manifest as it was', async () => {
    const runDir = await newRunDir();
    await updateManifest(runDir, { components: [componentEntry('a')] }, baseManifest(runDir));
    const before = readFileSync(join(runDir, MANIFEST_FILE), 'utf8');
    const broken = { ...componentEntry('b'), status: 'error' as const }; // error without error_code
    await expect(updateManifest(runDir, { components: [broken] })).rejects.toMatchObject({
      code: 'CONTRACT_VIOLATION',
    });
    expect(readFileSync(join(runDir, MANIFEST_FILE), 'utf8')).toBe(before);
    expect(existsSync(join(runDir, `${MANIFEST_FILE}.lock`))).toBe(false);
  });

  it('fails with STORAGE_IO when there is neither a manifest nor a base', async () => {
    const runDir = await newRunDir();
    await expect(updateManifest(runDir, { components: [componentEntry('a')] })).rejects.toMatchObject({
      code: 'STORAGE_IO',
    });
  });

  it('keeps every component when 20 in-process updates race 2 processes adding 15 each', async () => {
    const runDir = await newRunDir();
    const base = baseManifest(runDir);
    const script = compiled.scriptFor('test/storage/child.ts');
    const others = ['x', 'y'].map((prefix) => spawnChild(script, ['add', runDir, prefix, '15']));
    await Promise.all(others.map((c) => c.waitFor('ready')));
    for (const c of others) c.process.stdin.end('go\n');
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        updateManifest(runDir, { components: [componentEntry(`in_${i}`)] }, base),
      ),
    );
    for (const { code, stderr } of await Promise.all(others.map((c) => c.exited)))
      expect(code, stderr).toBe(0);
    const names = (await readManifest(runDir))?.components.map((c) => c.name).sort();
    const expected = [
      ...Array.from({ length: 20 }, (_, i) => `in_${i}`),
      ...Array.from({ length: 15 }, (_, j) => `x_${j}`),
      ...Array.from({ length: 15 }, (_, j) => `y_${j}`),
    ].sort();
    expect(names).toEqual(expected);
    expect(readdirSync(runDir)).toEqual([MANIFEST_FILE]); // no lock, no temp left
  });
});

describe('verifyManifestArtifacts (R-ST-3)', () => {
  it('reports missing artifacts, size and sha256 mismatches and symlinks; [] when all match', async () => {
    const root = await mkdtemp(join(tmpdir(), 'dp-verify-'));
    dirs.push(root);
    const store = new LocalResultStore(root);
    const runDir = store.runDir(IDS.platformId, IDS.videoId, IDS.runId);
    const good = await store.writeArtifact(runDir, 'comp_a/features.npz', new Uint8Array(100).fill(1));
    const resized = await store.writeArtifact(runDir, 'comp_b/features.npz', new Uint8Array(100).fill(2));
    const altered = await store.writeArtifact(runDir, 'comp_c/features.npz', new Uint8Array(100).fill(3));
    const linked = await store.writeArtifact(runDir, 'comp_d/features.npz', new Uint8Array(100).fill(4));
    const manifest = await updateManifest(
      runDir,
      {
        components: [good, resized, altered, linked, { ...good, path: 'comp_e/gone.npz' }].map((ref, i) =>
          componentEntry(`comp_${'abcde'[i] ?? ''}`, [{ ...ref, type: 'npz' }]),
        ),
      },
      baseManifest(runDir),
    );
    expect(
      await verifyManifestArtifacts(runDir, { ...manifest, components: manifest.components.slice(0, 4) }),
    ).toEqual([]);
    writeFileSync(join(runDir, 'comp_b', 'features.npz'), new Uint8Array(99));
    writeFileSync(join(runDir, 'comp_c', 'features.npz'), new Uint8Array(100));
    await rm(join(runDir, 'comp_d'), { recursive: true });
    symlinkSync(join(runDir, 'comp_a'), join(runDir, 'comp_d'));
    const problems = await verifyManifestArtifacts(runDir, manifest);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^comp_b\/features\.npz: 99 bytes/);
    expect(problems[1]).toMatch(/^comp_c\/features\.npz: sha256 differs/);
    expect(problems[2]).toMatch(/symlink/);
    expect(problems[3]).toMatch(/^comp_e\/gone\.npz is missing/);
  });
});
