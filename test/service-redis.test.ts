// Scale-out on Redis (R-SVC-1/4): the API and two workers as separate processes sharing a real
// redis-server (loopback, random port) and the store. A worker SIGKILLed mid-run: the other one
// resumes the job to ok with one run, no duplicate or missing artifacts, and the finished
// Segmenter not recomputed. Redis restarted mid-run: /health is 503 while it is down, /health/live
// 200, and the job completes once it is back.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProfileStore, type Profile } from '../src/orchestrator/index.js';
import { makeShotVideo, makeTempDir } from './support/media.js';
import {
  BIN,
  createKey,
  curl,
  spawnService,
  startRedis,
  waitFor,
  type RedisServer,
  type ServiceProcess,
} from './support/service.js';

const PROFILE: Profile = {
  name: 'redis-signals',
  description: 'loudness, tempo and cut detection',
  generation: 'baseline',
  components: [
    { name: 'loudness_extractor', required: true },
    { name: 'tempo_extractor', required: true },
    { name: 'cut_detection', required: true },
  ],
};

const dir = makeTempDir('service-redis');
const db = join(dir, 'service.sqlite');
const store = join(dir, 'store');
const media = join(dir, 'media');
let redis: RedisServer;
let api: ServiceProcess;
const workers: ServiceProcess[] = [];
let key: string;

const common = (): string[] => [
  '--db',
  db,
  '--out',
  store,
  '--redis',
  redis.url,
  '--redis-prefix',
  'dpt',
  '--lease-sec',
  '3',
];

interface Status {
  state: string;
  attempts: number;
  video_id: string | null;
}

beforeAll(async () => {
  execFileSync('mkdir', ['-p', media, store, join(dir, 'redis')]);
  makeShotVideo(join(media, 'a.mp4'), { width: 320, height: 180, shotSeconds: [8, 8, 8], toneDbfs: -20 });
  makeShotVideo(join(media, 'b.mp4'), { width: 320, height: 180, shotSeconds: [6, 6], toneDbfs: -14 });
  const profiles = ProfileStore.open(db);
  profiles.saveUserProfile(PROFILE);
  profiles.close();
  key = createKey(db, 'acme', 'submit');
  redis = await startRedis(join(dir, 'redis'));
  api = await spawnService([
    'serve',
    ...common(),
    '--port',
    '0',
    '--concurrency',
    '0',
    '--allow-root',
    media,
  ]);
  for (let i = 0; i < 2; i++) workers.push(await spawnService(['worker', ...common()], {}, 'worker_started'));
});

afterAll(async () => {
  for (const w of workers) await w.stop('SIGKILL');
  await api?.stop('SIGKILL');
  await redis?.stop();
});

const status = async (runId: string): Promise<Status> =>
  (await curl(['-H', `authorization: Bearer ${key}`, `${api.url}/api/runs/${runId}`])).json<Status>();
const submit = async (video: string, runId: string): Promise<void> => {
  const response = await curl([
    '-H',
    `authorization: Bearer ${key}`,
    '-H',
    'content-type: application/json',
    '--data',
    JSON.stringify({ video_path: join(media, video), profile: PROFILE.name, run_id: runId }),
    `${api.url}/api/runs`,
  ]);
  expect(response.status, response.body).toBe(202);
};
const logged = (w: ServiceProcess, runId: string, event: string, extra = ''): boolean =>
  w.lines.some(
    (l) => l.includes(`"run_id":"${runId}"`) && l.includes(`"event":"${event}"`) && l.includes(extra),
  );
const filesUnder = (root: string, base = root): string[] =>
  readdirSync(root, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(root, e.name), base) : [relative(base, join(root, e.name))],
  );

describe('two workers on Redis', () => {
  it('a worker SIGKILLed mid-run: the other completes the job, nothing duplicated or recomputed', async () => {
    await submit('a.mp4', 'killed');
    const first = await waitFor('a worker past the Segmenter', () =>
      Promise.resolve(
        workers.find((w) => logged(w, 'killed', 'stage_finished', '"stage":"segmenter"')) ?? null,
      ),
    );
    const videoId = (await status('killed')).video_id as string;
    const runDir = join(store, 'acme', videoId, 'killed');
    const framesDir = join(runDir, 'frames_dir');
    const inodes = new Map(readdirSync(framesDir).map((f) => [f, statSync(join(framesDir, f)).ino]));
    expect(logged(first, 'killed', 'run_finished')).toBe(false);
    const queueOf = async () =>
      (await curl(['-H', `authorization: Bearer ${key}`, `${api.url}/api/queue`])).json<{
        running: number;
        workers: number;
        slots: number;
      }>();
    // Both workers announce themselves in Redis (the API process runs none: --concurrency 0).
    expect(await queueOf()).toMatchObject({ running: 1, workers: 2, slots: 2 });
    await first.stop('SIGKILL');
    const survivor = workers.find((w) => w !== first) as ServiceProcess;
    const done = await waitFor(
      'the job to finish on the other worker',
      async () => {
        const s = await status('killed');
        return ['ok', 'error', 'cancelled'].includes(s.state) ? s : null;
      },
      120_000,
      500,
    );
    expect(done.state).toBe('ok');
    expect(done.attempts).toBe(2);
    // The killed worker stopped its heartbeats: it is gone from the count once its lease passed.
    expect((await queueOf()).workers).toBe(1);
    expect(logged(survivor, 'killed', 'run_started')).toBe(true);
    // One run, and exactly the manifest's artifacts on disk.
    expect(readdirSync(join(store, 'acme', videoId)).filter((d) => !d.startsWith('_'))).toEqual(['killed']);
    const manifest = JSON.parse(
      execFileSync('cat', [join(runDir, 'manifest.json')], { encoding: 'utf8' }),
    ) as {
      components: { name: string; artifacts: { path: string }[] }[];
    };
    const listed = manifest.components.flatMap((c) => c.artifacts.map((a) => a.path));
    expect(new Set(listed).size).toBe(listed.length);
    const onDisk = filesUnder(runDir).filter((f) => listed.includes(f));
    expect(onDisk.sort()).toEqual([...listed].sort());
    // The Segmenter finished before the kill: its frame batches are the same files, not recomputed.
    for (const [file, inode] of inodes) expect(statSync(join(framesDir, file)).ino, file).toBe(inode);
    const audit = JSON.parse(
      execFileSync(process.execPath, [BIN, 'audit', runDir, '--json'], { encoding: 'utf8' }),
    ) as {
      pass: boolean;
    };
    expect(audit.pass).toBe(true);
  });

  it('Redis restarted mid-run: /health 503 while down, /health/live 200, the job completes after', async () => {
    await submit('b.mp4', 'through-restart');
    await waitFor('the run to start', async () =>
      (await status('through-restart')).state === 'running' ? true : null,
    );
    await redis.stop();
    const health = await curl([`${api.url}/health`]);
    expect(health.status).toBe(503);
    const report = health.json<{ checks: Record<string, { ok: boolean }> }>();
    expect(report.checks.redis?.ok).toBe(false);
    expect(report.checks.storage?.ok).toBe(true);
    expect((await curl([`${api.url}/health/live`])).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await redis.restart();
    await waitFor(
      'readiness again',
      async () => ((await curl([`${api.url}/health`])).status === 200 ? true : null),
      30_000,
    );
    const done = await waitFor(
      'the job to finish after the restart',
      async () => {
        const s = await status('through-restart');
        return ['ok', 'error', 'cancelled'].includes(s.state) ? s : null;
      },
      120_000,
      500,
    );
    expect(done.state).toBe('ok');
  });
});
