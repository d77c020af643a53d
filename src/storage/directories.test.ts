import { mkdtempSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureDirectory, ensureDirectorySync } from './index.js';

const temp = (): string => mkdtempSync(join(tmpdir(), 'dp-dirs-'));

describe.each([
  ['ensureDirectorySync', (p: string) => Promise.resolve().then(() => ensureDirectorySync(p))],
  ['ensureDirectory', ensureDirectory],
])('%s', (_name, ensure) => {
  it('creates every missing level and accepts a directory that exists', async () => {
    const root = temp();
    const deep = join(root, 'a', 'b', 'c');
    await ensure(deep);
    expect(statSync(deep).isDirectory()).toBe(true);
    await ensure(deep);
    await ensure(root);
  });

  it('fails at once (no spin) under /proc, where Node’s recursive mkdir never returns', async () => {
    const started = performance.now();
    await expect(ensure('/proc/dp-no-such-dir/db')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('a file on the path is ENOTDIR; a dangling symlink is ENOENT', async () => {
    const root = temp();
    writeFileSync(join(root, 'file'), 'x');
    await expect(ensure(join(root, 'file', 'sub'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(ensure(join(root, 'file'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    symlinkSync(join(root, 'gone'), join(root, 'dangling'));
    await expect(ensure(join(root, 'dangling', 'sub'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
