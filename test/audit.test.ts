// The auditor: a good run passes; hand-corrupted copies each fail the rule they break.
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditRun } from '../src/audit/index.js';
import { decodeNpz, encodeNpz } from '../src/contracts/index.js';
import { makeShotVideo, makeTempDir } from './support/media.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'dataprocessor.js');
const dir = makeTempDir('audit');
const store = join(dir, 'store');
const goodRun = join(store, 'local', 'v1', 'good');

/** A copy of the good run under another run id of the same store layout. */
function copyRun(name: string): string {
  const target = join(store, 'local', 'v1', name);
  rmSync(target, { recursive: true, force: true });
  cpSync(goodRun, target, { recursive: true });
  // The manifest and metas carry run_id "good"; rename consistently so only the injected fault differs.
  const manifestPath = join(target, 'manifest.json');
  writeFileSync(
    manifestPath,
    readFileSync(manifestPath, 'utf8').replaceAll('"good"', `"${name}"`).replaceAll(`/good"`, `/${name}"`),
  );
  for (const file of ['frames_dir/metadata.json', 'audio/metadata.json']) {
    const p = join(target, file);
    writeFileSync(p, readFileSync(p, 'utf8').replaceAll('"run_id":"good"', `"run_id":"${name}"`));
  }
  const listed = (
    JSON.parse(readFileSync(manifestPath, 'utf8')) as { components: { artifacts: { path: string }[] }[] }
  ).components
    .flatMap((c) => c.artifacts.map((a) => a.path))
    .filter((p) => p.endsWith('.npz'));
  for (const npz of listed) rewriteNpz(target, npz, (meta) => ({ ...meta, run_id: name }));
  refreshDigests(target);
  return target;
}

/** Rewrites an NPZ's meta (the manifest's digests then disagree until refreshDigests). */
function rewriteNpz(
  runDir: string,
  rel: string,
  change: (meta: Record<string, unknown>) => Record<string, unknown>,
): void {
  const path = join(runDir, rel);
  const npz = decodeNpz(readFileSync(path));
  writeFileSync(path, encodeNpz(npz.arrays, change(npz.meta)));
}

/** Recomputes the manifest's sha256/bytes of every artifact, so only the injected fault differs. */
function refreshDigests(runDir: string): void {
  const manifestPath = join(runDir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    components: { artifacts: { path: string; sha256: string; bytes: number }[] }[];
  };
  for (const a of manifest.components.flatMap((c) => c.artifacts)) {
    const bytes = readFileSync(join(runDir, a.path));
    a.sha256 = createHash('sha256').update(bytes).digest('hex');
    a.bytes = bytes.length;
  }
  writeFileSync(manifestPath, JSON.stringify(manifest));
}

function failedRules(report: Awaited<ReturnType<typeof auditRun>>): string[] {
  return report.rules.filter((r) => !r.pass).map((r) => r.id);
}

beforeAll(() => {
  const video = join(dir, 'v.mp4');
  makeShotVideo(video, { shotSeconds: [3, 3], toneDbfs: -20 });
  const r = spawnSync(
    process.execPath,
    [BIN, 'run', video, '--out', store, '--video-id', 'v1', '--run-id', 'good'],
    { encoding: 'utf8' },
  );
  expect(r.status, r.stderr).toBe(0);
});

describe('dataprocessor audit', () => {
  it('passes a good run, and a renamed copy of it', async () => {
    expect(failedRules(await auditRun(goodRun))).toEqual([]);
    expect(failedRules(await auditRun(copyRun('copy')))).toEqual([]);
  });

  it('fails npz.meta when dataprocessor_version is missing from a meta', async () => {
    const run = copyRun('noversion');
    rewriteNpz(run, 'loudness_extractor/loudness.npz', ({ dataprocessor_version: _drop, ...rest }) => rest);
    refreshDigests(run);
    const failed = failedRules(await auditRun(run));
    expect(failed).toContain('npz.meta');
    expect(failed).toContain('identity.agreement');
  });

  it('fails identity.agreement when one meta has another run_id', async () => {
    const run = copyRun('mismatch');
    rewriteNpz(run, 'cut_detection/cut_detection.npz', (meta) => ({ ...meta, run_id: 'other' }));
    refreshDigests(run);
    const report = await auditRun(run);
    expect(failedRules(report)).toEqual(['identity.agreement']);
    expect(report.rules.find((r) => r.id === 'identity.agreement')?.evidence.join('\n')).toContain(
      'run_id="other"',
    );
  });

  it('fails store.layout when an extra JSON result file is present', async () => {
    const run = copyRun('extrajson');
    writeFileSync(join(run, 'cut_detection', 'cuts.json'), '{"cuts":[100]}');
    expect(failedRules(await auditRun(run))).toEqual(['store.layout']);
  });

  it('fails frames.union when a component index is out of range', async () => {
    const run = copyRun('outofrange');
    const path = join(run, 'frames_dir', 'metadata.json');
    const meta = JSON.parse(readFileSync(path, 'utf8')) as {
      metadata: Record<string, { frame_indices: number[] }>;
    };
    const cut = meta.metadata.cut_detection;
    if (cut) cut.frame_indices[cut.frame_indices.length - 1] = 99_999;
    writeFileSync(path, JSON.stringify(meta));
    refreshDigests(run);
    const failed = failedRules(await auditRun(run));
    expect(failed).toContain('frames.union');
  });

  it('fails manifest.artifacts when an artifact was changed after the manifest was written', async () => {
    const run = copyRun('tampered');
    rewriteNpz(run, 'loudness_extractor/loudness.npz', (meta) => ({ ...meta, note: 'changed' }));
    expect(failedRules(await auditRun(run))).toEqual(['manifest.artifacts']);
  });

  it('fails privacy.no_raw_text when a meta holds a transcript', async () => {
    const run = copyRun('rawtext');
    rewriteNpz(run, 'loudness_extractor/loudness.npz', (meta) => ({ ...meta, transcript: 'hello' }));
    refreshDigests(run);
    expect(failedRules(await auditRun(run))).toEqual(['privacy.no_raw_text']);
  });

  it('the CLI prints PASS/FAIL per rule and exits 1 on FAIL', () => {
    const run = join(store, 'local', 'v1', 'extrajson');
    const r = spawnSync(process.execPath, [BIN, 'audit', run], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL store\.layout/);
    expect(r.stdout).toMatch(/PASS identity\.agreement/);
    expect(r.stdout).toContain('cut_detection/cuts.json is not an allowed result file');
  });
});
