// Service throughput (R-SVC-1, R-BAT-4): N short generated videos submitted at once on loopback
// through the real API of a real `dataprocessor serve` (embedded queue), polled until every run
// is final. Reports videos/min (first submission → last final state), the p95 latency of the
// status requests made meanwhile, and the cross-video batches formed, for three set-ups on the
// same jobs, each with a fresh store (no cache hits) in the same run:
//   one-at-a-time   --concurrency 1, no buffer window, no cross-video batching (the reference)
//   concurrent      --concurrency K, no cross-video batching (what concurrency alone gives)
//   cross-video     --concurrency K --max-videos-per-batch K --buffer-window-ms W
// Usage: npx tsx bench/service.ts [--videos N] [--concurrency K] [--window-ms W] [--profile ocr|default]
// (run `npm run build` first: the service runs from dist/). Prints the load average too: on a
// shared machine the figures move with it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { ProfileStore, type Profile } from '../src/orchestrator/index.js';
import { createKey, spawnService } from '../test/support/service.js';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const VIDEOS = Number(arg('videos', '6'));
const CONCURRENCY = Number(arg('concurrency', '3'));
const WINDOW_MS = Number(arg('window-ms', '3000'));
const PROFILE_NAME = arg('profile', 'ocr');
const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

const OCR: Profile = {
  name: 'bench-ocr',
  description: 'OCR (three ONNX models with a batch axis) and loudness',
  generation: 'baseline',
  components: [
    { name: 'ocr', required: true },
    { name: 'loudness_extractor', required: true },
  ],
};

const dir = join(import.meta.dirname, '..', '.tmp', 'bench-service');
rmSync(dir, { recursive: true, force: true });
const media = join(dir, 'media');
mkdirSync(media, { recursive: true });

/** 5 s of 320×180 with one moving line of text and a tone; each video different. */
function makeVideo(i: number): string {
  const path = join(media, `v${i}.mp4`);
  const text = join(media, `v${i}.txt`);
  writeFileSync(text, `Invoice ${1000 + i * 37} total ${20 + i} euros`);
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `color=c=0xf4f1e8:s=320x180:r=25:d=5`],
    ...['-f', 'lavfi', '-i', `sine=f=${300 + 40 * i}:d=5`],
    ...['-vf', `drawtext=fontfile=${FONT}:textfile=${text}:fontsize=24:x=20+10*t:y=${40 + 10 * (i % 8)}`],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', path],
  ]);
  return path;
}

interface Figures {
  setup: string;
  videosPerMin: number;
  wallSec: number;
  statusP95Ms: number;
  statusRequests: number;
  mergedBatches: number;
  meanVideosPerBatch: number;
  states: string;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function measure(setup: string, flags: string[], videos: string[]): Promise<Figures> {
  const root = join(dir, setup);
  mkdirSync(root, { recursive: true });
  const db = join(root, 'service.sqlite');
  const profiles = ProfileStore.open(db);
  profiles.saveUserProfile(OCR);
  profiles.close();
  const key = createKey(db, 'bench', 'submit');
  const service = await spawnService([
    'serve',
    ...['--port', '0', '--metrics-port', '0', '--db', db, '--out', join(root, 'store')],
    ...['--allow-root', media, ...flags],
  ]);
  const headers = { authorization: `Bearer ${key}` };
  const profile = PROFILE_NAME === 'ocr' ? OCR.name : PROFILE_NAME;
  try {
    const started = performance.now();
    const runIds = await Promise.all(
      videos.map(async (video, i) => {
        const response = await fetch(`${service.url}/api/runs`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ video_path: video, profile, run_id: `${setup}-${i}` }),
        });
        if (response.status !== 202) throw new Error(`submit: ${response.status} ${await response.text()}`);
        return ((await response.json()) as { run_id: string }).run_id;
      }),
    );
    const latencies: number[] = [];
    const final = new Map<string, string>();
    while (final.size < runIds.length) {
      await new Promise((r) => setTimeout(r, 250));
      for (const id of runIds.filter((r) => !final.has(r))) {
        const t0 = performance.now();
        const status = (await (await fetch(`${service.url}/api/runs/${id}`, { headers })).json()) as {
          state: string;
        };
        latencies.push(performance.now() - t0);
        if (!['queued', 'running'].includes(status.state)) final.set(id, status.state);
      }
    }
    const wallSec = (performance.now() - started) / 1000;
    const metrics = await (await fetch(`${service.metricsUrl}/metrics`)).text();
    const sum = (name: string): number =>
      [...metrics.matchAll(new RegExp(`^${name}\\{component="[a-z_]+"\\} ([0-9.e+]+)$`, 'gm'))].reduce(
        (a, m) => a + Number(m[1]),
        0,
      );
    const merged = sum('batch_videos_count');
    const counts = new Map<string, number>();
    for (const s of final.values()) counts.set(s, (counts.get(s) ?? 0) + 1);
    return {
      setup,
      videosPerMin: (videos.length / wallSec) * 60,
      wallSec,
      statusP95Ms: percentile(latencies, 95),
      statusRequests: latencies.length,
      mergedBatches: merged,
      meanVideosPerBatch: merged > 0 ? sum('batch_videos_sum') / merged : 0,
      states: [...counts].map(([s, n]) => `${n} ${s}`).join(', '),
    };
  } finally {
    await service.stop();
  }
}

const videos = Array.from({ length: VIDEOS }, (_, i) => makeVideo(i));
console.log(
  `${VIDEOS} videos (5 s, 320x180), profile ${PROFILE_NAME}, ${cpus().length} CPUs, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
const results: Figures[] = [];
results.push(
  await measure(
    'one-at-a-time',
    ['--concurrency', '1', '--max-videos-per-batch', '1', '--buffer-window-ms', '0'],
    videos,
  ),
);
results.push(
  await measure(
    'concurrent',
    ['--concurrency', String(CONCURRENCY), '--max-videos-per-batch', '1', '--buffer-window-ms', '0'],
    videos,
  ),
);
results.push(
  await measure(
    'cross-video',
    [
      ...['--concurrency', String(CONCURRENCY), '--max-videos-per-batch', String(CONCURRENCY)],
      ...['--buffer-window-ms', String(WINDOW_MS)],
    ],
    videos,
  ),
);
const reference = results[0] as Figures;
console.log(
  '| set-up | videos/min | wall s | × one-at-a-time | status p95 ms (requests) | merged batches (mean videos) | states |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of results)
  console.log(
    `| ${r.setup} | ${r.videosPerMin.toFixed(1)} | ${r.wallSec.toFixed(1)} | ${(r.videosPerMin / reference.videosPerMin).toFixed(2)} | ${r.statusP95Ms.toFixed(1)} (${r.statusRequests}) | ${r.mergedBatches} (${r.meanVideosPerBatch.toFixed(2)}) | ${r.states} |`,
  );
console.log(
  `load after: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
rmSync(dir, { recursive: true, force: true });
