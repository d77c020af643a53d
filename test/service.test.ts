// `dataprocessor serve` on a fresh database with the embedded queue, driven with curl the way an
// operator would (R-SVC-1/2/4, R-SEC-5): keys, submit, status, SSE, artifacts (sha256-checked),
// the run passes `dataprocessor audit`, tenants are isolated, and a canary in the submitted
// document reaches no log line, metric or error body.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProfileStore, type Profile } from '../src/orchestrator/index.js';
import { makeShotVideo, makeTempDir } from './support/media.js';
import { BIN, createKey, curl, spawnService, waitFor, type ServiceProcess } from './support/service.js';

const SIGNALS: Profile = {
  name: 'service-signals',
  description: 'loudness, tempo and cut detection (fast)',
  generation: 'baseline',
  components: [
    { name: 'loudness_extractor', required: true },
    { name: 'tempo_extractor', required: true },
    { name: 'cut_detection', required: true },
  ],
};
const CANARY = 'CANARY-7f3e9b21-do-not-log';

const dir = makeTempDir('service');
const db = join(dir, 'service.sqlite');
const store = join(dir, 'store');
const media = join(dir, 'media');
const video = join(media, 'clip.mp4');
const short = join(media, 'short.mp4');
let service: ServiceProcess;
let acme: string;
let acmeAdmin: string;
let acmeReader: string;
let other: string;

interface Status {
  run_id: string;
  video_id: string | null;
  state: string;
  components: Record<string, { status: string; done: number; total: number }>;
  error_code: string | null;
}

beforeAll(async () => {
  execFileSync('mkdir', ['-p', media, store]);
  makeShotVideo(video, { width: 320, height: 180, shotSeconds: [3, 3], toneDbfs: -20 });
  makeShotVideo(short, { width: 160, height: 90, shotSeconds: [2], toneDbfs: -20 });
  const profiles = ProfileStore.open(db);
  profiles.saveUserProfile(SIGNALS);
  profiles.close();
  acme = createKey(db, 'acme', 'submit');
  acmeAdmin = createKey(db, 'acme', 'admin');
  acmeReader = createKey(db, 'acme', 'read');
  other = createKey(db, 'globex', 'admin');
  service = await spawnService(['serve', '--port', '0', '--db', db, '--out', store, '--allow-root', media]);
});

afterAll(async () => {
  await service?.stop();
});

const auth = (key: string): string[] => ['-H', `authorization: Bearer ${key}`];
const submit = (key: string, body: Record<string, unknown>): ReturnType<typeof curl> =>
  curl([
    ...auth(key),
    '-H',
    'content-type: application/json',
    '--data',
    JSON.stringify(body),
    `${service.url}/api/runs`,
  ]);

describe('dataprocessor serve (embedded queue)', () => {
  it('answers liveness and readiness without a key, and nothing else', async () => {
    expect((await curl([`${service.url}/health/live`])).status).toBe(200);
    const health = await curl([`${service.url}/health`]);
    expect(health.status).toBe(200);
    expect(Object.keys(health.json<{ checks: object }>().checks).sort()).toEqual([
      'model_store',
      'queue',
      'storage',
    ]);
    for (const path of ['/api/runs', '/api/profiles', '/openapi.json', '/metrics'])
      expect((await curl([`${service.url}${path}`])).status, path).toBe(401);
    expect(
      (await curl([...auth('dpk_0000000000000000_' + 'x'.repeat(43)), `${service.url}/api/runs`])).status,
    ).toBe(401);
    // A read key cannot submit; a submit key cannot scrape metrics on the API port.
    expect((await submit(acmeReader, { video_path: video })).status).toBe(403);
    expect((await curl([...auth(acme), `${service.url}/metrics`])).status).toBe(403);
  });

  it('refuses bad submissions at once, queueing nothing', async () => {
    const outside = await submit(acme, { video_path: '/etc/passwd' });
    expect(outside.status).toBe(400);
    expect(outside.json<{ error_code: string }>().error_code).toBe('INPUT_INVALID');
    const tooShort = await submit(acme, {
      video_path: short,
      profile: SIGNALS.name,
      document: { comments: [{ text: CANARY }] },
    });
    expect(tooShort.status).toBe(422);
    expect(tooShort.json<{ error_code: string }>().error_code).toBe('INPUT_TOO_SHORT');
    expect(tooShort.body).not.toContain(CANARY);
    const unknownField = await submit(acme, { video_path: video, colour: CANARY });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body).not.toContain(CANARY);
    const foreignPlatform = await submit(acme, { video_path: video, platform_id: 'globex' });
    expect(foreignPlatform.status).toBe(400);
    const list = await curl([...auth(acme), `${service.url}/api/runs`]);
    expect(list.json<{ runs: unknown[] }>().runs).toEqual([]);
  });

  it('runs a submitted video to ok; artifacts download with their sha256; the run passes audit', async () => {
    const submitted = await submit(acme, {
      video_path: video,
      profile: SIGNALS.name,
      run_id: 'svc-run-1',
      document: { title: 't', comments: [{ text: CANARY }] },
    });
    expect(submitted.status, submitted.body).toBe(202);
    expect(submitted.json<{ run_id: string; state: string }>()).toMatchObject({
      run_id: 'svc-run-1',
      state: 'queued',
    });
    const again = await submit(acme, { video_path: video, profile: SIGNALS.name, run_id: 'svc-run-1' });
    expect(again.status).toBe(409);

    const status = await waitFor('the run to finish', async () => {
      const s = (await curl([...auth(acme), `${service.url}/api/runs/svc-run-1`])).json<Status>();
      return ['ok', 'error', 'cancelled'].includes(s.state) ? s : null;
    });
    expect(status.state, JSON.stringify(status)).toBe('ok');
    expect(Object.keys(status.components).sort()).toEqual([
      'cut_detection',
      'loudness_extractor',
      'segmenter',
      'tempo_extractor',
    ]);
    for (const [name, c] of Object.entries(status.components)) expect(c.status, name).toBe('ok');
    // The SPEC's `/status` route answers the same.
    expect(
      (await curl([...auth(acme), `${service.url}/api/runs/svc-run-1/status`])).json<Status>().state,
    ).toBe('ok');

    // Another tenant cannot tell the run exists.
    const foreign = await curl([...auth(other), `${service.url}/api/runs/svc-run-1`]);
    expect(foreign.status).toBe(404);
    expect((await curl([...auth(other), `${service.url}/api/runs/svc-run-1/artifacts`])).status).toBe(404);
    expect(
      (await curl([...auth(other), `${service.url}/api/runs`])).json<{ runs: unknown[] }>().runs,
    ).toEqual([]);

    const listing = (await curl([...auth(acmeReader), `${service.url}/api/runs/svc-run-1/artifacts`])).json<{
      artifacts: { component: string; path: string; sha256: string; bytes: number }[];
    }>().artifacts;
    const loudness = listing.find((a) => a.path === 'loudness_extractor/loudness.npz');
    expect(loudness).toBeDefined();
    expect(listing.some((a) => a.component === 'segmenter' && a.path.endsWith('.npy'))).toBe(true);
    const out = join(dir, 'downloaded.npz');
    const download = await curl([
      ...auth(acmeReader),
      '-o',
      out,
      `${service.url}/api/runs/svc-run-1/artifacts/${loudness?.path}`,
    ]);
    expect(download.status).toBe(200);
    const bytes = readFileSync(out);
    const digest = createHash('sha256').update(bytes).digest('hex');
    expect(digest).toBe(loudness?.sha256);
    expect(download.headers['x-content-sha256']).toBe(digest);
    expect(bytes.length).toBe(loudness?.bytes);
    expect(
      (await curl([...auth(acme), `${service.url}/api/runs/svc-run-1/artifacts/../../manifest.json`])).status,
    ).toBe(404);

    const manifest = (await curl([...auth(acme), `${service.url}/api/runs/svc-run-1/manifest`])).json<{
      run: { run_id: string; status: string; platform_id: string; video_id: string };
    }>();
    expect(manifest.run).toMatchObject({ run_id: 'svc-run-1', status: 'ok', platform_id: 'acme' });
    const runDir = join(store, 'acme', manifest.run.video_id, 'svc-run-1');
    const audit = JSON.parse(
      execFileSync(process.execPath, [BIN, 'audit', runDir, '--json'], { encoding: 'utf8' }),
    ) as {
      pass: boolean;
    };
    expect(audit.pass).toBe(true);

    // Server-sent events of a finished run: its final status, then the stream ends.
    const events = await curl([...auth(acme), '-N', `${service.url}/api/runs/svc-run-1/events`]);
    expect(events.headers['content-type']).toContain('text/event-stream');
    const data = events.body.split('\n').filter((l) => l.startsWith('data: '));
    expect(data).toHaveLength(1);
    expect((JSON.parse(data[0]?.slice(6) ?? '{}') as Status).state).toBe('ok');
  });

  it('uploads a video as multipart, streamed to disk, and lists runs by state', async () => {
    const upload = await curl([
      ...auth(acme),
      '-F',
      `video=@${video}`,
      '-F',
      `profile=${SIGNALS.name}`,
      '-F',
      'run_id=svc-upload',
      '-F',
      'priority=5',
      `${service.url}/api/runs`,
    ]);
    expect(upload.status, upload.body).toBe(202);
    const done = await waitFor('the upload run', async () => {
      const s = (await curl([...auth(acme), `${service.url}/api/runs/svc-upload`])).json<Status>();
      return s.state === 'running' || s.state === 'queued' ? null : s;
    });
    expect(done.state).toBe('ok');
    const ok = (await curl([...auth(acme), `${service.url}/api/runs?state=ok&limit=1`])).json<{
      runs: Status[];
      next: string | null;
    }>();
    expect(ok.runs).toHaveLength(1);
    expect(ok.next).not.toBeNull();
    const page2 = (
      await curl([...auth(acme), `${service.url}/api/runs?state=ok&limit=1&cursor=${ok.next}`])
    ).json<{ runs: Status[]; next: string | null }>();
    expect([ok.runs[0]?.run_id, page2.runs[0]?.run_id].sort()).toEqual(['svc-run-1', 'svc-upload']);
    expect(page2.next).toBeNull();
  });

  it('serves profiles, the OpenAPI document and metrics without ids or canaries', async () => {
    const profiles = (await curl([...auth(acmeReader), `${service.url}/api/profiles`])).json<{
      profiles: { name: string }[];
    }>();
    expect(profiles.profiles.map((p) => p.name)).toContain(SIGNALS.name);
    const openapi = (await curl([...auth(acmeReader), `${service.url}/openapi.json`])).json<{
      openapi: string;
      paths: Record<string, unknown>;
    }>();
    expect(openapi.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        '/api/runs',
        '/api/runs/{run_id}',
        '/api/runs/{run_id}/artifacts',
        '/api/profiles',
        '/api/queue',
      ]),
    );
    // Queue and workers (all tenants, numbers only): serve's one in-process worker, one slot.
    const load = await curl([...auth(acmeReader), `${service.url}/api/queue`]);
    expect(load.json()).toEqual({ queued: 0, running: 0, workers: 1, slots: 1 });
    expect((await curl([`${service.url}/api/queue`])).status).toBe(401);
    const metrics = await curl([...auth(acmeAdmin), `${service.url}/metrics`]);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^runs_total\{status="ok"\} 2$/m);
    expect(metrics.body).toMatch(/^queue_length\{state="ok"\} 2$/m);
    // The upload is the same video with the same config: its stages are cache hits, not computed.
    expect(metrics.body).toMatch(/^component_duration_seconds_count\{component="loudness_extractor"\} 1$/m);
    expect(metrics.body).toMatch(/^cache_hits_total\{component="loudness_extractor"\} 1$/m);
    expect(metrics.body).toMatch(/^batch_size_count\{component="cut_detection",scope="video"\} 2$/m);
    for (const name of ['errors_total', 'cache_hits_total', 'oom_retries_total', 'webhook_deliveries_total'])
      expect(metrics.body).toContain(`# TYPE ${name}`);
    expect(metrics.body).not.toMatch(/svc-run-1|svc-upload|acme|v-[0-9a-f]{24}/);
    expect(metrics.body).not.toContain(CANARY);
  });

  it('logs structured JSON lines with run ids, never the document', () => {
    const logs = service.lines.filter((l) => l.startsWith('{'));
    expect(logs.some((l) => l.includes('"event":"run_finished"') && l.includes('"run_id":"svc-run-1"'))).toBe(
      true,
    );
    expect(service.lines.join('\n')).not.toContain(CANARY);
    writeFileSync(join(dir, 'service.log'), service.lines.join('\n'));
  });

  it('stops gracefully on SIGTERM', async () => {
    expect(await service.stop('SIGTERM')).toBe(0);
    expect(service.lines.some((l) => l.includes('"event":"service_stopped"'))).toBe(true);
  });
});
