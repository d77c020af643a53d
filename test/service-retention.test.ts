// The storage lifecycle in `dataprocessor serve` (R-PRV-3): DELETE /api/videos/:platform_id/:video_id
// needs an admin key of the video's tenant (another tenant: 404; a read key: 403), removes the
// video and logs the deletion with the key as the requester; the periodic GC job runs and logs
// counts only (no ids or paths).
import { mkdirSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalResultStore, readDeletionLog } from '../src/storage/index.js';
import { makeTempDir } from './support/media.js';
import { createKey, curl, spawnService, waitFor, type ServiceProcess } from './support/service.js';

const dir = makeTempDir('service-retention');
const db = join(dir, 'service.sqlite');
const store = join(dir, 'store');
let service: ServiceProcess;
let admin: string;
let reader: string;
let otherAdmin: string;

beforeAll(async () => {
  mkdirSync(join(store, 'acme', 'vid1', 'r1', 'loudness_extractor'), { recursive: true });
  writeFileSync(
    join(store, 'acme', 'vid1', 'r1', 'loudness_extractor', 'loudness_extractor.npz'),
    'x'.repeat(100),
  );
  // Debris of an interrupted write, two hours old: the first GC pass removes it.
  const debris = join(store, 'acme', 'vid2', 'r1', '.tmp-manifest.json-abc');
  mkdirSync(join(store, 'acme', 'vid2', 'r1'), { recursive: true });
  writeFileSync(debris, 'partial');
  const old = new Date(Date.now() - 2 * 3_600_000);
  utimesSync(debris, old, old);
  admin = createKey(db, 'acme', 'admin');
  reader = createKey(db, 'acme', 'read');
  otherAdmin = createKey(db, 'globex', 'admin');
  // GC every 0.0005 h (1.8 s).
  service = await spawnService([
    'serve',
    '--port',
    '0',
    '--db',
    db,
    '--out',
    store,
    '--concurrency',
    '0',
    '--gc-interval-hours',
    '0.0005',
  ]);
}, 120_000);

afterAll(async () => {
  await service?.stop();
});

const del = (key: string, path: string): ReturnType<typeof curl> =>
  curl(['-X', 'DELETE', '-H', `authorization: Bearer ${key}`, `${service.url}${path}`]);

describe('serve: storage lifecycle', () => {
  it('deletes a video for an admin key of its tenant only, and records who asked', async () => {
    expect((await del(reader, '/api/videos/acme/vid1')).status).toBe(403);
    expect((await del(otherAdmin, '/api/videos/acme/vid1')).status).toBe(404);
    expect((await del(admin, '/api/videos/acme/-bad')).status).toBe(400);
    expect(existsSync(join(store, 'acme', 'vid1', 'r1'))).toBe(true);

    const deleted = await del(admin, '/api/videos/acme/vid1');
    expect(deleted.status).toBe(200);
    expect(deleted.json()).toMatchObject({
      platform_id: 'acme',
      video_id: 'vid1',
      runs: ['r1'],
      files: 1,
      bytes: 100,
    });
    expect(existsSync(join(store, 'acme', 'vid1'))).toBe(false);
    const log = await readDeletionLog(new LocalResultStore(store));
    expect(log.map((r) => r.requested_by)).toEqual([expect.stringMatching(/^api:acme\//)]);
  }, 60_000);

  it('runs retention GC periodically and logs counts only', async () => {
    const debris = join(store, 'acme', 'vid2', 'r1', '.tmp-manifest.json-abc');
    await waitFor('GC to remove the debris', () => Promise.resolve(existsSync(debris) ? null : true), 30_000);
    const line = await waitFor(
      'the GC log line',
      () => Promise.resolve(service.lines.find((l) => l.includes('"event":"retention_gc"')) ?? null),
      30_000,
    );
    expect(line).toMatch(/"files_removed":\d+/);
    expect(line).not.toMatch(/vid2|acme/);
  }, 60_000);
});
