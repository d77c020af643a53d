import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compileScripts, type CompiledScripts } from '../../test/storage/compile.js';
import { spawnChild, type Child } from '../../test/storage/spawn.js';
import { isProcessAlive, withLock } from './index.js';

let compiled: CompiledScripts;
let childScript: string;
beforeAll(async () => {
  compiled = await compileScripts(['test/storage/child.ts']);
  childScript = compiled.scriptFor('test/storage/child.ts');
});
afterAll(() => compiled.cleanup());

const dirs: string[] = [];
const children: Child[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dp-lock-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  // Stop only the children this test started, by pid.
  for (const child of children.splice(0)) if (child.process.exitCode === null) child.process.kill('SIGKILL');
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** Writes a lock as another holder would have left it. */
function plantLock(path: string, owner: { pid: number; hostname: string }, ageMs = 0): void {
  const token = 'f'.repeat(24);
  mkdirSync(`${path}.lock`);
  const file = join(`${path}.lock`, `owner-${token}.json`);
  writeFileSync(file, JSON.stringify({ ...owner, token, acquired_at: new Date().toISOString() }));
  const then = new Date(Date.now() - ageMs);
  utimesSync(file, then, then);
}

describe('withLock across processes', () => {
  it('gives two contending processes exclusive turns (no overlap, no lost increment)', async () => {
    const dir = await tempDir();
    const target = join(dir, 'manifest.json');
    const counter = join(dir, 'counter');
    const n = 150;
    const contenders = [0, 1].map(() => spawnChild(childScript, ['count', target, String(n), counter]));
    children.push(...contenders);
    const results = await Promise.all(contenders.map((c) => c.exited));
    for (const r of results) expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(Number(readFileSync(counter, 'utf8'))).toBe(2 * n);
    expect(readdirSync(dir).sort()).toEqual(['counter']);
  });

  it('breaks at once a lock whose holder was killed with SIGKILL', async () => {
    const dir = await tempDir();
    const target = join(dir, 'manifest.json');
    const holder = spawnChild(childScript, ['hold', target]);
    children.push(holder);
    await holder.waitFor('held');
    holder.process.kill('SIGKILL');
    await holder.exited;
    expect(readdirSync(`${target}.lock`)).toHaveLength(1); // the dead holder's record is still there
    const started = performance.now();
    expect(await withLock(target, () => Promise.resolve('got it'), { timeoutMs: 5_000 })).toBe('got it');
    expect(performance.now() - started).toBeLessThan(500);
    expect(existsSync(`${target}.lock`)).toBe(false);
  });

  it('times out on a live holder with STORAGE_IO naming the holder', async () => {
    const dir = await tempDir();
    const target = join(dir, 'manifest.json');
    const holder = spawnChild(childScript, ['hold', target]);
    children.push(holder);
    await holder.waitFor('held');
    const started = performance.now();
    const failure = withLock(target, () => Promise.resolve(1), { timeoutMs: 300 });
    await expect(failure).rejects.toMatchObject({ code: 'STORAGE_IO', retryable: true });
    await expect(failure).rejects.toThrow(`pid ${holder.pid}`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(readdirSync(dir).sort()).toEqual(['manifest.json.lock']); // no staging left behind
  });

  it('breaks a lock not refreshed for staleMs even when its holder looks alive (e.g. another host)', async () => {
    const dir = await tempDir();
    const target = join(dir, 'm.json');
    plantLock(target, { pid: process.pid, hostname: 'another-host' }, 1_000);
    await expect(
      withLock(target, () => Promise.resolve(1), { timeoutMs: 200, staleMs: 60_000 }),
    ).rejects.toMatchObject({ code: 'STORAGE_IO' });
    expect(await withLock(target, () => Promise.resolve(2), { timeoutMs: 200, staleMs: 500 })).toBe(2);
  });

  it('treats a dead pid on this host (or our pid, not held by us) as stale, and an empty lock directory as free', async () => {
    const dir = await tempDir();
    const target = join(dir, 'm.json');
    const deadPid = Number(execFileSync(process.execPath, ['-p', 'process.pid'], { encoding: 'utf8' }));
    plantLock(target, { pid: deadPid, hostname: hostname() });
    expect(await withLock(target, () => Promise.resolve('a'), { timeoutMs: 200 })).toBe('a');
    // Our own pid with a token we do not hold: an earlier process that had the same pid.
    plantLock(target, { pid: process.pid, hostname: hostname() });
    expect(await withLock(target, () => Promise.resolve('own pid'), { timeoutMs: 200 })).toBe('own pid');
    mkdirSync(`${target}.lock`); // what a kill between release's two steps leaves
    expect(await withLock(target, () => Promise.resolve('b'), { timeoutMs: 200 })).toBe('b');
  });

  it('refreshes a live holder so it is not judged stale by age', async () => {
    const dir = await tempDir();
    const target = join(dir, 'm.json');
    const holder = spawnChild(childScript, ['hold', target, '400']);
    children.push(holder);
    await holder.waitFor('held');
    await sleep(1_200); // three stale periods: only the holder's refresh keeps the lock fresh
    await expect(
      withLock(target, () => Promise.resolve(1), { timeoutMs: 100, staleMs: 300 }),
    ).rejects.toMatchObject({
      code: 'STORAGE_IO',
    });
  });
});

describe('withLock within one process', () => {
  it('runs callers for one path one at a time, in call order, even when one fails', async () => {
    const dir = await tempDir();
    const target = join(dir, 'm.json');
    const order: number[] = [];
    let inside = 0;
    const calls = Array.from({ length: 20 }, (_, i) =>
      withLock(target, async () => {
        inside += 1;
        expect(inside).toBe(1);
        await sleep(Math.random() * 3);
        order.push(i);
        inside -= 1;
        if (i === 5) throw new Error('boom');
        return i;
      }),
    );
    const settled = await Promise.allSettled(calls);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(settled.filter((s) => s.status === 'rejected')).toHaveLength(1);
    expect(existsSync(`${target}.lock`)).toBe(false);
  });

  it('counts time queued behind in-process callers towards the timeout', async () => {
    const dir = await tempDir();
    const target = join(dir, 'm.json');
    const first = withLock(target, () => sleep(400).then(() => 'first'));
    const second = withLock(target, () => Promise.resolve('second'), { timeoutMs: 100 });
    const third = withLock(target, () => Promise.resolve('third'));
    await expect(second).rejects.toMatchObject({ code: 'STORAGE_IO' });
    expect(await first).toBe('first');
    expect(await third).toBe('third');
  });
});

describe('isProcessAlive', () => {
  it('is true for this process, false for an exited one and for a zombie', async () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    const exited = Number(execFileSync(process.execPath, ['-p', 'process.pid'], { encoding: 'utf8' }));
    expect(isProcessAlive(exited)).toBe(false);
    if (process.platform !== 'linux') return;
    // `sleep 0` becomes a child of `sleep 30` (after exec), which never reaps it: a zombie.
    const shell = spawn('/bin/sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const zombiePid = Number(
      await new Promise<string>((r) => shell.stdout.once('data', (d: Buffer) => r(String(d)))),
    );
    try {
      const until = Date.now() + 5_000;
      while (isProcessAlive(zombiePid) && Date.now() < until) await sleep(20);
      expect(isProcessAlive(zombiePid)).toBe(false);
      expect(() => process.kill(zombiePid, 0)).not.toThrow(); // still there: kill(0) alone would say alive
    } finally {
      shell.kill('SIGKILL');
    }
  });
});
