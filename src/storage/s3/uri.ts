import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../contracts/index.js';

/** Options of the S3 result store, compiled once from a store URI (`s3://bucket/prefix?…`). */
export interface S3StoreOptions {
  bucket: string;
  /** Key prefix of the store inside the bucket: '' or ending in '/'. */
  prefix: string;
  /**
   * S3-compatible endpoint (MinIO, a test server). Path-style addressing is used with it.
   * @defaultValue `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`, else AWS itself
   */
  endpoint: string | null;
  /** @defaultValue `AWS_REGION`, else us-east-1 */
  region: string;
  /**
   * Local working copy of the runs this process writes or reads (staging for uploads, downloads for
   * readers that need a path, scratch `_tmp_*`, locks). Never the source of truth.
   * @defaultValue `DATAPROCESSOR_S3_MIRROR`, else `<tmpdir>/dataprocessor-s3/<hash of bucket/prefix>`
   */
  mirror: string;
  /**
   * Objects at least this large are uploaded in parts (multipart upload).
   * @defaultValue 64 MiB
   */
  multipartThresholdBytes: number;
  /** @defaultValue 16 MiB (S3's minimum is 5 MiB except for the last part) */
  partBytes: number;
  /**
   * `immediate`: frame batches are uploaded as they are sealed. `end`: they stay in the local
   * mirror while the run computes and are uploaded when it finishes (fewer requests, less
   * resumable: the bucket's manifest is not advanced while frames are pending).
   * @defaultValue 'immediate'
   */
  framesUpload: 'immediate' | 'end';
  /**
   * Attempts per request (the SDK's standard retry mode: exponential backoff with jitter on 5xx,
   * throttling and network errors); then STORAGE_IO (retryable).
   * @defaultValue 5
   */
  maxAttempts: number;
}

const MIB = 1024 * 1024;

function invalid(message: string): InputError {
  return new InputError('INPUT_INVALID', message);
}

/** True for a store location that names an S3 bucket rather than a directory. */
export function isS3Uri(location: string): boolean {
  return location.startsWith('s3://');
}

function positiveNumber(name: string, value: string | null, fallback: number): number {
  if (value === null) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw invalid(`s3 store option ${name} must be a positive number`);
  return n;
}

/**
 * Compiles `s3://bucket[/prefix][?endpoint=URL&region=R&mirror=DIR&multipart_mb=N&part_mb=N&frames=immediate|end&max_attempts=N]`
 * into {@link S3StoreOptions}; INPUT_INVALID names the bad part. Credentials never go in the URI:
 * they come from the SDK's usual chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, roles).
 */
export function parseS3Uri(uri: string, env: NodeJS.ProcessEnv = process.env): S3StoreOptions {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw invalid(`${uri} is not a valid s3:// store URI (s3://bucket/prefix?endpoint=…)`);
  }
  if (url.protocol !== 's3:') throw invalid(`${uri} is not an s3:// store URI`);
  if (url.username || url.password)
    throw invalid('credentials do not belong in the store URI; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY');
  const bucket = url.hostname;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw invalid(`s3 bucket name ${JSON.stringify(bucket)} is not a valid bucket name`);
  // The raw text, not url.pathname: URL parsing would resolve '..' away silently.
  const rawPath = uri.slice('s3://'.length).split(/[?#]/)[0] ?? '';
  const segments = decodeURIComponent(rawPath.slice(rawPath.indexOf('/') + 1 || rawPath.length))
    .split('/')
    .filter((s) => s !== '');
  if (segments.some((s) => s === '.' || s === '..' || s.includes('\\')))
    throw invalid(`s3 prefix ${url.pathname} may not contain '.' or '..' segments`);
  const prefix = segments.length === 0 ? '' : `${segments.join('/')}/`;
  const known = new Set([
    'endpoint',
    'region',
    'mirror',
    'multipart_mb',
    'part_mb',
    'frames',
    'max_attempts',
  ]);
  for (const key of url.searchParams.keys())
    if (!known.has(key)) throw invalid(`unknown s3 store option ${key} (known: ${[...known].join(', ')})`);
  const q = (key: string): string | null => url.searchParams.get(key);
  const endpoint = q('endpoint') ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ?? null;
  if (endpoint !== null && !/^https?:\/\/[^/]+/.test(endpoint))
    throw invalid(`s3 endpoint ${endpoint} must be an http(s) URL`);
  const frames = q('frames') ?? 'immediate';
  if (frames !== 'immediate' && frames !== 'end')
    throw invalid('s3 store option frames must be immediate or end');
  const partBytes = positiveNumber('part_mb', q('part_mb'), 16) * MIB;
  if (partBytes < 5 * MIB)
    throw invalid('s3 store option part_mb must be at least 5 (the S3 minimum part size)');
  const mirrorKey = createHash('sha256')
    .update(`${endpoint ?? 'aws'}|${bucket}|${prefix}`)
    .digest('hex');
  return {
    bucket,
    prefix,
    endpoint,
    region: q('region') ?? env.AWS_REGION ?? 'us-east-1',
    mirror:
      q('mirror') ??
      env.DATAPROCESSOR_S3_MIRROR ??
      join(tmpdir(), 'dataprocessor-s3', mirrorKey.slice(0, 16)),
    multipartThresholdBytes: positiveNumber('multipart_mb', q('multipart_mb'), 64) * MIB,
    partBytes,
    framesUpload: frames,
    maxAttempts: Math.round(positiveNumber('max_attempts', q('max_attempts'), 5)),
  };
}
