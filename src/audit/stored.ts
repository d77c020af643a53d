import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { InputError, StorageError } from '../contracts/index.js';
import { checkRelativePath, isS3Uri, openResultStore, type ResultStore } from '../storage/index.js';
import { auditRun, type AuditReport } from './audit.js';

/**
 * Audits a run of any store through the store port (R-ST-4): the run's files are read from the
 * store (for S3: listed and downloaded, every byte through GET) into a private temp directory and
 * audited there exactly like a local run; the report names the store location.
 */
export async function auditStoredRun(store: ResultStore, runDir: string): Promise<AuditReport> {
  const files = await store.listRunFiles(runDir);
  if (files.length === 0)
    throw new InputError('INPUT_INVALID', `there is no run at ${store.describeRun(runDir)}`);
  const base = await mkdtemp(join(tmpdir(), 'dp-audit-'));
  try {
    // The audit checks that the directory names are the run's ids (R-ID-1): keep them.
    const copy = join(base, ...runDir.split(sep).slice(-3));
    for (const file of files) {
      const bytes = await store.readFile(runDir, file.path);
      if (bytes === null) throw new StorageError(`${file.path} vanished while it was being read`);
      const target = join(copy, ...checkRelativePath(file.path));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, bytes);
    }
    const report = await auditRun(copy);
    return { ...report, runDir: store.describeRun(runDir) };
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

/**
 * `s3://bucket/prefix/<platform_id>/<video_id>/<run_id>[?options]` → the store and the run in it;
 * null for a local path.
 */
export async function openStoredRun(
  location: string,
): Promise<{ store: ResultStore; runDir: string } | null> {
  if (!isS3Uri(location)) return null;
  const url = new URL(location);
  const segments = url.pathname.split('/').filter((s) => s !== '');
  if (segments.length < 3)
    throw new InputError(
      'INPUT_INVALID',
      `${url.origin}${url.pathname} does not name a run: s3://bucket/prefix/<platform_id>/<video_id>/<run_id>`,
    );
  const [platformId, videoId, runId] = segments.slice(-3) as [string, string, string];
  url.pathname = `/${segments.slice(0, -3).join('/')}`;
  const store = await openResultStore(url.toString());
  return { store, runDir: store.runDir(platformId, videoId, runId) };
}
