import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex, type DataProcessorError } from '../contracts/index.js';
import { LocalResultStore, type ResultStore } from './index.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dp-store-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as DataProcessorError).code;
  }
  return undefined;
}

describe('run directories (R-ID-4, R-ST-1)', () => {
  it('rejects malformed or traversing ids with INPUT_INVALID before touching disk', () => {
    const root = join(tmpdir(), `dp-never-created-${process.pid}`);
    const store: ResultStore = new LocalResultStore(root);
    for (const bad of ['../x', 'a/b', '', 'x'.repeat(200), '..', '.x', '-x', 'a\\b', 'a b', 'a\0b']) {
      expect(
        codeOf(() => store.runDir(bad, 'v', 'r1')),
        `platform ${JSON.stringify(bad)}`,
      ).toBe('INPUT_INVALID');
      expect(
        codeOf(() => store.runDir('local', bad, 'r1')),
        `video ${JSON.stringify(bad)}`,
      ).toBe('INPUT_INVALID');
      expect(
        codeOf(() => store.runDir('local', 'v', bad)),
        `run ${JSON.stringify(bad)}`,
      ).toBe('INPUT_INVALID');
    }
    expect(store.runDir('local', 'v-1_2.x', 'r'.repeat(128))).toBe(
      join(root, 'local', 'v-1_2.x', 'r'.repeat(128)),
    );
    expect(existsSync(root)).toBe(false);
  });

  it('lists runs sorted, ignoring stray files and symlinks, [] for an unknown video', async () => {
    const root = await tempDir();
    const store = new LocalResultStore(root);
    for (const run of ['r2', 'r1']) mkdirSync(store.runDir('p', 'v', run), { recursive: true });
    writeFileSync(join(root, 'p', 'v', 'stray.txt'), '');
    symlinkSync(store.runDir('p', 'v', 'r1'), join(root, 'p', 'v', 'r3'));
    expect(await store.listRuns('p', 'v')).toEqual(['r1', 'r2']);
    expect(await store.listRuns('p', 'unknown')).toEqual([]);
    await expect(store.listRuns('p', '../v')).rejects.toMatchObject({ code: 'INPUT_INVALID' });
  });
});

describe('artifact paths (R-SEC-3)', () => {
  it('writes inside the run directory and returns the run-relative path with its digest', async () => {
    const root = await tempDir();
    const store = new LocalResultStore(root);
    const runDir = store.runDir('p', 'v', 'r');
    const bytes = new Uint8Array([1, 2, 3]);
    expect(await store.writeArtifact(runDir, 'comp/sub/a.npz', bytes)).toEqual({
      path: 'comp/sub/a.npz',
      sha256: sha256Hex(bytes),
      bytes: 3,
    });
    expect(new Uint8Array(readFileSync(join(runDir, 'comp', 'sub', 'a.npz')))).toEqual(bytes);
    expect(readdirSync(join(runDir, 'comp', 'sub'))).toEqual(['a.npz']);
  });

  it('rejects paths that escape the run directory with INPUT_INVALID, creating nothing', async () => {
    const root = await tempDir();
    const store = new LocalResultStore(root);
    const runDir = store.runDir('p', 'v', 'r');
    for (const bad of [
      '../x.npz',
      '../../../escape.npz',
      'a/../../x.npz',
      '/abs.npz',
      '',
      'a//b.npz',
      './a.npz',
      'a\\..\\b',
    ]) {
      await expect(store.writeArtifact(runDir, bad, new Uint8Array(1)), bad).rejects.toMatchObject({
        code: 'INPUT_INVALID',
      });
    }
    // A run directory that is not <root>/<id>/<id>/<id> is refused too.
    for (const badRunDir of [
      root,
      join(root, 'p', 'v'),
      join(root, '..', 'elsewhere', 'p', 'v'),
      '/tmp/x/y/z',
    ]) {
      await expect(
        store.writeArtifact(badRunDir, 'a.npz', new Uint8Array(1)),
        badRunDir,
      ).rejects.toMatchObject({
        code: 'INPUT_INVALID',
      });
    }
    expect(readdirSync(root)).toEqual([]);
  });

  it('refuses to write through a symlink inside the store', async () => {
    const root = await tempDir();
    const outside = await tempDir();
    const store = new LocalResultStore(root);
    const runDir = store.runDir('p', 'v', 'r');
    mkdirSync(runDir, { recursive: true });
    symlinkSync(outside, join(runDir, 'linked'));
    symlinkSync(join(outside, 'target.npz'), join(runDir, 'file-link.npz'));
    for (const rel of ['linked/a.npz', 'linked/deeper/a.npz', 'file-link.npz']) {
      await expect(store.writeArtifact(runDir, rel, new Uint8Array(1)), rel).rejects.toMatchObject({
        code: 'INPUT_INVALID',
      });
    }
    // A symlinked run directory (or video directory) is refused as well.
    const linkedRun = store.runDir('p', 'v', 'linkrun');
    symlinkSync(outside, linkedRun);
    await expect(store.writeArtifact(linkedRun, 'a.npz', new Uint8Array(1))).rejects.toMatchObject({
      code: 'INPUT_INVALID',
    });
    expect(readdirSync(outside)).toEqual([]);
  });

  it('streams a large artifact through openArtifactWriter', async () => {
    const root = await tempDir();
    const store = new LocalResultStore(root);
    const runDir = store.runDir('p', 'v', 'r');
    const writer = await store.openArtifactWriter(runDir, 'frames_dir/batch_00000.npy');
    const chunk = new Uint8Array(1 << 20).fill(7);
    for (let i = 0; i < 8; i += 1) await writer.write(chunk);
    const stored = await writer.commit();
    expect(stored).toMatchObject({ path: 'frames_dir/batch_00000.npy', bytes: 8 << 20 });
    expect(stored.sha256).toBe(sha256Hex(readFileSync(join(runDir, 'frames_dir', 'batch_00000.npy'))));
  });
});

describe('removeRun', () => {
  it('removes a whole run, and refuses anything that is not a run directory inside the store', async () => {
    const root = await tempDir();
    const outside = await tempDir();
    writeFileSync(join(outside, 'precious'), 'keep');
    const store = new LocalResultStore(root);
    const runDir = store.runDir('p', 'v', 'r');
    await store.writeArtifact(runDir, 'comp/a.npz', new Uint8Array(4));
    symlinkSync(outside, join(runDir, 'comp', 'link-out')); // a link inside is removed, not followed
    for (const bad of [
      root,
      join(root, 'p'),
      join(root, 'p', 'v'),
      outside,
      join(runDir, 'comp'),
      join(root, 'p', 'v', '..', '..', '..'),
    ]) {
      await expect(store.removeRun(bad), bad).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    }
    symlinkSync(outside, store.runDir('p', 'v', 'linked'));
    await expect(store.removeRun(store.runDir('p', 'v', 'linked'))).rejects.toMatchObject({
      code: 'INPUT_INVALID',
    });
    await store.removeRun(runDir);
    expect(existsSync(runDir)).toBe(false);
    expect(readFileSync(join(outside, 'precious'), 'utf8')).toBe('keep');
    await store.removeRun(runDir); // already gone: nothing to do
  });
});
