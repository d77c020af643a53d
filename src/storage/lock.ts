import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { StorageError } from '../contracts/index.js';
import { TEMP_PREFIX } from './atomic.js';

/*
 * Inter-process lock on a file (R-MAN-3: one manifest writer at a time).
 *
 * Why not proper-lockfile: its minimum stale time is 5 s and it cannot tell that the holder died,
 * so every writer killed with SIGKILL would stall the next one for seconds. Here a lock whose
 * holder pid is dead on this host is broken at once; a lock not refreshed for `staleMs` (a holder
 * on another host, a hung holder, a pid reused after a reboot) is broken too.
 *
 * Layout: `<path>.lock/` is a directory holding exactly one `owner-<token>.json`
 * ({pid, hostname, token, acquired_at}), where the token is unique to one acquisition.
 * - Acquire: build the directory with its owner file under a temp name, then rename it onto
 *   `<path>.lock`. rename(2) of a directory succeeds only when the target is absent or an empty
 *   directory, so this is an exclusive create (the O_EXCL of a lock file) that never exposes a
 *   lock without its owner record: a holder killed mid-acquire leaves a GC-able temp, not a lock
 *   nobody can judge.
 * - Break a stale lock: unlink `owner-<stale token>.json`, then rmdir. Unlinking by the token's
 *   name is a compare-and-delete: it can only remove the acquisition that was judged stale,
 *   never a newer one that took its place meanwhile (a rename-aside-and-put-back scheme can lose
 *   a live lock when a third process acquires during the put-back).
 * - Release: the same, with our own token. An empty `<path>.lock/` left by a kill between the
 *   two steps is free: the next rename replaces it.
 */

/** What a lock's owner file records. */
export interface LockOwner {
  pid: number;
  hostname: string;
  token: string;
  acquired_at: string;
}

/** Options of {@link withLock}. */
export interface LockOptions {
  /**
   * How long to wait for the lock before failing with STORAGE_IO (retryable).
   * @defaultValue 30_000
   */
  timeoutMs?: number;
  /**
   * A lock whose owner record was not refreshed for this long is stale, even if its holder looks
   * alive (another host, a hung process). Holders refresh it every `staleMs / 3`.
   * @defaultValue 30_000
   */
  staleMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_STALE_MS = 30_000;
const OWNER_PREFIX = 'owner-';
const HOST = hostname();

/** Tokens of the locks this process holds right now. */
const heldTokens = new Set<string>();

/** Tail of the in-process queue for each lock path (see withLock). */
const inProcessTails = new Map<string, Promise<void>>();

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

function ioError(what: string, error: unknown): StorageError {
  return new StorageError(`${what}: ${(error as Error).message}`, { cause: error });
}

/**
 * True while `pid` names a live process on this host. A zombie (killed, not yet reaped by its
 * parent) counts as dead: it will never release anything, yet `kill(pid, 0)` still succeeds on it.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return errnoOf(error) === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    // ENOENT: it exited between the two checks. Anything else (no /proc): trust kill(0).
    return errnoOf(error) !== 'ENOENT';
  }
  // "pid (comm) S …": the state follows the last ')' (comm may itself contain parentheses).
  return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
}

function lockPathOf(path: string): string {
  return `${resolve(path)}.lock`;
}

function ownerFile(lockPath: string, token: string): string {
  return join(lockPath, `${OWNER_PREFIX}${token}.json`);
}

/** Tries once to take the lock; false when someone else holds it. */
async function tryAcquire(lockPath: string, owner: LockOwner): Promise<boolean> {
  // The temp name starts with TEMP_PREFIX so GC (removeStaleTemps) removes one left by a kill.
  const staging = join(dirname(lockPath), `${TEMP_PREFIX}${basename(lockPath)}-${owner.token}`);
  try {
    await mkdir(staging);
    await writeFile(ownerFile(staging, owner.token), JSON.stringify(owner));
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw ioError(`cannot prepare the lock ${lockPath}`, error);
  }
  try {
    await rename(staging, lockPath);
    return true;
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    const code = errnoOf(error);
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    if (code === 'ENOTDIR') {
      throw new StorageError(
        `${lockPath} exists but is not a lock directory; remove it if no writer is running.`,
      );
    }
    throw ioError(`cannot take the lock ${lockPath}`, error);
  }
}

/** Removes `<lock>/owner-<token>.json` then the directory if it is empty; false if the owner file was gone. */
async function removeOwner(lockPath: string, token: string): Promise<boolean> {
  let removed = true;
  try {
    await unlink(ownerFile(lockPath, token));
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw ioError(`cannot release the lock ${lockPath}`, error);
    removed = false;
  }
  try {
    await rmdir(lockPath);
  } catch (error) {
    // Someone already took it again (not empty) or removed it: both fine.
    const code = errnoOf(error);
    if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') {
      throw ioError(`cannot release the lock ${lockPath}`, error);
    }
  }
  return removed;
}

interface Holder {
  owner: LockOwner | null;
  ageMs: number;
}

/** Reads who holds the lock now; null when it is free (absent or an empty directory). */
async function readHolder(lockPath: string): Promise<{ file: string; holder: Holder } | null> {
  let names: string[];
  try {
    names = await readdir(lockPath);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return null;
    throw ioError(`cannot inspect the lock ${lockPath}`, error);
  }
  const name = names.find((n) => n.startsWith(OWNER_PREFIX) && n.endsWith('.json'));
  if (name === undefined) {
    if (names.length === 0) return null;
    // Foreign files in a lock directory: judge it by its age alone.
    const ageMs = Date.now() - (await stat(lockPath)).mtimeMs;
    return { file: lockPath, holder: { owner: null, ageMs } };
  }
  const file = join(lockPath, name);
  try {
    const [text, info] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    let owner: LockOwner | null;
    try {
      owner = JSON.parse(text) as LockOwner;
    } catch {
      // Cannot happen for our own records (written before the rename); judge by age.
      owner = null;
    }
    return { file, holder: { owner, ageMs: Date.now() - info.mtimeMs } };
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return null; // released meanwhile
    throw ioError(`cannot read the lock ${lockPath}`, error);
  }
}

function isStale(holder: Holder, staleMs: number): boolean {
  const { owner, ageMs } = holder;
  if (owner && owner.hostname === HOST) {
    if (!isProcessAlive(owner.pid)) return true;
    // Our own pid but not a lock we hold: left by an earlier process that had the same pid (a
    // restarted container's node is often pid 1 again).
    if (owner.pid === process.pid && !heldTokens.has(owner.token)) return true;
  }
  return ageMs > staleMs;
}

/** Breaks the lock if it is stale; true when the caller should retry at once. */
async function breakIfStale(
  lockPath: string,
  staleMs: number,
): Promise<{ retry: boolean; holder: Holder | null }> {
  const current = await readHolder(lockPath);
  if (current === null) return { retry: true, holder: null };
  if (!isStale(current.holder, staleMs)) return { retry: false, holder: current.holder };
  if (current.file === lockPath) {
    await rm(lockPath, { recursive: true, force: true });
  } else {
    // Compare-and-delete by the stale owner's unique name (see the header comment).
    const token = basename(current.file).slice(OWNER_PREFIX.length, -'.json'.length);
    await removeOwner(lockPath, token);
  }
  return { retry: true, holder: current.holder };
}

function describeHolder(holder: Holder | null): string {
  if (!holder?.owner) return 'an unknown holder';
  const { pid, hostname: host, acquired_at } = holder.owner;
  return `pid ${pid} on ${host} (since ${acquired_at})`;
}

async function acquire(lockPath: string, deadline: number, options: LockOptions): Promise<LockOwner> {
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const token = randomBytes(12).toString('hex');
  let delayMs = 1;
  for (;;) {
    const owner: LockOwner = {
      pid: process.pid,
      hostname: HOST,
      token,
      acquired_at: new Date().toISOString(),
    };
    if (await tryAcquire(lockPath, owner)) return owner;
    const { retry, holder } = await breakIfStale(lockPath, staleMs);
    const leftMs = deadline - Date.now();
    // Freed or broken just now: try again at once (bounded by the deadline).
    if (retry && leftMs > 0) continue;
    if (leftMs <= 0) {
      throw new StorageError(
        `Timed out after ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms waiting for the lock ${lockPath}, held by ${describeHolder(holder)}; retry when that writer has finished.`,
        { details: { lock: lockPath } },
      );
    }
    // Small jittered backoff: contention on one manifest is short (a read-merge-write).
    await new Promise((r) => setTimeout(r, Math.min(leftMs, delayMs * (0.5 + Math.random()))));
    delayMs = Math.min(50, delayMs * 2);
  }
}

/**
 * Runs `fn` while holding the lock of `path` (`<path>.lock`), across processes and within this
 * one. Calls in this process for the same path queue up in order before touching the file, so
 * concurrent components of one run do not spin on it. Fails with STORAGE_IO (retryable) when the
 * lock is not obtained within `timeoutMs` (time spent queued in-process counts), or when the lock
 * was broken while `fn` ran (not refreshed for `staleMs`), since then exclusivity is lost. Not
 * re-entrant: calling withLock for the same path inside `fn` waits for itself until it times out.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lockPath = lockPathOf(path);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;

  const previous = inProcessTails.get(lockPath) ?? Promise.resolve();
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  // Our successor waits for us, and we wait for our predecessor even when we give up early, so
  // queued callers never overtake one that is still running.
  const tail = previous.then(() => done);
  inProcessTails.set(lockPath, tail);
  const cleanUp = (): void => {
    finish();
    if (inProcessTails.get(lockPath) === tail) inProcessTails.delete(lockPath);
  };

  let timer: NodeJS.Timeout | undefined;
  const turn = await Promise.race([
    previous.then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), Math.max(0, deadline - Date.now())))),
  ]);
  clearTimeout(timer);
  if (!turn) {
    void previous.then(cleanUp);
    throw new StorageError(
      `Timed out after ${timeoutMs} ms waiting for the lock ${lockPath} behind other callers in this process; retry later.`,
      { details: { lock: lockPath } },
    );
  }

  try {
    const owner = await acquire(lockPath, deadline, options);
    return await runHolding(lockPath, owner, options.staleMs ?? DEFAULT_STALE_MS, fn);
  } finally {
    cleanUp();
  }
}

async function runHolding<T>(
  lockPath: string,
  owner: LockOwner,
  staleMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  heldTokens.add(owner.token);
  // Refresh the owner record so that a long holder is not judged stale by age.
  const heartbeat = setInterval(
    () => {
      const now = new Date();
      utimes(ownerFile(lockPath, owner.token), now, now).catch(() => undefined);
    },
    Math.max(10, staleMs / 3),
  );
  heartbeat.unref();
  let outcome: { value: T } | { error: unknown };
  try {
    outcome = { value: await fn() };
  } catch (error) {
    outcome = { error };
  }
  clearInterval(heartbeat);
  const released = removeOwner(lockPath, owner.token).finally(() => heldTokens.delete(owner.token));
  if ('error' in outcome) {
    // fn's own failure is the one to report, not a failed release after it.
    await released.catch(() => false);
    throw outcome.error;
  }
  if (!(await released)) {
    throw new StorageError(
      `The lock ${lockPath} was broken while held (not refreshed for ${staleMs} ms); the update may have raced another writer, retry it.`,
      { details: { lock: lockPath } },
    );
  }
  return outcome.value;
}
