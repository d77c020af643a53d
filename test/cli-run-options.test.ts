// `run` as a user drives it: an ad-hoc component selection, a device for every model component,
// config overrides with --set, and a VideoDocument — through the real CLI on a generated video.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../src/contracts/index.js';
import { makeShotVideo, makeTempDir } from './support/media.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'dataprocessor.js');
const dir = makeTempDir('cli-run-options');
const video = join(dir, 'v.mp4');
const store = join(dir, 'store');

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 180_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const manifestOf = (runId: string): Manifest =>
  JSON.parse(readFileSync(join(store, 'local', 'v', runId, 'manifest.json'), 'utf8')) as Manifest;

beforeAll(() => {
  makeShotVideo(video, { width: 160, height: 90, shotSeconds: [3, 3], toneDbfs: -20 });
});

describe('run --components', () => {
  it('runs the Segmenter and the named component only, and records the selection', () => {
    const r = cli([
      'run',
      video,
      '--out',
      store,
      '--video-id',
      'v',
      '--run-id',
      'cuts',
      '--components',
      'cut_detection',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const manifest = manifestOf('cuts');
    expect(manifest.components.map((c) => [c.name, c.status])).toEqual([
      ['segmenter', 'ok'],
      ['cut_detection', 'ok'],
    ]);
    expect(manifest.run.selection).toEqual(['cut_detection']);
  });

  it('an unknown component exits 2 naming it and the known ones; nothing is created', () => {
    const r = cli([
      'run',
      video,
      '--out',
      store,
      '--video-id',
      'v',
      '--run-id',
      'nope',
      '--components',
      'cut_detector',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cut_detector.*known: .*cut_detection/);
    expect(existsSync(join(store, 'local', 'v', 'nope'))).toBe(false);
  });
});

describe('run --device', () => {
  it('cuda:0 fails every model component with DEVICE_UNAVAILABLE in the manifest and exits 1', () => {
    const r = cli([
      'run',
      video,
      '--out',
      store,
      '--video-id',
      'v',
      '--run-id',
      'cuda',
      '--device',
      'cuda:0',
      '--json',
    ]);
    expect(r.code).toBe(1);
    const manifest = manifestOf('cuda');
    const byName = new Map(manifest.components.map((c) => [c.name, c]));
    for (const name of ['core_face_landmarks', 'core_object_detections', 'ocr']) {
      const entry = byName.get(name);
      // The first model component to be scheduled fails; after a required failure the rest are skipped.
      expect(['error', 'skipped']).toContain(entry?.status);
      if (entry?.status === 'error') expect(entry.error_code).toBe('DEVICE_UNAVAILABLE');
    }
    expect([...byName.values()].some((c) => c.error_code === 'DEVICE_UNAVAILABLE')).toBe(true);
    expect(manifest.run).toMatchObject({ status: 'error', error_code: 'DEVICE_UNAVAILABLE' });
  });

  it('a device that is no device exits 2', () => {
    const r = cli(['run', video, '--out', store, '--video-id', 'v', '--device', 'gpu']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--device must be cpu, auto or cuda:N/);
  });
});

describe('run --set', () => {
  it('an unknown key exits 2 naming the key and the keys that exist', () => {
    const r = cli(['run', video, '--out', store, '--video-id', 'v', '--set', 'cut_detection.threshold=0.4']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cut_detection\.threshold/);
    expect(r.stderr).toMatch(/cut_detection has: .*cut_threshold/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // one-line error, no stack trace
  });

  it('a wrongly typed value exits 2 naming the key and what it expects', () => {
    const r = cli([
      'run',
      video,
      '--out',
      store,
      '--video-id',
      'v',
      '--set',
      'cut_detection.cut_threshold=high',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cut_detection\.cut_threshold: .*expected number/);
  });

  it('a valid value is applied and changes the config hash and only that component’s key', () => {
    const base = cli([
      'run',
      video,
      '--out',
      store,
      '--video-id',
      'v',
      '--run-id',
      'set-a',
      '--components',
      'cut_detection,loudness_extractor',
      '--json',
    ]);
    const changed = cli([
      'run',
      video,
      '--out',
      store,
      '--video-id',
      'v',
      '--run-id',
      'set-b',
      '--components',
      'cut_detection,loudness_extractor',
      '--set',
      'cut_detection.cut_threshold=0.9',
      '--json',
    ]);
    expect(base.code, base.stderr).toBe(0);
    expect(changed.code, changed.stderr).toBe(0);
    const [a, b] = [manifestOf('set-a'), manifestOf('set-b')];
    expect(a.run.config_hash).not.toBe(b.run.config_hash);
    const key = (m: Manifest, name: string) => m.components.find((c) => c.name === name)?.idempotency_key;
    expect(key(a, 'loudness_extractor')).toBe(key(b, 'loudness_extractor'));
    expect(key(a, 'cut_detection')).not.toBe(key(b, 'cut_detection'));
    expect(b.components.find((c) => c.name === 'loudness_extractor')?.cache_hit).toBe(true);
  });

  it('a malformed --set and a --set for a component outside the run exit 2', () => {
    expect(cli(['run', video, '--out', store, '--set', 'cut_threshold=0.4']).stderr).toMatch(
      /section\.key=value/,
    );
    const r = cli([
      'run',
      video,
      '--out',
      store,
      '--components',
      'cut_detection',
      '--set',
      'ocr.max_lines=3',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ocr, which is not in this run/);
  });
});

describe('run --document', () => {
  it('an invalid document exits 2 with the field path, never its text', () => {
    const doc = join(dir, 'bad.json');
    writeFileSync(doc, JSON.stringify({ title: 'Secret canary title 9X', tags: 'not-a-list' }));
    const r = cli(['run', video, '--out', store, '--video-id', 'v', '--document', doc]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tags/);
    expect(r.stderr).not.toContain('canary');
  });

  it('a missing document exits 2', () => {
    const r = cli(['run', video, '--out', store, '--document', join(dir, 'none.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--document .* cannot be read/);
  });
});
