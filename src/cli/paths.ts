import { open, readFile, stat } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { DataProcessorError, StorageError } from '../contracts/index.js';
import { ensureDirectory } from '../storage/index.js';

/** errnos that mean "this path cannot be what the argument asks for" (the user's to fix). */
const WRONG_PATH = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'ELOOP', 'ENAMETOOLONG']);

/** A failed file operation on a path the user gave, as INPUT_INVALID (wrong path) or STORAGE_IO. */
export function pathError(what: string, path: string, error: unknown): DataProcessorError {
  const message = `${what} ${path}: ${(error as Error).message}`;
  const code = (error as NodeJS.ErrnoException).code;
  return code !== undefined && WRONG_PATH.has(code)
    ? new DataProcessorError('INPUT_INVALID', message, { cause: error, details: { path } })
    : new StorageError(message, { cause: error, details: { path } });
}

/**
 * Makes sure a directory a command writes into (`--out`, `--model-dir`) exists, before any work:
 * a path that cannot be a directory (under a file, under /proc) is INPUT_INVALID at once — never
 * the endless loop of Node's recursive mkdir there — and missing permissions are STORAGE_IO.
 */
export async function prepareOutputDirectory(path: string, option: string): Promise<void> {
  try {
    await ensureDirectory(path);
  } catch (error) {
    throw pathError(`${option}: cannot create the directory`, path, error);
  }
}

/** The text of a file the user names; `-` reads standard input. */
export async function readUserFile(path: string, what: string): Promise<string> {
  try {
    return path === '-' ? await text(process.stdin) : await readFile(path, 'utf8');
  } catch (error) {
    throw pathError(`cannot read ${what}`, path, error);
  }
}

/** A directory option the command only reads (`models list --model-dir`): absent is fine, a file is not. */
export async function checkDirectoryOption(path: string, option: string): Promise<void> {
  const stats = await stat(path).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw pathError(`${option}: cannot read`, path, error);
  });
  if (stats !== null && !stats.isDirectory())
    throw new DataProcessorError('INPUT_INVALID', `${option} ${path} is not a directory`, {
      details: { path },
    });
}

/**
 * The input the user names must be readable by this process. Only permissions are judged here
 * (INPUT_INVALID naming the file, not a result-store STORAGE_IO); a missing file or a directory is
 * left to the run's own input checks, whose messages say more.
 */
export async function checkReadableInput(path: string): Promise<void> {
  try {
    await (await open(path, 'r')).close();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM')
      throw new DataProcessorError('INPUT_INVALID', `cannot read the input ${path}: permission denied`, {
        cause: error,
        details: { path },
      });
  }
}
