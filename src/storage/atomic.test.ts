import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../contracts/index.js';
import { openAtomicWriter, removeStaleTemps, sha256File, writeFileAtomic } from './index.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dp-atomic-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('writeFileAtomic (R-ST-3)', () => {
  it('writes the content, returns its sha256 and size, replaces an existing file, leaves no temp', async () => {
    const dir = await tempDir();
    const path = join(dir, 'x.json');
    expect(await writeFileAtomic(path, '{"a":1}')).toEqual({ sha256: sha256Hex('{"a":1}'), bytes: 7 });
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}');
    const bytes = new Uint8Array([0, 1, 2, 255]);
    expect(await writeFileAtomic(path, bytes)).toEqual({ sha256: sha256Hex(bytes), bytes: 4 });
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
    expect(readdirSync(dir)).toEqual(['x.json']);
  });

  it('fails with STORAGE_IO when the directory is missing, creating nothing', async () => {
    const dir = await tempDir();
    await expect(writeFileAtomic(join(dir, 'missing', 'x'), 'x')).rejects.toMatchObject({
      code: 'STORAGE_IO',
      retryable: true,
    });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('keeps temp names within the file-name limit for long targets', async () => {
    const dir = await tempDir();
    const path = join(dir, `${'n'.repeat(250)}.npz`);
    await writeFileAtomic(path, 'x');
    expect(readFileSync(path, 'utf8')).toBe('x');
  });
});

describe('openAtomicWriter', () => {
  it('streams chunks, hashes as it writes, and shows nothing at the target before commit', async () => {
    const dir = await tempDir();
    const path = join(dir, 'batch_00000.npy');
    writeFileSync(path, 'old');
    const writer = await openAtomicWriter(path);
    const chunks = Array.from({ length: 64 }, (_, i) => new Uint8Array(64 * 1024).fill(i));
    // Not awaited one by one: the writer must keep their order.
    await Promise.all([...chunks.slice(0, 32).map((c) => writer.write(c)), writer.writev(chunks.slice(32))]);
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir).filter((n) => n.startsWith('.tmp-batch_00000.npy-'))).toHaveLength(1);
    const expected = Buffer.concat(chunks);
    expect(await writer.commit()).toEqual({ sha256: sha256Hex(expected), bytes: expected.length });
    expect(readFileSync(path).equals(expected)).toBe(true);
    expect(readdirSync(dir)).toEqual(['batch_00000.npy']);
    await expect(writer.write(new Uint8Array(1))).rejects.toMatchObject({ code: 'STORAGE_IO' });
    expect(await sha256File(path)).toBe(sha256Hex(expected));
  });

  it('abort removes the temp and leaves the target untouched', async () => {
    const dir = await tempDir();
    const path = join(dir, 'a.npz');
    writeFileSync(path, 'old');
    const writer = await openAtomicWriter(path);
    await writer.write('new content');
    await writer.abort();
    await writer.abort();
    expect(readdirSync(dir)).toEqual(['a.npz']);
    expect(readFileSync(path, 'utf8')).toBe('old');
    await expect(writer.commit()).rejects.toMatchObject({ code: 'STORAGE_IO' });
  });
});

describe('removeStaleTemps (GC)', () => {
  it('removes temp files and staging directories at any depth, and nothing else', async () => {
    const dir = await tempDir();
    mkdirSync(join(dir, 'comp', 'deep'), { recursive: true });
    writeFileSync(join(dir, 'comp', '.tmp-a.npz-123'), 'partial');
    writeFileSync(join(dir, 'comp', 'deep', '.tmp-b.npz-456'), 'partial');
    writeFileSync(join(dir, 'comp', 'a.npz'), 'whole');
    mkdirSync(join(dir, '.tmp-manifest.json.lock-abc'));
    writeFileSync(join(dir, '.tmp-manifest.json.lock-abc', 'owner-abc.json'), '{}');
    writeFileSync(join(dir, 'manifest.json'), '{}');
    const removed = await removeStaleTemps(dir);
    expect(removed).toHaveLength(3);
    expect(readdirSync(dir).sort()).toEqual(['comp', 'manifest.json']);
    expect(readdirSync(join(dir, 'comp')).sort()).toEqual(['a.npz', 'deep']);
    expect(readdirSync(join(dir, 'comp', 'deep'))).toEqual([]);
  });

  it('does not follow symlinks, and spares fresh temps when given a minimum age', async () => {
    const dir = await tempDir();
    const outside = await tempDir();
    writeFileSync(join(outside, '.tmp-not-ours-1'), 'keep');
    symlinkSync(outside, join(dir, 'linked'));
    writeFileSync(join(dir, '.tmp-fresh-1'), 'x');
    writeFileSync(join(dir, '.tmp-old-1'), 'x');
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(join(dir, '.tmp-old-1'), hourAgo, hourAgo);
    expect(await removeStaleTemps(dir, { minAgeMs: 60_000 })).toEqual([join(dir, '.tmp-old-1')]);
    expect(existsSync(join(dir, '.tmp-fresh-1'))).toBe(true);
    expect(existsSync(join(outside, '.tmp-not-ours-1'))).toBe(true);
  });
});
