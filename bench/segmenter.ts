// Segmenter speed (R-PERF-1): wall time of the Segmenter (probe + one decode pass writing
// frames_dir and audio/) over the wall time of `ffmpeg -i X -f null -` on the same file, measured
// in the same run; and the cost of the every-frame signal (issue 14): the default Segmenter (with
// frames_dir/frame_signal.npz) against the same with `frame_signal: false`, in wall time and in
// the CPU time of the ffmpeg children (steadier than wall time on a shared machine), each as a
// share of decode-only. Usage: npx tsx bench/segmenter.ts [--long | --gop-skip-only] [--case NAME]
// (--long adds a 10 min 720p video and the GOP-skipping comparison)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { computeConfigHash, type RunIdentity } from '../src/contracts/index.js';
import { COMPONENTS } from '../src/processors/index.js';
import {
  FfmpegFileFrameSource,
  FfmpegPipeFrameSource,
  analysisSize,
  filterGraph,
  inputArgs,
  planUnion,
  probeVideo,
  runSegmenter,
  segmenterConfigSchema,
  SAMPLING_POLICY_VERSION,
  type FrameSource,
} from '../src/segmenter/index.js';

const dir = join(import.meta.dirname, '..', '.tmp', 'bench');
const identity: RunIdentity = {
  platform_id: 'bench',
  video_id: 'bench',
  run_id: 'bench',
  config_hash: computeConfigHash({ bench: true }),
  sampling_policy_version: SAMPLING_POLICY_VERSION,
  dataprocessor_version: 'bench',
};
mkdirSync(dir, { recursive: true });

interface Case {
  name: string;
  width: number;
  height: number;
  seconds: number;
}
const cases: Case[] = [
  { name: '60s_720p', width: 1280, height: 720, seconds: 60 },
  { name: '60s_1080p', width: 1920, height: 1080, seconds: 60 },
];
if (process.argv.includes('--long'))
  cases.push({ name: '10min_720p', width: 1280, height: 720, seconds: 600 });
// --case <name> keeps one case (e.g. --case 60s_1080p).
const only = process.argv[process.argv.indexOf('--case') + 1];
if (process.argv.includes('--case')) cases.splice(0, cases.length, ...cases.filter((c) => c.name === only));

function generate(c: Case): string {
  const path = join(dir, `${c.name}.mp4`);
  if (existsSync(path)) return path;
  // Three different sources so the content changes; H.264 with B-frames, GOP 2 s, AAC audio.
  const third = c.seconds / 3;
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=s=${c.width}x${c.height}:r=30:d=${third}`,
    '-f',
    'lavfi',
    '-i',
    `mandelbrot=s=${c.width}x${c.height}:r=30:end_pts=100000,trim=duration=${third}`,
    '-f',
    'lavfi',
    '-i',
    `smptehdbars=s=${c.width}x${c.height}:r=30:d=${third}`,
    '-f',
    'lavfi',
    '-i',
    `sine=f=440:d=${c.seconds}`,
    '-filter_complex',
    '[0:v][1:v][2:v]concat=n=3:v=1:a=0,format=yuv420p[v]',
    '-map',
    '[v]',
    '-map',
    '3:a',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-g',
    '60',
    '-bf',
    '2',
    '-c:a',
    'aac',
    path,
  ]);
  return path;
}

/** CPU seconds (user + system) of this process's finished children (/proc/self/stat cutime + cstime). */
function childCpuSec(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // After "pid (comm) ": state is field 3, so cutime (16) and cstime (17) are at 13 and 14.
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

let lastDecodeCpu = 0;
function decodeOnlyMs(path: string): number {
  const cpu = childCpuSec();
  const t = performance.now();
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', path, '-f', 'null', '-']);
  if (r.status !== 0) throw new Error(String(r.stderr));
  lastDecodeCpu = childCpuSec() - cpu;
  return performance.now() - t;
}

/**
 * The floor of any design that drives the ffmpeg CLI: ffmpeg itself running the Segmenter's own
 * filter graph (select the union, scale, RGB24) into `-f null`, writing nothing. The gap between
 * this and decode-only is ffmpeg's scaling work; the gap to the Segmenter is ours.
 */
async function filterFloorMs(path: string): Promise<number> {
  const probe = await probeVideo(path, { timeoutMs: 60_000, maxFileBytes: 8e9, maxDurationSec: 1200 });
  const config = segmenterConfigSchema.parse({});
  const budgets = new Map(COMPONENTS.filter((c) => c.budget).map((c) => [c.name, c.budget!]));
  const plan = planUnion(probe.video.frameTimestampsSec, probe.durationSec, budgets);
  const size = analysisSize(probe, config.analysis_height);
  const graph = filterGraph({ probe, unionSource: plan.unionSource, ...size, buckets: [] });
  const t = performance.now();
  const r = spawnSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    ...inputArgs(path),
    '-filter_complex',
    graph,
    '-map',
    '[out0]',
    '-fps_mode',
    'passthrough',
    '-f',
    'null',
    '-',
  ]);
  if (r.status !== 0) throw new Error(String(r.stderr));
  return performance.now() - t;
}

async function segmenterMs(
  path: string,
  runDir: string,
  frameSource: FrameSource,
  frameSignal = true,
): Promise<{ ms: number; cpu: number; frames: number; source: number }> {
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const config = segmenterConfigSchema.parse({ frame_signal: frameSignal });
  const cpu = childCpuSec();
  const budgets = new Map(COMPONENTS.filter((c) => c.budget).map((c) => [c.name, c.budget!]));
  const t = performance.now();
  const probe = await probeVideo(path, { timeoutMs: 60_000, maxFileBytes: 8e9, maxDurationSec: 1200 });
  const result = await runSegmenter({ probe, identity, runDir, budgets, config, frameSource });
  return {
    ms: performance.now() - t,
    cpu: childCpuSec() - cpu,
    frames: result.frames.total_frames,
    source: result.frames.source_total_frames,
  };
}

const rows: string[] = [];
for (const c of process.argv.includes('--gop-skip-only') ? [] : cases) {
  const path = generate(c);
  const runDir = join(dir, 'run', c.name);
  // Warm the page cache once, then alternate to share any drift.
  decodeOnlyMs(path);
  const decode: number[] = [];
  const decodeCpu: number[] = [];
  const floor: number[] = [];
  const bySource = new Map<string, number[]>();
  const signal = { on: [] as number[], off: [] as number[], onCpu: [] as number[], offCpu: [] as number[] };
  let info = { frames: 0, source: 0 };
  const sources: FrameSource[] = [new FfmpegFileFrameSource(), new FfmpegPipeFrameSource()];
  const reps = Number(process.env.BENCH_REPS ?? 3);
  for (let i = 0; i < reps; i += 1) {
    decode.push(decodeOnlyMs(path));
    decodeCpu.push(lastDecodeCpu);
    floor.push(await filterFloorMs(path));
    for (const source of sources) {
      const s = await segmenterMs(path, runDir, source);
      bySource.set(source.name, [...(bySource.get(source.name) ?? []), s.ms]);
      info = s;
      if (source instanceof FfmpegFileFrameSource) {
        signal.on.push(s.ms);
        signal.onCpu.push(s.cpu);
      }
    }
    const off = await segmenterMs(path, runDir, new FfmpegFileFrameSource(), false);
    signal.off.push(off.ms);
    signal.offCpu.push(off.cpu);
  }
  const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? 0;
  const dc = median(decodeCpu);
  const pairs = (on: number[], off: number[]): number => median(on.map((v, k) => v - (off[k] ?? 0)));
  const d = median(decode);
  const parts = [...bySource].map(
    ([name, ms]) => `${name} ${(median(ms) / 1000).toFixed(2)} s = ${(median(ms) / d).toFixed(3)}×`,
  );
  const f = median(floor);
  rows.push(
    `${c.name.padEnd(11)} decode-only ${(d / 1000).toFixed(2)} s | ffmpeg filter floor ${(f / 1000).toFixed(2)} s = ${(f / d).toFixed(3)}× | ${parts.join(' | ')} | union ${info.frames}/${info.source} frames`,
    `${''.padEnd(11)} every-frame signal: segmenter without ${(median(signal.off) / 1000).toFixed(2)} s, with ${(median(signal.on) / 1000).toFixed(2)} s, extra ${(pairs(signal.on, signal.off) / 1000).toFixed(2)} s = ${((100 * pairs(signal.on, signal.off)) / d).toFixed(1)} % of decode-only wall | ffmpeg CPU: decode-only ${dc.toFixed(2)} s, without ${median(signal.offCpu).toFixed(2)} s, with ${median(signal.onCpu).toFixed(2)} s, extra ${pairs(signal.onCpu, signal.offCpu).toFixed(2)} s = ${((100 * pairs(signal.onCpu, signal.offCpu)) / dc).toFixed(1)} % of decode-only CPU (median of ${reps} paired runs)`,
  );
  rmSync(runDir, { recursive: true, force: true });
}
console.log(`ffmpeg: ${execFileSync('ffmpeg', ['-version'], { encoding: 'utf8' }).split('\n')[0]}`);
console.log(rows.join('\n'));
console.log(
  `node peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (the ffmpeg child is not included)`,
);

// GOP skipping: sparse unions (20 and 120 frames) on the 10 min 720p video (keyframe every 2 s),
// decoded in one pass vs. seeking to the keyframe before each needed frame.
if (process.argv.includes('--long') || process.argv.includes('--gop-skip-only')) {
  const path = generate({ name: '10min_720p', width: 1280, height: 720, seconds: 600 });
  const runDir = join(dir, 'run', 'sparse');
  const d = decodeOnlyMs(path);
  for (const count of [20, 120]) {
    const budgets = new Map([['sparse', { min: count, targetPerMinute: 0, max: count }]]);
    const timings: Record<string, { ms: number; read: number; segments: number }> = {};
    for (const [label, overrides] of [
      ['single_pass', { seek_max_decode_fraction: 0 }],
      ['seek', { seek_max_decode_fraction: 1, seek_merge_gap_frames: 30, seek_segment_cost_frames: 0 }],
    ] as const) {
      rmSync(runDir, { recursive: true, force: true });
      mkdirSync(runDir, { recursive: true });
      const config = segmenterConfigSchema.parse(overrides);
      const t = performance.now();
      const probe = await probeVideo(path, { timeoutMs: 60_000, maxFileBytes: 8e9, maxDurationSec: 1200 });
      const result = await runSegmenter({ probe, identity, runDir, budgets, config });
      if (result.frames.decode_strategy !== label)
        throw new Error(`expected ${label}, got ${result.frames.decode_strategy}`);
      timings[label] = {
        ms: performance.now() - t,
        read: result.frames.source_total_frames_read,
        segments: result.frames.decode_segments,
      };
    }
    rmSync(runDir, { recursive: true, force: true });
    const single = timings.single_pass;
    const seek = timings.seek;
    if (!single || !seek) continue;
    console.log(
      `sparse ${count} frames of 10min_720p: decode-only ${(d / 1000).toFixed(2)} s | single pass ${(single.ms / 1000).toFixed(2)} s (${single.read} frames read) | seek ${(seek.ms / 1000).toFixed(2)} s (${seek.read} frames read, ${seek.segments} segments, ${(seek.ms / seek.segments).toFixed(0)} ms/segment) | gain ${(single.ms / seek.ms).toFixed(2)}×`,
    );
  }
}
