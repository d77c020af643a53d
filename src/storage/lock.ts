import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { StorageError } from '../contracts/index.js';

/**
 * Inter-process lock on a file: `<path>.lock` created with O_EXCL. We do not use proper-lockfile:
 * its minimum stale time is 5 s and it cannot see that the holder died, so every writer killed
 * with SIGKILL would stall the next one. Here a lock whose holder pid is dead on this host is
 * broken at once; a lock older than `staleMs` (another host, or a hung holder) is broken too.
 */
interface LockInfo {
  pid: number;
  hostname: string;
  token: string;
  acquired_at: string;
}

export interface LockOptions {
  timeoutMs?: number;
  staleMs?: number;
}

const inProcess = new Map<string, Promise<unknown>>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function tryAcquire(lockPath: string, token: string): Promise<boolean> {
  try {
    const handle = await open(lockPath, 'wx');
    const info: LockInfo = {
      pid: process.pid,
      hostname: hostname(),
      token,
      acquired_at: new Date().toISOString(),
    };
    await handle.writeFile(JSON.stringify(info));
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new StorageError(`cannot create lock ${lockPath}: ${(error as Error).message}`, { cause: error });
  }
}

/** Breaks the lock if it is stale; true when it was (or vanished meanwhile). */
async function breakIfStale(lockPath: string, staleMs: number): Promise<boolean> {
  let text: string;
  let age: number;
  try {
    text = await readFile(lockPath, 'utf8');
    age = Date.now() - (await stat(lockPath)).mtimeMs;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
  let info: LockInfo | null = null;
  try {
    info = JSON.parse(text) as LockInfo;
  } catch {
    // A holder killed between create and write leaves an empty file: stale once it is not brand new.
    info = null;
  }
  const deadHolder = info !== null && info.hostname === hostname() && !isAlive(info.pid);
  const unreadableAndOld = info === null && age > 1000;
  if (!deadHolder && !unreadableAndOld && age <= staleMs) return false;
  // Move it aside under a unique name, then check it is the lock we judged stale; if another
  // process replaced it in between, put it back.
  const aside = `${lockPath}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
  const moved = await readFile(aside, 'utf8').catch(() => '');
  if (moved !== text) {
    await rename(aside, lockPath).catch(() => undefined);
    return false;
  }
  await unlink(aside).catch(() => undefined);
  return true;
}

/**
 * Runs `fn` holding the lock of `path` (R-MAN-3: one writer at a time). Calls in this process are
 * serialised first, so concurrent components of one run queue up instead of spinning on the file.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const previous = inProcess.get(path) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => withFileLock(path, fn, options));
  inProcess.set(path, run);
  try {
    return await run;
  } finally {
    if (inProcess.get(path) === run) inProcess.delete(path);
  }
}

async function withFileLock<T>(path: string, fn: () => Promise<T>, options: LockOptions): Promise<T> {
  const lockPath = `${path}.lock`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 30_000;
  const token = randomBytes(8).toString('hex');
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    if (await tryAcquire(lockPath, token)) break;
    if (await breakIfStale(lockPath, staleMs)) continue;
    if (Date.now() > deadline) {
      throw new StorageError(
        `timed out after ${timeoutMs} ms waiting for the lock ${lockPath}; another writer holds it.`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(100, delay * 2);
  }
  try {
    return await fn();
  } finally {
    // Remove only our own lock.
    const current = await readFile(lockPath, 'utf8').catch(() => '');
    if (current.includes(token)) await unlink(lockPath).catch(() => undefined);
  }
}
