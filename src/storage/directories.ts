import { mkdirSync, statSync, type Stats } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

function notADirectory(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), {
    code: 'ENOTDIR',
    syscall: 'mkdir',
    path,
  });
}

const errnoOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;

/**
 * The directories to create for `path`, outermost first, found by walking up to the deepest
 * ancestor that exists (which must be a directory).
 */
function missingLevels(path: string, statOf: (p: string) => Stats | null): string[] {
  const missing: string[] = [];
  for (let current = resolve(path); ;) {
    const stats = statOf(current);
    if (stats !== null) {
      if (!stats.isDirectory()) throw notADirectory(current);
      return missing;
    }
    missing.unshift(current);
    const parent = dirname(current);
    if (parent === current) return missing;
    current = parent;
  }
}

/**
 * `mkdir -p` that always ends. Node's own `mkdir(…, { recursive: true })` spins forever at 100 %
 * CPU when the kernel answers ENOENT for a child of a directory that exists (`/proc/x`, `/sys/x`,
 * a dangling symlink): it takes ENOENT for "parent missing", makes the parent (EEXIST), and retries
 * (the loop nodejs/node and bun fixed in their own walkers). Here every missing level is made by
 * one plain `mkdir`, so such a path fails at once with its errno (ENOENT, ENOTDIR, EACCES, EROFS…),
 * which the caller wraps in its own error code.
 */
export function ensureDirectorySync(path: string): void {
  const levels = missingLevels(path, (p) => {
    try {
      return statSync(p);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return null;
      throw error;
    }
  });
  for (const level of levels) {
    try {
      mkdirSync(level);
    } catch (error) {
      if (errnoOf(error) !== 'EEXIST') throw error;
      if (!statSync(level).isDirectory()) throw notADirectory(level);
    }
  }
}

/** The asynchronous `ensureDirectorySync` (same walk, same errors). */
export async function ensureDirectory(path: string): Promise<void> {
  const levels: string[] = [];
  for (let current = resolve(path); ;) {
    const stats = await stat(current).catch((error: unknown) => {
      if (errnoOf(error) === 'ENOENT') return null;
      throw error;
    });
    if (stats !== null) {
      if (!stats.isDirectory()) throw notADirectory(current);
      break;
    }
    levels.unshift(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const level of levels) {
    try {
      await mkdir(level);
    } catch (error) {
      if (errnoOf(error) !== 'EEXIST') throw error;
      if (!(await stat(level)).isDirectory()) throw notADirectory(level);
    }
  }
}
