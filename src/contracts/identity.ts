import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import canonicalize from 'canonicalize';
import { z } from 'zod';
import { InputError } from './errors.js';

/** R-ID-4: ids become path segments, so they are validated before any path is built from them. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const idSchema = z.string().regex(ID_PATTERN, 'must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$');

/** R-ID-1: the six values that identify a run, formed once by the orchestrator and passed everywhere. */
export const runIdentitySchema = z
  .object({
    platform_id: idSchema,
    video_id: idSchema,
    run_id: idSchema,
    config_hash: z.string().regex(/^[0-9a-f]{64}$/),
    sampling_policy_version: z.string().min(1),
    dataprocessor_version: z.string().min(1),
  })
  .strict();
export type RunIdentity = z.infer<typeof runIdentitySchema>;
export const IDENTITY_KEYS = Object.keys(runIdentitySchema.shape) as (keyof RunIdentity)[];

/** Throws INPUT_INVALID unless `value` is a safe id; `field` names the argument in the message. */
export function validateId(field: string, value: string): string {
  if (!ID_PATTERN.test(value)) {
    const shown =
      value.length > 40 ? `${value.slice(0, 40)}… (${value.length} chars)` : JSON.stringify(value);
    throw new InputError(
      'INPUT_INVALID',
      `${field} ${shown} is not a valid id: use 1–128 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit.`,
      { details: { field } },
    );
  }
  return value;
}

/** Canonical JSON (RFC 8785: sorted keys, no whitespace), the input of every hash we publish. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value cannot be canonicalised as JSON');
  return text;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** R-ID-2: sha256 of the canonical JSON of the effective config. */
export function computeConfigHash(effectiveConfig: unknown): string {
  return sha256Hex(canonicalJson(effectiveConfig));
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let cachedVersion: { version: string; gitCommit: string | null } | undefined;

/** R-ID-3: package version plus the git commit when the code runs from a checkout. */
export function dataprocessorVersion(): { version: string; gitCommit: string | null } {
  if (cachedVersion) return cachedVersion;
  let packageVersion: string | null = null;
  try {
    const parsed = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    packageVersion = typeof parsed.version === 'string' ? parsed.version : null;
  } catch {
    packageVersion = null;
  }
  let gitCommit: string | null = null;
  try {
    gitCommit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: packageRoot,
      stdio: ['ignore', 'pipe', 'ignore'],
      encoding: 'utf8',
    }).trim();
  } catch {
    gitCommit = null;
  }
  const version =
    packageVersion && gitCommit
      ? `${packageVersion}+${gitCommit}`
      : (packageVersion ?? gitCommit ?? 'unknown');
  cachedVersion = { version, gitCommit };
  return cachedVersion;
}

/** R-ID-4 default run id: sortable UTC timestamp plus a random suffix, e.g. `20261124T141500Z-3f9a1c`. */
export function defaultRunId(now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** R-ID-4 default video id: derived from the file's content hash. */
export function defaultVideoId(contentSha256: string): string {
  return `v-${contentSha256.slice(0, 24)}`;
}

/** R-MOD-2: hash of the models a component used (sha256 of their canonical JSON; [] without models). */
export function modelSignature(modelsUsed: readonly unknown[]): string {
  return sha256Hex(canonicalJson(modelsUsed));
}

/** The parts of a component's idempotency key (R-ORC-3). */
export interface IdempotencyKeyParts {
  platform_id: string;
  video_id: string;
  component: string;
  /** Hash of the component's share of the effective config (see ORCHESTRATION_AND_CACHING.md). */
  config_hash: string;
  sampling_policy_version: string;
  producer_version: string;
  schema_version: string;
  model_signature: string;
  /** Keys of the components whose artifacts this one reads. */
  dependency_keys: readonly string[];
}

/** R-ORC-3: sha256 of the canonical JSON of the key parts. */
export function idempotencyKey(parts: IdempotencyKeyParts): string {
  return sha256Hex(canonicalJson(parts));
}

/**
 * Roles of the service's API keys (R-SEC-5), weakest first: read (GET only), submit (read + submit
 * and cancel runs), admin (submit + deletes and /metrics on the API port).
 */
export const API_KEY_ROLES = ['read', 'submit', 'admin'] as const;
