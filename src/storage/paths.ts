import { lstat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ID_PATTERN, InputError, StorageError, validateId } from '../contracts/index.js';

/*
 * Path rules of the local result store (R-ID-4, R-SEC-3). Everything here is checked before a
 * file is created or removed: ids are validated before a path is built from them, a relative path
 * may not climb out of its run directory, and no existing segment below the store root may be a
 * symlink (the root itself may be one: a store mounted elsewhere is a normal deployment).
 */

function invalid(message: string, details: Record<string, unknown> = {}): InputError {
  return new InputError('INPUT_INVALID', message, { details });
}

/** `<root>/<platform_id>/<video_id>/<run_id>` after validating each id (INPUT_INVALID, nothing touched). */
export function buildRunDir(root: string, platformId: string, videoId: string, runId: string): string {
  validateId('platform_id', platformId);
  validateId('video_id', videoId);
  validateId('run_id', runId);
  return join(resolve(root), platformId, videoId, runId);
}

/**
 * Checks that `runDir` is exactly `<root>/<id>/<id>/<id>` (lexically; no disk access) and
 * returns it resolved. INPUT_INVALID otherwise.
 */
export function assertRunDir(root: string, runDir: string): string {
  const full = resolve(runDir);
  const parts = relative(resolve(root), full).split(sep);
  if (parts.length !== 3 || !parts.every((p) => ID_PATTERN.test(p))) {
    throw invalid(
      `${runDir} is not a run directory of the store ${root} (<platform_id>/<video_id>/<run_id>)`,
      {
        runDir,
      },
    );
  }
  return full;
}

/**
 * Checks a run-relative path lexically: non-empty, relative, '/'-separated, no '..' or '.'
 * segments, no empty segments, no backslashes or NUL. Returns its segments.
 */
export function checkRelativePath(relativePath: string): string[] {
  const segments = relativePath.split('/');
  const bad =
    relativePath === '' ||
    isAbsolute(relativePath) ||
    relativePath.includes('\\') ||
    relativePath.includes('\0') ||
    segments.some((s) => s === '' || s === '.' || s === '..');
  if (bad) {
    throw invalid(
      `artifact path ${JSON.stringify(relativePath)} must be a relative path inside the run directory ('/'-separated, no '..')`,
      { path: relativePath },
    );
  }
  return segments;
}

/**
 * lstat every existing segment of `path` below `root`, from the top down; a symlink anywhere is
 * refused with INPUT_INVALID. Stops at the first segment that does not exist yet (it will be
 * created by us, as a real directory or file).
 */
export async function assertNoSymlinks(root: string, path: string): Promise<void> {
  const base = resolve(root);
  const rel = relative(base, resolve(path));
  if (rel === '') return;
  if (rel.startsWith('..') || isAbsolute(rel)) throw invalid(`${path} is outside the result store ${base}`);
  let current = base;
  for (const part of rel.split(sep)) {
    current = join(current, part);
    let isLink: boolean;
    try {
      isLink = (await lstat(current)).isSymbolicLink();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new StorageError(`cannot inspect ${current}: ${(error as Error).message}`, { cause: error });
    }
    if (isLink) {
      throw invalid(`${current} is a symlink; the result store never follows symlinks (R-SEC-3)`, {
        path: current,
      });
    }
  }
}

/**
 * Resolves `relativePath` inside `runDir` (itself inside `root`), refusing paths that escape it
 * or pass through a symlink (R-SEC-3). Returns the absolute path.
 */
export async function resolveInside(root: string, runDir: string, relativePath: string): Promise<string> {
  const dir = assertRunDir(root, runDir);
  const full = join(dir, ...checkRelativePath(relativePath));
  await assertNoSymlinks(root, full);
  return full;
}
