import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DataProcessorError,
  ERROR_CODES,
  canonicalJson,
  computeConfigHash,
  dataprocessorVersion,
  defaultRunId,
  defaultVideoId,
  toDataProcessorError,
  validateId,
} from './index.js';

describe('run identity (R-ID)', () => {
  it('config_hash is sha256 of canonical JSON: key order and whitespace do not matter, values do', () => {
    const a = { profile: 'default', components: { b: { x: 1, y: [1, 2] }, a: { z: 'é' } } };
    const b = JSON.parse(
      '{ "components": { "a": { "z": "é" }, "b": { "y": [1, 2], "x": 1 } }, "profile": "default" }',
    ) as unknown;
    expect(computeConfigHash(a)).toBe(computeConfigHash(b));
    expect(canonicalJson(a)).toBe('{"components":{"a":{"z":"é"},"b":{"x":1,"y":[1,2]}},"profile":"default"}');
    expect(computeConfigHash(a)).toBe(createHash('sha256').update(canonicalJson(a)).digest('hex'));
    expect(computeConfigHash({ ...a, profile: 'other' })).not.toBe(computeConfigHash(a));
  });

  it('dataprocessor_version is the package version plus the git commit when known', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    const { version, gitCommit } = dataprocessorVersion();
    expect(version.startsWith(pkg.version)).toBe(true);
    if (gitCommit) expect(version).toBe(`${pkg.version}+${gitCommit}`);
  });

  it('default ids are valid, sortable and content-derived', () => {
    const early = defaultRunId(new Date('2026-01-02T03:04:05Z'));
    const late = defaultRunId(new Date('2026-11-24T14:00:00Z'));
    expect(early).toMatch(/^20260102T030405Z-[0-9a-f]{6}$/);
    expect(early < late).toBe(true);
    expect(validateId('run_id', early)).toBe(early);
    expect(defaultVideoId('ab'.repeat(32))).toBe(`v-${'ab'.repeat(12)}`);
  });

  it('rejects traversal and malformed ids with INPUT_INVALID', () => {
    for (const bad of ['../x', 'a/b', '', 'x'.repeat(200), '..', '.', 'a\u0000b', 'é']) {
      expect(() => validateId('video_id', bad)).toThrow(DataProcessorError);
      try {
        validateId('video_id', bad);
      } catch (error) {
        expect((error as DataProcessorError).code).toBe('INPUT_INVALID');
        expect((error as DataProcessorError).exitCode).toBe(2);
      }
    }
    expect(validateId('video_id', 'x'.repeat(128))).toHaveLength(128);
  });
});

describe('error codes (R-ERR)', () => {
  it('contain the closed set of the spec with retryable flags', () => {
    for (const code of [
      'INPUT_UNREADABLE',
      'INPUT_TOO_SHORT',
      'INPUT_TOO_LONG',
      'INPUT_INVALID',
      'TOOL_MISSING',
      'DEPENDENCY_MISSING',
      'DEPENDENCY_TIMEOUT',
      'MODEL_NOT_FOUND',
      'MODEL_DIGEST_MISMATCH',
      'DEVICE_UNAVAILABLE',
      'OOM',
      'CONTRACT_VIOLATION',
      'STORAGE_IO',
      'TIMEOUT',
      'INTERNAL',
    ]) {
      expect(ERROR_CODES).toHaveProperty(code);
    }
    expect(ERROR_CODES.INPUT_UNREADABLE.exitCode).toBe(10);
    expect(ERROR_CODES.OOM.retryable).toBe(true);
    expect(ERROR_CODES.CONTRACT_VIOLATION.retryable).toBe(false);
  });

  it('wrap foreign errors without losing them', () => {
    const enospc = Object.assign(new Error('no space'), { code: 'ENOSPC' });
    expect(toDataProcessorError(enospc).code).toBe('STORAGE_IO');
    expect(toDataProcessorError(new Error('boom')).code).toBe('INTERNAL');
    expect(toDataProcessorError('text').message).toBe('text');
    const own = new DataProcessorError('TIMEOUT', 'slow');
    expect(toDataProcessorError(own)).toBe(own);
  });
});
