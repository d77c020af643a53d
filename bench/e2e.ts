// End-to-end speed of the default profile (issue 17, R-PERF-2): generated videos that resemble
// real content (people photos with a pan, captions, hard cuts, audio; bench/e2e-videos.ts), each
// run "before" (the optimisations switched off by config) and "after" (defaults) in the same bench
// run, each mode in a fresh child process (start-up and model loading count, as for a new user).
// Reports s per video-minute, peak RSS, each component's share of wall and CPU time, the ratio to
// ffmpeg's decode-only time measured in the same run, p99 event-loop delay, and how far the
// "after" artifacts are from the "before" ones (the tolerance of the shortcuts).
//   npx tsx bench/e2e.ts [--videos 30:720,30:1080,120:720,120:1080] [--long] [--modes before,after]
// --long adds the 10-minute 1080p video. Prints the load average: the machine is shared, so
// only the ratios within one run mean something.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readNpzFile, type NdArray } from '../src/contracts/index.js';
import { runVideo, type RunEvent } from '../src/orchestrator/index.js';
import { benchVideo } from './e2e-videos.js';

/** A mode: config that switches optimisations off ("before") or leaves the defaults ("after"). */
const MODES: Record<
  string,
  { orchestrator?: Record<string, unknown>; components?: Record<string, Record<string, unknown>> }
> = {
  before: {
    orchestrator: { plan_cpu: false },
    components: {
      core_face_landmarks: { reuse_near_duplicates: false },
      core_object_detections: { reuse_near_duplicates: false },
      emotion_face: { reuse_near_duplicates: false },
    },
  },
  after: {},
  /** The defaults with one component at a time (every core to the running component). */
  serial: { orchestrator: { max_parallel_components: 1 } },
};

interface ChildReport {
  wallSec: number;
  /** Peaks of process.memoryUsage() sampled every 100 ms, MB. */
  memoryPeaksMb: Record<string, number>;
  cpuSec: number;
  peakRssMb: number;
  loopP99Ms: number;
  loopMaxMs: number;
  runDir: string;
  status: string;
  components: {
    name: string;
    status: string;
    wallMs: number;
    cpuMs: number;
    batch: number | null;
    notes: string;
  }[];
}

// ---- child: one run of one mode, measured from inside
if (process.argv[2] === '--child') {
  const [video, mode, store] = process.argv.slice(3) as [string, string, string];
  const settings = MODES[mode] ?? {};
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  // CPU time attributed to components: every 100 ms the process's CPU time since the last tick is
  // split evenly among the components running (the threads of a process cannot be told apart).
  const running = new Set<string>();
  const cpuOf = new Map<string, number>();
  let lastCpu = process.cpuUsage();
  const memoryPeaksMb: Record<string, number> = {};
  const tick = (): void => {
    for (const [field, bytes] of Object.entries(process.memoryUsage()))
      memoryPeaksMb[field] = Math.max(memoryPeaksMb[field] ?? 0, bytes / 2 ** 20);
    const now = process.cpuUsage();
    const ms = (now.user - lastCpu.user + now.system - lastCpu.system) / 1000;
    lastCpu = now;
    for (const name of running) cpuOf.set(name, (cpuOf.get(name) ?? 0) + ms / running.size);
  };
  const timer = setInterval(tick, 100);
  const onEvent = (event: RunEvent): void => {
    if (event.type === 'stage_started') {
      tick();
      running.add(event.stage);
    } else if (event.type === 'stage_finished') {
      tick();
      running.delete(event.stage);
    }
  };
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const outcome = await runVideo(
    {
      videoPath: video,
      storeRoot: store,
      databasePath: join(store, 'profiles.sqlite'),
      videoId: 'bench',
      runId: mode,
      useCache: false,
      ...(settings.components ? { config: { components: settings.components } } : {}),
      ...(settings.orchestrator ? { orchestrator: settings.orchestrator } : {}),
    },
    { onEvent },
  );
  const wallSec = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  clearInterval(timer);
  loop.disable();
  const report: ChildReport = {
    wallSec,
    memoryPeaksMb,
    cpuSec: (cpu.user + cpu.system) / 1e6,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    loopP99Ms: loop.percentile(99) / 1e6,
    loopMaxMs: loop.max / 1e6,
    runDir: outcome.runDir,
    status: outcome.status,
    components: outcome.manifest.components.map((c) => ({
      name: c.name,
      status: c.status,
      wallMs: c.duration_ms ?? 0,
      cpuMs: cpuOf.get(c.name) ?? 0,
      batch: c.batch_size ?? null,
      notes: c.notes ?? '',
    })),
  };
  console.log(`E2E_REPORT ${JSON.stringify(report)}`);
  process.exit(0);
}

// ---- parent
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const videos = (arg('--videos') ?? '30:720,30:1080,120:720,120:1080')
  .split(',')
  .map((v) => v.split(':').map(Number) as [number, number]);
if (process.argv.includes('--long')) videos.push([600, 1080]);
const modes = (arg('--modes') ?? 'before,after').split(',');
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** Runs one mode in a child process; also the CPU time of the child and its ffmpeg children. */
function runChild(video: string, mode: string, store: string): Promise<ChildReport & { treeCpuSec: number }> {
  return new Promise((resolve, reject) => {
    // bash waits for node (and node for its ffmpeg children), so bash's cutime/cstime is the tree's CPU.
    const script = `node --import tsx "$0" --child "$1" "$2" "$3"; rc=$?; read -r -a s < /proc/$$/stat; echo "TREE_CPU_TICKS $((s[15] + s[16]))"; exit $rc`;
    const child = spawn('bash', ['-c', script, new URL(import.meta.url).pathname, video, mode, store], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      const report = /E2E_REPORT (.*)/.exec(out)?.[1];
      const ticks = Number(/TREE_CPU_TICKS (\d+)/.exec(out)?.[1] ?? 'NaN');
      if (code !== 0 || !report)
        return reject(new Error(`${mode} run failed (exit ${code}): ${out.slice(-2000)}`));
      const tck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
      resolve({ ...(JSON.parse(report) as ChildReport), treeCpuSec: ticks / tck });
    });
  });
}

/** ffmpeg decode-only time of the whole video (R-PERF-1's reference), wall seconds. */
function decodeOnlySec(video: string): number {
  const t = performance.now();
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', video, '-f', 'null', '-']);
  return (performance.now() - t) / 1000;
}

/** Largest |a−b| over two arrays of the same shape, or a note why they cannot be compared. */
function arrayDeviation(a: NdArray, b: NdArray): string | number {
  if (a.dtype !== b.dtype) return `dtype ${a.dtype}≠${b.dtype}`;
  if (a.shape.join('x') !== b.shape.join('x')) return `shape ${a.shape.join('x')}≠${b.shape.join('x')}`;
  if (a.dtype === 'unicode') return JSON.stringify(a.data) === JSON.stringify(b.data) ? 0 : 'strings differ';
  let max = 0;
  const x = a.data as ArrayLike<number | bigint>;
  const y = b.data as ArrayLike<number | bigint>;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(Number(x[i]) - Number(y[i]));
    if (Number.isNaN(d)) {
      if (!(Number.isNaN(Number(x[i])) && Number.isNaN(Number(y[i])))) return 'NaN differs';
    } else if (d > max) max = d;
  }
  return max;
}

/** Per artifact of `after`, how it deviates from `before`: identical, or the arrays that differ. */
async function artifactDeviation(before: string, after: string): Promise<string[]> {
  const manifest = JSON.parse(readFileSync(join(after, 'manifest.json'), 'utf8')) as {
    components: { name: string; artifacts: { path: string; type: string }[] }[];
  };
  const lines: string[] = [];
  for (const c of manifest.components) {
    for (const a of c.artifacts.filter((x) => x.type === 'npz')) {
      const [x, y] = await Promise.all([readNpzFile(join(before, a.path)), readNpzFile(join(after, a.path))]);
      const diffs: string[] = [];
      for (const [name, arr] of Object.entries(y.arrays)) {
        const other = x.arrays[name];
        const d = other ? arrayDeviation(other, arr) : 'missing before';
        if (d !== 0) diffs.push(`${name} ${typeof d === 'number' ? `max|Δ| ${d.toPrecision(3)}` : d}`);
      }
      lines.push(`    ${a.path}: ${diffs.length === 0 ? 'identical arrays' : diffs.join('; ')}`);
    }
  }
  return lines;
}

/** IoU of two x0,y0,x1,y1 boxes at offsets `i` and `j`. */
function iou(a: Float32Array, i: number, b: Float32Array, j: number): number {
  const ix = Math.max(0, Math.min(a[i + 2]!, b[j + 2]!) - Math.max(a[i]!, b[j]!));
  const iy = Math.max(0, Math.min(a[i + 3]!, b[j + 3]!) - Math.max(a[i + 1]!, b[j + 1]!));
  const inter = ix * iy;
  const area = (r: Float32Array, k: number): number => (r[k + 2]! - r[k]!) * (r[k + 3]! - r[k + 1]!);
  return inter / (area(a, i) + area(b, j) - inter);
}

/**
 * Per-frame detections of `after` against `before`: share of frames with the same count, and the
 * mean IoU of each `before` box with its best `after` box on those frames.
 */
function detectionAgreement(
  x: Record<string, NdArray>,
  y: Record<string, NdArray>,
  countName: string,
): string {
  const n = x[countName]!.shape[0]!;
  const slots = x.boxes!.shape[1]!;
  const cx = x[countName]!.data as Int32Array;
  const cy = y[countName]!.data as Int32Array;
  const bx = x.boxes!.data as Float32Array;
  const by = y.boxes!.data as Float32Array;
  let same = 0;
  const ious: number[] = [];
  for (let k = 0; k < n; k++) {
    if (cx[k] !== cy[k]) continue;
    same += 1;
    for (let f = 0; f < cx[k]!; f++) {
      let best = 0;
      for (let g = 0; g < cy[k]!; g++)
        best = Math.max(best, iou(bx, (k * slots + f) * 4, by, (k * slots + g) * 4));
      ious.push(best);
    }
  }
  const reused = y.reused ? (y.reused.data as Uint8Array).reduce((a, b) => a + b, 0) : 0;
  const mean = ious.length ? ious.reduce((a, b) => a + b, 0) / ious.length : Number.NaN;
  const sorted = [...ious].sort((a, b) => a - b);
  return `${reused}/${n} frames reused; same count on ${((same / n) * 100).toFixed(1)}% of frames; matched box IoU mean ${mean.toFixed(3)}, p5 ${(sorted[Math.floor(sorted.length * 0.05)] ?? Number.NaN).toFixed(3)}`;
}

/** The shortcuts' deviation from the full computation, per provider that takes one. */
async function tolerance(before: string, after: string): Promise<string[]> {
  const read = async (dir: string, path: string) => (await readNpzFile(join(dir, path))).arrays;
  const lines: string[] = [];
  const faces = 'core_face_landmarks/face_landmarks.npz';
  const objects = 'core_object_detections/object_detections.npz';
  const emotion = 'emotion_face/emotion_face.npz';
  lines.push(
    `faces: ${detectionAgreement(await read(before, faces), await read(after, faces), 'face_count')}`,
  );
  lines.push(
    `objects: ${detectionAgreement(await read(before, objects), await read(after, objects), 'object_count')}`,
  );
  const ex = (await read(before, emotion)).frame_emotion_mean!.data as Float32Array;
  const ey = (await read(after, emotion)).frame_emotion_mean!.data as Float32Array;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < ex.length; i++) {
    if (Number.isNaN(ex[i]!) || Number.isNaN(ey[i]!)) continue;
    sum += Math.abs(ex[i]! - ey[i]!);
    count += 1;
  }
  lines.push(
    `emotion (crops at reused face boxes): frame mean probabilities mean |Δ| ${(sum / Math.max(1, count)).toFixed(4)}`,
  );
  return lines;
}

console.log(`cpus ${cpus().length}, load average ${load()}, modes ${modes.join(' vs ')}`);
const root = mkdtempSync(join(tmpdir(), 'dp-bench-e2e-'));
try {
  for (const [durationSec, height] of videos) {
    const video = benchVideo(durationSec, height);
    const decodeSec = decodeOnlySec(video);
    console.log(
      `\n== ${durationSec} s ${height}p (${video}); ffmpeg decode-only ${decodeSec.toFixed(2)} s; load ${load()}`,
    );
    const results = new Map<string, ChildReport & { treeCpuSec: number }>();
    for (const mode of modes) {
      const store = join(root, `${durationSec}-${height}-${mode}`);
      const r = await runChild(video, mode, store);
      results.set(mode, r);
      const perMin = (r.wallSec / durationSec) * 60;
      console.log(
        `  ${mode.padEnd(6)} ${r.status}: ${r.wallSec.toFixed(1)} s wall = ${perMin.toFixed(1)} s per video-minute, ` +
          `×${(r.wallSec / decodeSec).toFixed(1)} decode-only; CPU ${r.cpuSec.toFixed(1)} s in-process, ${r.treeCpuSec.toFixed(1)} s with ffmpeg; ` +
          `peak RSS ${r.peakRssMb.toFixed(0)} MB (JS heap ${r.memoryPeaksMb.heapUsed?.toFixed(0)}, array buffers ${r.memoryPeaksMb.arrayBuffers?.toFixed(0)}, external ${r.memoryPeaksMb.external?.toFixed(0)}); event loop p99 ${r.loopP99Ms.toFixed(0)} ms (max ${r.loopMaxMs.toFixed(0)}); load ${load()}`,
      );
      for (const c of r.components) {
        console.log(
          `    ${c.name.padEnd(24)} ${c.status.padEnd(6)} wall ${(c.wallMs / 1000).toFixed(1).padStart(5)} s (${((c.wallMs / 1000 / r.wallSec) * 100).toFixed(0).padStart(3)}%)` +
            `  cpu ${(c.cpuMs / 1000).toFixed(1).padStart(5)} s (${((c.cpuMs / 1000 / r.cpuSec) * 100).toFixed(0).padStart(3)}%)  batch ${c.batch ?? '-'}  ${c.notes.slice(0, 70)}`,
        );
      }
    }
    const before = results.get('before');
    const after = results.get('after');
    if (before && after) {
      console.log(
        `  after vs before: ×${(before.wallSec / after.wallSec).toFixed(2)} faster wall, ` +
          `×${(before.treeCpuSec / after.treeCpuSec).toFixed(2)} less CPU, RSS ${before.peakRssMb.toFixed(0)} → ${after.peakRssMb.toFixed(0)} MB`,
      );
      console.log('  artifacts after vs before:');
      for (const line of await artifactDeviation(before.runDir, after.runDir)) console.log(line);
      console.log('  tolerance of the shortcuts (after vs the full computation before):');
      for (const line of await tolerance(before.runDir, after.runDir)) console.log(`    ${line}`);
    }
  }
  console.log(`\nload average after: ${load()}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
