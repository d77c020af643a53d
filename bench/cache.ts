// R-PERF-3: a repeated run with unchanged input + config is served from the cache in under 5% of
// the first run's time. Runs the default profile twice on a generated 60 s 1080p H.264 video (the
// same file bench/segmenter.ts uses) in a fresh store, checks that every stage of the second run
// is a cache hit with byte-identical artifacts, and prints both wall times and their ratio.
// Usage: npx tsx bench/cache.ts
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runVideo } from '../src/orchestrator/index.js';

const dir = join(import.meta.dirname, '..', '.tmp', 'bench');
mkdirSync(dir, { recursive: true });
const video = join(dir, '60s_1080p.mp4');
if (!existsSync(video)) {
  const third = 20;
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `testsrc2=s=1920x1080:r=30:d=${third}`],
    ...['-f', 'lavfi', '-i', `mandelbrot=s=1920x1080:r=30:end_pts=100000,trim=duration=${third}`],
    ...['-f', 'lavfi', '-i', `smptehdbars=s=1920x1080:r=30:d=${third}`],
    ...['-f', 'lavfi', '-i', 'sine=f=440:d=60'],
    ...['-filter_complex', '[0:v][1:v][2:v]concat=n=3:v=1:a=0,format=yuv420p[v]'],
    ...['-map', '[v]', '-map', '3:a', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-bf', '2'],
    ...['-c:a', 'aac', video],
  ]);
}
const store = join(dir, 'cache-store');
const db = join(dir, 'cache-profiles.sqlite');
rmSync(store, { recursive: true, force: true });

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const timed = async (runId: string) => {
  const t = performance.now();
  const outcome = await runVideo({
    videoPath: video,
    storeRoot: store,
    databasePath: db,
    videoId: 'bench',
    runId,
  });
  return { ms: performance.now() - t, outcome };
};

const first = await timed('first');
const second = await timed('second');
let files = 0;
for (const c of second.outcome.manifest.components) {
  if (!c.cache_hit) throw new Error(`${c.name} was not a cache hit`);
  for (const a of c.artifacts) {
    if (sha256(join(second.outcome.runDir, a.path)) !== sha256(join(first.outcome.runDir, a.path)))
      throw new Error(`${a.path} differs between the runs`);
    files += 1;
  }
}
const share = (n: string, m: typeof first) =>
  m.outcome.manifest.components.map((c) => `${c.name} ${c.duration_ms ?? 0} ms`).join(', ');
console.log(`60s_1080p default profile: first run ${(first.ms / 1000).toFixed(2)} s (${share('', first)})`);
console.log(`second run ${(second.ms / 1000).toFixed(3)} s (${share('', second)})`);
console.log(
  `cache-hit run / first run = ${((second.ms / first.ms) * 100).toFixed(1)}% (target < 5%); ${files} artifacts byte-identical (sha256)`,
);
rmSync(store, { recursive: true, force: true });
rmSync(db, { force: true });
