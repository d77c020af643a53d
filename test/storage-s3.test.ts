// The S3 result store (R-ST-4) against a real S3-protocol server on loopback (s3rver): the default
// profile's run, its cached re-run (server-side copies) and the audit, all through the bucket; a
// kill -9 mid-run leaves a bucket manifest naming only objects that exist with their sha256, and
// --resume completes it; multipart uploads; retries with backoff ending in STORAGE_IO.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataProcessorError } from '../src/contracts/index.js';
import { openResultStore, parseS3Uri, type S3ResultStore } from '../src/storage/index.js';
import { makeTempDir, ffmpeg } from './support/media.js';
import { loadNpzWithNumpy } from './support/numpy.js';
import { startS3, type TestS3 } from './support/s3.js';
import { IDS, baseManifest, componentEntry } from './storage/fixtures.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'dataprocessor.js');
const dir = makeTempDir('s3');
const video = join(dir, 'v.mp4');
let s3: TestS3;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: Record<string, unknown>[];
  stderr: string;
}

/** Runs the built CLI; `killWhen` sends SIGKILL once an event matches. */
function cli(args: string[], killWhen?: (event: Record<string, unknown>) => boolean): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...s3.env, NO_COLOR: '1' },
    });
    const events: Record<string, unknown>[] = [];
    let stderr = '';
    let buffered = '';
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{"')) continue; // one event a line (never a pretty-printed report)
        const event = JSON.parse(line) as Record<string, unknown>;
        events.push(event);
        if (killWhen?.(event)) child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, events, stderr }));
  });
}

const SHORT = ['--set', 'segmenter.min_duration_sec=1', '--json'];

function finished(outcome: Outcome): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    outcome.events.filter((e) => e.type === 'stage_finished').map((e) => [e.stage as string, e]),
  );
}

function runUri(storeUri: string, ids: string): string {
  return storeUri.replace('/store?', `/store/${ids}?`);
}

beforeAll(async () => {
  s3 = await startS3();
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=s=320x180:r=25,trim=duration=3',
    '-f',
    'lavfi',
    '-i',
    'sine=f=440:d=3',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    video,
  ]);
}, 60_000);

afterAll(async () => {
  await s3.close();
});

describe('S3 result store', () => {
  it('runs the default profile into the bucket, re-runs it from the cache by server-side copies, and audits both from S3', async () => {
    const uri = await s3.storeUri('acceptance');
    const first = await cli(['run', video, '--out', uri, '--video-id', 'vid', '--run-id', 'r1', ...SHORT]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const stages = finished(first);
    expect(Object.keys(stages).length).toBeGreaterThanOrEqual(8);
    expect(Object.values(stages).every((e) => e.cache_hit === false)).toBe(true);

    const keys = await s3.keys('acceptance', 'store/local/vid/r1/');
    expect(keys).toContain('store/local/vid/r1/manifest.json');
    expect(keys.some((k) => k.includes('/frames_dir/batch_'))).toBe(true);

    // Every artifact the bucket's manifest lists is in the bucket with its sha256; one NPZ read by numpy.
    const store = (await openResultStore(uri)) as S3ResultStore;
    const runDir = store.runDir('local', 'vid', 'r1');
    const manifest = (await store.readManifest(runDir))!;
    expect(manifest.run.status).toBe('ok');
    expect(manifest.run.root_path).toBe('s3://acceptance/store/local/vid/r1/');
    for (const artifact of manifest.components.flatMap((c) => c.artifacts)) {
      const bytes = (await store.readFile(runDir, artifact.path))!;
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(artifact.sha256);
    }
    const loudness = join(dir, 'loudness.npz');
    const loudnessPath = manifest.components.find((c) => c.name === 'loudness_extractor')!.artifacts[0]!.path;
    writeFileSync(loudness, (await store.readFile(runDir, loudnessPath))!);
    expect(loadNpzWithNumpy(loudness).meta.run_id).toBe('r1');

    const second = await cli(['run', video, '--out', uri, '--video-id', 'vid', '--run-id', 'r2', ...SHORT]);
    expect(second.code).toBe(0);
    const hits = finished(second);
    expect(Object.keys(hits).sort()).toEqual(Object.keys(stages).sort());
    for (const [name, e] of Object.entries(hits))
      if (stages[name]?.status !== 'skipped') expect(e.cache_hit, name).toBe(true);

    for (const run of ['r1', 'r2']) {
      const audit = await cli(['audit', runUri(uri, `local/vid/${run}`)]);
      expect(audit.stderr).toBe('');
      expect(audit.code, run).toBe(0);
    }
  }, 400_000);

  it('after kill -9 mid-run, the bucket manifest names only objects that exist with their sha256, and --resume completes the run', async () => {
    const uri = await s3.storeUri('killed');
    const args = [
      'run',
      video,
      '--out',
      uri,
      '--video-id',
      'vid',
      '--run-id',
      'r1',
      '--components',
      'cut_detection,loudness_extractor,tempo_extractor',
      ...SHORT,
    ];
    const killed = await cli(args, (e) => e.type === 'stage_finished' && e.stage === 'segmenter');
    expect(killed.signal).toBe('SIGKILL');

    const store = await openResultStore(uri);
    const runDir = store.runDir('local', 'vid', 'r1');
    const manifest = (await store.readManifest(runDir))!;
    expect(manifest.run.status).toBe('running');
    const listed = manifest.components.flatMap((c) => c.artifacts);
    for (const artifact of listed) {
      const bytes = await store.readFile(runDir, artifact.path);
      expect(bytes, artifact.path).not.toBeNull();
      expect(createHash('sha256').update(bytes!).digest('hex'), artifact.path).toBe(artifact.sha256);
    }

    const resumed = await cli([...args, '--resume']);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect((await store.readManifest(runDir))!.run.status).toBe('ok');
    const audit = await cli(['audit', runUri(uri, 'local/vid/r1')]);
    expect(audit.code).toBe(0);
  }, 300_000);

  it('retention GC and delete work on the bucket: frames expire (the run still audits from S3), delete leaves no object of the video', async () => {
    const uri = await s3.storeUri('lifecycle');
    const run = await cli([
      'run',
      video,
      '--out',
      uri,
      '--video-id',
      'vid',
      '--run-id',
      'r1',
      '--components',
      'cut_detection,loudness_extractor',
      ...SHORT,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const isFrame = (k: string): boolean => k.includes('/frames_dir/') && !k.endsWith('/metadata.json');
    expect((await s3.keys('lifecycle', 'store/local/vid/r1/')).filter(isFrame).length).toBeGreaterThan(0);

    const week = new Date(Date.now() + 8 * 86_400_000).toISOString();
    const gc = await cli(['gc', '--out', uri, '--json', '--now', week]);
    expect(gc.code, gc.stderr).toBe(0);
    expect((gc.events[0]?.actions as { kind: string }[]).map((a) => a.kind)).toEqual(['frames']);
    const after = await s3.keys('lifecycle', 'store/local/vid/r1/');
    expect(after.filter(isFrame)).toEqual([]);
    expect(after).toContain('store/local/vid/r1/frames_dir/metadata.json');
    const audit = await cli(['audit', runUri(uri, 'local/vid/r1')]);
    expect(audit.code, audit.stderr).toBe(0);

    const deleted = await cli([
      'delete',
      '--out',
      uri,
      '--platform-id',
      'local',
      '--video-id',
      'vid',
      '--json',
    ]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.events[0]).toMatchObject({ runs: ['r1'], video_id: 'vid' });
    expect(await s3.keys('lifecycle', 'store/local/vid/')).toEqual([]);
    expect((await s3.keys('lifecycle', 'store/_admin/')).map((k) => k.split('/').slice(2, 3)[0])).toEqual([
      'deletion-log',
      'tombstones',
    ]);
  }, 200_000);

  it('uploads large objects in parts and reads them back verified', async () => {
    const uri = await s3.storeUri('multipart', 'store', '&multipart_mb=5&part_mb=5');
    const store = await openResultStore(uri);
    const runDir = store.runDir('local', 'vid', 'r1');
    await store.createRun(runDir);
    const bytes = new Uint8Array(11 * 1024 * 1024).map((_, i) => (i * 7) % 251);
    const stored = await store.writeArtifact(runDir, 'frames_dir/batch_00000.npy', bytes);
    expect(stored.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(await s3.keys('multipart')).toEqual(['store/local/vid/r1/frames_dir/batch_00000.npy']);
    // A fresh store (another process) downloads it, checking the sha256 recorded at upload.
    const reader = await openResultStore(uri.replace('mirror-multipart', 'mirror-multipart-2'));
    const readerRun = reader.runDir('local', 'vid', 'r1');
    expect(await reader.verifyArtifacts(readerRun, [{ ...stored, type: 'npy' } as never])).toEqual([]);
    const path = await reader.localFile(readerRun, 'frames_dir/batch_00000.npy');
    expect(path).toContain('mirror-multipart-2');
  }, 60_000);

  it('frames=end keeps frame batches local and the bucket manifest back until the run ends', async () => {
    const uri = await s3.storeUri('frames-end', 'store', '&frames=end');
    const store = await openResultStore(uri);
    const runDir = store.runDir(IDS.platformId, IDS.videoId, IDS.runId);
    const prefix = `store/${IDS.platformId}/${IDS.videoId}/${IDS.runId}/`;
    await store.createRun(runDir);
    await store.updateManifest(runDir, {}, baseManifest(runDir));
    const batch = await store.writeArtifact(
      runDir,
      'frames_dir/batch_00000.npy',
      new Uint8Array(1000).fill(7),
    );
    const entry = componentEntry('segmenter', [{ ...batch, type: 'npy' }]);
    await store.updateManifest(runDir, { components: [entry] });
    // While running: the batch is only local, and the bucket's manifest does not name it yet.
    expect(await s3.keys('frames-end', prefix)).toEqual([`${prefix}manifest.json`]);
    const remote = await openResultStore(uri.replace('mirror-frames-end', 'mirror-frames-end-2'));
    expect(
      (await remote.readManifest(remote.runDir(IDS.platformId, IDS.videoId, IDS.runId)))!.components,
    ).toEqual([]);
    await store.updateManifest(runDir, { run: { status: 'ok' } });
    expect(await s3.keys('frames-end', prefix)).toEqual([
      `${prefix}frames_dir/batch_00000.npy`,
      `${prefix}manifest.json`,
    ]);
    const final = (await remote.readManifest(remote.runDir(IDS.platformId, IDS.videoId, IDS.runId)))!;
    expect(final.run.status).toBe('ok');
    expect(
      await remote.verifyArtifacts(
        remote.runDir(IDS.platformId, IDS.videoId, IDS.runId),
        final.components[0]!.artifacts,
      ),
    ).toEqual([]);
  }, 60_000);

  it('retries 5xx with backoff, then fails with STORAGE_IO', async () => {
    let requests = 0;
    const server = createServer((req, res) => {
      requests += 1;
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    try {
      const uri = `s3://busy-bucket/store?endpoint=http://127.0.0.1:${port}&max_attempts=3&mirror=${encodeURIComponent(join(dir, 'busy'))}`;
      expect(parseS3Uri(uri).maxAttempts).toBe(3);
      const error = await openResultStore(uri).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DataProcessorError);
      expect((error as DataProcessorError).code).toBe('STORAGE_IO');
      expect((error as DataProcessorError).retryable).toBe(true);
      // Three attempts reached the server: the SDK retried. (Its backoff is full jitter — a random
      // delay — so the elapsed time is not asserted: CI once saw 47 ms for two waits.)
      expect(requests).toBe(3);
    } finally {
      server.close();
    }
  }, 60_000);

  it('rejects bad store URIs before any request (INPUT_INVALID)', () => {
    for (const bad of [
      's3://UPPER/x',
      's3://bkt/a/../b',
      's3://bkt/x?bogus=1',
      's3://key:secret@bkt/x',
      's3://bkt/x?frames=later',
    ])
      expect(() => parseS3Uri(bad), bad).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
  });
});
