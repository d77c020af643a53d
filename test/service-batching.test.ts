// Cross-video batching through a real `dataprocessor serve` (R-BAT-4): three videos submitted
// within the buffer window stay `queued`, are taken together by one worker, and their OCR model
// calls (PP-OCRv4 det/cls/rec on ONNX Runtime) share batches of at most two videos. Every
// artifact array is then compared with the same video run alone (another tenant, so the
// idempotency cache cannot hand the batched result back): they are bit-identical.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNpz } from '../src/contracts/index.js';
import { ProfileStore, type Profile } from '../src/orchestrator/index.js';
import { ffmpeg, makeTempDir } from './support/media.js';
import { createKey, curl, spawnService, waitFor, type ServiceProcess } from './support/service.js';
import { FONTS } from './support/visual.js';

const PROFILE: Profile = {
  name: 'batching-ocr',
  description: 'OCR only: three real ONNX models with a batch axis',
  generation: 'baseline',
  components: [{ name: 'ocr', required: true }],
};
const WINDOW_MS = 5000;
const TEXTS = ['Invoice 1 total 41 euros', 'Harbour closed until Friday', 'Order 4721 ships in March'];

const dir = makeTempDir('service-batching');
const db = join(dir, 'service.sqlite');
const store = join(dir, 'store');
const media = join(dir, 'media');
let service: ServiceProcess;
let batchedKey: string;
let soloKey: string;

interface Status {
  state: string;
  video_id: string | null;
  created_at: string;
  started_at: string | null;
}

/** 5 s of 320×180 with one moving line of text (the OCR finds it on every analysed frame). */
function textVideo(path: string, text: string): void {
  const file = `${path}.txt`;
  writeFileSync(file, text);
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'color=c=0xf4f1e8:s=320x180:r=25:d=5',
    '-f',
    'lavfi',
    '-i',
    'sine=f=440:d=5',
    '-vf',
    `drawtext=fontfile=${FONTS.sans}:textfile=${file}:fontsize=24:x=20+10*t:y=70`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-c:a',
    'aac',
    '-shortest',
    path,
  ]);
}

beforeAll(async () => {
  execFileSync('mkdir', ['-p', media, store]);
  TEXTS.forEach((text, i) => textVideo(join(media, `v${i}.mp4`), text));
  const profiles = ProfileStore.open(db);
  profiles.saveUserProfile(PROFILE);
  profiles.close();
  batchedKey = createKey(db, 'batched', 'submit');
  soloKey = createKey(db, 'solo', 'submit');
  service = await spawnService([
    'serve',
    ...['--port', '0', '--metrics-port', '0', '--db', db, '--out', store, '--allow-root', media],
    ...['--concurrency', '3', '--max-videos-per-batch', '2', '--buffer-window-ms', String(WINDOW_MS)],
    ...['--batch-gather-ms', '200'],
  ]);
}, 120_000);

afterAll(async () => {
  await service?.stop();
});

const submit = (key: string, i: number, runId: string) =>
  curl([
    ...['-H', `authorization: Bearer ${key}`, '-H', 'content-type: application/json'],
    ...[
      '--data',
      JSON.stringify({ video_path: join(media, `v${i}.mp4`), profile: PROFILE.name, run_id: runId }),
    ],
    `${service.url}/api/runs`,
  ]);
const status = async (key: string, runId: string): Promise<Status> =>
  (await curl(['-H', `authorization: Bearer ${key}`, `${service.url}/api/runs/${runId}`])).json<Status>();
const finished = (key: string, runId: string): Promise<Status> =>
  waitFor(
    `${runId} finished`,
    async () => {
      const s = await status(key, runId);
      return s.state === 'queued' || s.state === 'running' ? null : s;
    },
    240_000,
  );

/** Every array of a run's OCR artifact (not `meta`, which names the run) as shape + raw bytes. */
function ocrArrays(platform: string, videoId: string, runId: string): Map<string, Buffer> {
  const { arrays } = decodeNpz(readFileSync(join(store, platform, videoId, runId, 'ocr', 'ocr.npz')));
  const out = new Map<string, Buffer>();
  for (const [name, array] of Object.entries(arrays)) {
    const data = array.data as unknown as ArrayBufferView;
    out.set(
      `${name} ${JSON.stringify(array.shape)}`,
      Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    );
  }
  return out;
}

describe('cross-video batching (R-BAT-4)', () => {
  it('buffers jobs as queued, runs them together in capped shared batches, and each video gets exactly its own results', async () => {
    const accepted = await Promise.all([0, 1, 2].map((i) => submit(batchedKey, i, `batched-${i}`)));
    expect(accepted.map((r) => r.status)).toEqual([202, 202, 202]);
    // In the buffer window every job shows `queued`.
    for (let i = 0; i < 3; i++) expect((await status(batchedKey, `batched-${i}`)).state).toBe('queued');
    const batched = await Promise.all([0, 1, 2].map((i) => finished(batchedKey, `batched-${i}`)));
    expect(batched.map((s) => s.state)).toEqual(['ok', 'ok', 'ok']);
    // The first job waited out its window; the later ones joined it early, all taken together.
    const starts = batched.map((s) => Date.parse(s.started_at ?? ''));
    const created = Math.min(...batched.map((s) => Date.parse(s.created_at)));
    expect(Math.min(...starts)).toBeGreaterThanOrEqual(created + WINDOW_MS - 50);
    expect(Math.max(...starts) - Math.min(...starts)).toBeLessThan(1000);

    // The model calls were merged, never more than two videos per batch (the cap).
    const metrics = (await curl([`${service.metricsUrl}/metrics`])).body;
    const value = (pattern: RegExp): number => Number(pattern.exec(metrics)?.[1] ?? 'NaN');
    const merged = value(/^batch_videos_count\{component="ocr"\} (\d+)/m);
    expect(merged).toBeGreaterThan(0);
    expect(value(/^batch_videos_bucket\{le="2",component="ocr"\} (\d+)/m)).toBe(merged);
    expect(value(/^batch_videos_bucket\{le="1",component="ocr"\} (\d+)/m)).toBe(0);
    expect(value(/^batch_size_count\{component="ocr",scope="cross_video"\} (\d+)/m)).toBe(merged);

    // The same videos alone, one after the other (one run in the process: nothing to merge).
    for (let i = 0; i < 3; i++) {
      expect((await submit(soloKey, i, `solo-${i}`)).status).toBe(202);
      expect((await finished(soloKey, `solo-${i}`)).state).toBe('ok');
    }
    const after = (await curl([`${service.metricsUrl}/metrics`])).body;
    expect(/^batch_videos_count\{component="ocr"\} (\d+)/m.exec(after)?.[1]).toBe(String(merged));

    for (let i = 0; i < 3; i++) {
      const videoId = batched[i]?.video_id as string;
      const together = ocrArrays('batched', videoId, `batched-${i}`);
      const alone = ocrArrays('solo', videoId, `solo-${i}`);
      expect([...together.keys()]).toEqual([...alone.keys()]);
      for (const [name, bytes] of alone) expect(together.get(name)?.equals(bytes), name).toBe(true);
      // The video's text was found: the comparison is not between two empty results.
      const chars = [...alone].find(([name]) => name.startsWith('char_count '))?.[1];
      expect(chars && Math.max(...new Int32Array(new Uint8Array(chars).buffer))).toBeGreaterThan(0);
    }
  }, 420_000);
});
