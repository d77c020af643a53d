import { existsSync } from 'node:fs';
import { InputError } from '../contracts/index.js';
import { LocalResultStore, type ResultStore } from './result-store.js';
import { S3ResultStore } from './s3/s3-result-store.js';
import { isS3Uri, parseS3Uri } from './s3/uri.js';

/**
 * The result store at `location` (R-ST-4): `s3://bucket/prefix?…` is the S3 store (options in
 * docs/STORAGE.md), anything else a directory for the local store. An S3 store is checked to be
 * reachable first, so a wrong endpoint or bucket fails before any work (STORAGE_IO).
 */
export async function openResultStore(location: string): Promise<ResultStore> {
  const store = createResultStore(location);
  if (store instanceof S3ResultStore) await store.connect();
  return store;
}

/** {@link openResultStore} without the reachability check (for constructors; errors come on first use). */
export function createResultStore(location: string): ResultStore {
  return isS3Uri(location)
    ? new S3ResultStore(parseS3Uri(location), location)
    : new LocalResultStore(location);
}

/**
 * {@link openResultStore} for commands that act on an existing store (gc, delete): a local
 * directory that does not exist is INPUT_INVALID — a mistyped `--out` must not "delete" from an
 * empty new store and report success.
 */
export async function openExistingResultStore(location: string, flag = '--out'): Promise<ResultStore> {
  if (!isS3Uri(location) && !existsSync(location))
    throw new InputError('INPUT_INVALID', `${flag} ${location}: there is no result store there`);
  return openResultStore(location);
}

export { isS3Uri };
