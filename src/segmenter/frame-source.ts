import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { DataProcessorError, InputError } from '../contracts/index.js';
import { TEMP_PREFIX } from '../storage/index.js';
import { inputArgs, isOutOfMemory, lastErrorLine, spawnTool } from './ffmpeg.js';
import { frameSignalChain, frameSignalOutputArgs } from './frame-signal.js';
import type { VideoProbe } from './probe.js';
import type { SeekPlan } from './seek-plan.js';

/** A second resolution for some union frames (R-SEG-5), decoded in the same pass. */
export interface BucketRequest {
  /** Union-domain positions (0…N−1, ascending) to deliver at this size. */
  unionPositions: Int32Array;
  width: number;
  height: number;
}

/** What to extract in the one decode pass. */
export interface ExtractRequest {
  probe: VideoProbe;
  /** Sorted source-domain indices to deliver (the union). */
  unionSource: Int32Array;
  width: number;
  height: number;
  buckets: readonly BucketRequest[];
  /** When set, the audio track is written to this WAV path in the same pass (48 kHz, f32le, ≤ 2 ch). */
  audioOutputPath: string | null;
  /** Scratch directory for the filter script (inside the run's `_tmp_*`). */
  scratchDir: string;
  timeoutMs: number;
  memoryLimitMb?: number;
  signal?: AbortSignal;
  onProgress?: (framesDelivered: number) => void;
  /**
   * When set, a thumbnail of EVERY decoded source frame travels to `write` (raw yuv420p, see
   * frame-signal.ts) from the same pass. Single-pass sources only; the seeking source skips frames.
   */
  frameSignal?: { readonly write: (chunk: Buffer) => void } | null;
}

/**
 * Where one frame output (the union, or a bucket) goes: batch files already holding their NPY
 * preambles. A source either lets ffmpeg write into the descriptors (`fds`, positioned after the
 * preambles) or writes the raw stream itself (`write`, sequential across batches).
 */
export interface FrameOutput {
  readonly batchCounts: readonly number[];
  readonly fds: readonly number[];
  write(chunk: Uint8Array): Promise<void>;
  /** Frames each batch file holds now. */
  framesWritten(): Promise<number[]>;
  /** A hint while decoding: batches already complete may be made durable now. */
  checkpoint(): void;
}

export interface ExtractStats {
  framesDelivered: number;
  bytesDelivered: number;
  wallMs: number;
}

/**
 * Decodes a video once and delivers only the requested frames, scaled, as RGB24 (R-SEG-3/4):
 * `outputs[0]` gets the union at the analysis size, `outputs[i + 1]` bucket i. One interface, so
 * the way frames travel (ffmpeg writing files, a pipe, an in-process decoder) can change without
 * touching callers; see docs/SEGMENTER_CONTRACT.md for the measurements behind the default.
 */
export interface FrameSource {
  readonly name: string;
  extract(request: ExtractRequest, outputs: readonly FrameOutput[]): Promise<ExtractStats>;
}

/**
 * A select expression that is true exactly on `indices` (sorted). Consecutive indices become
 * `between` ranges, and the ranges a balanced `if(lt(n,…))` tree, so ffmpeg evaluates O(log R)
 * terms per frame instead of one term per wanted frame.
 */
export function selectExpression(indices: Int32Array): string {
  const ranges: [number, number][] = [];
  for (const i of indices) {
    const last = ranges.at(-1);
    if (last && i === last[1] + 1) last[1] = i;
    else ranges.push([i, i]);
  }
  const build = (lo: number, hi: number): string => {
    if (hi - lo === 1) {
      const [a, b] = ranges[lo] as [number, number];
      return a === b ? `eq(n,${a})` : `between(n,${a},${b})`;
    }
    const mid = (lo + hi) >> 1;
    return `if(lt(n,${(ranges[mid] as [number, number])[0]}),${build(lo, mid)},${build(mid, hi)})`;
  };
  return ranges.length === 0 ? '0' : build(0, ranges.length);
}

function scaleChain(width: number, height: number): string {
  // The scale also squares the pixels; ffmpeg applies the rotation (autorotate) before the graph.
  return `scale=${width}:${height}:flags=bilinear,setsar=1,format=rgb24`;
}

/**
 * The `-filter_complex_script` text. The union is selected before anything is scaled, so unneeded
 * frames are never scaled or copied; a bucket selects its frames among the union frames (the second
 * select's `n` counts union frames) and scales them from the source resolution.
 */
export function filterGraph(
  request: Pick<ExtractRequest, 'probe' | 'unionSource' | 'width' | 'height' | 'buckets'> & {
    frameSignal?: unknown;
  },
): string {
  const { probe, unionSource, buckets } = request;
  // The every-frame signal branches off before the union's select: `[sig]` sees every frame.
  const signal = request.frameSignal ? `split=2[fsig][fsrc];${frameSignalChain('fsig', 'sig')};[fsrc]` : '';
  const selectUnion =
    unionSource.length < probe.video.frameTimestampsSec.length
      ? `select='${selectExpression(unionSource)}',`
      : '';
  const outputs = 1 + buckets.length;
  const head = `[0:${probe.video.streamIndex}]${signal}${selectUnion}${outputs > 1 ? `split=${outputs}${Array.from({ length: outputs }, (_, i) => `[s${i}]`).join('')}` : 'null[s0]'}`;
  const chains = [`[s0]${scaleChain(request.width, request.height)}[out0]`];
  buckets.forEach((bucket, i) => {
    const select =
      bucket.unionPositions.length < unionSource.length
        ? `select='${selectExpression(bucket.unionPositions)}',`
        : '';
    chains.push(`[s${i + 1}]${select}${scaleChain(bucket.width, bucket.height)}[out${i + 1}]`);
  });
  return [head, ...chains].join(';');
}

/** Frame outputs as rawvideo to pipes: fd 1 for the union, then 3, 4, … for buckets. */
export function pipeOutputArgs(buckets: number): string[] {
  const args: string[] = [];
  for (let i = 0; i <= buckets; i += 1) {
    // Passthrough: never duplicate or drop frames to reach a nominal rate.
    args.push(
      '-map',
      `[out${i}]`,
      '-fps_mode',
      'passthrough',
      '-f',
      'rawvideo',
      i === 0 ? 'pipe:1' : `pipe:${i + 2}`,
    );
  }
  return args;
}

/**
 * Frame outputs written by ffmpeg itself into inherited descriptors: output k's batch files are
 * the child's fds `firstFds[k]…`; the segment muxer switches to the next descriptor after each
 * batch's frame count, so frames land in their batch files with no copy through us.
 */
export function fileOutputArgs(
  outputs: readonly { batchCounts: readonly number[] }[],
  firstFds: readonly number[],
): string[] {
  const args: string[] = [];
  outputs.forEach((output, k) => {
    const first = firstFds[k] ?? 3;
    args.push('-map', `[out${k}]`, '-fps_mode', 'passthrough', '-c:v', 'rawvideo');
    if (output.batchCounts.length === 1) {
      args.push('-f', 'rawvideo', `pipe:${first}`);
      return;
    }
    let cumulative = 0;
    const splits = output.batchCounts.slice(0, -1).map((n) => (cumulative += n));
    args.push(
      '-f',
      'segment',
      '-segment_format',
      'rawvideo',
      '-segment_frames',
      splits.join(','),
      '-segment_start_number',
      String(first),
      'pipe:%d',
    );
  });
  return args;
}

/**
 * Where ffmpeg writes the audio before it is complete: a temp name the store's GC removes
 * (TEMP_PREFIX), unique per decode, so a decode killed midway never blocks the next one.
 */
function partialAudioPath(audioOutputPath: string | null): string | null {
  if (!audioOutputPath) return null;
  return join(
    dirname(audioOutputPath),
    `${TEMP_PREFIX}${basename(audioOutputPath)}-${randomBytes(6).toString('hex')}`,
  );
}

/** Audio to a WAV file in the same pass (48 kHz, float32, original layout up to stereo). */
function audioArgs(probe: VideoProbe, audioTempPath: string | null): string[] {
  if (!audioTempPath || !probe.audio) return [];
  const channels = Math.min(2, Math.max(1, probe.audio.channels));
  return [
    '-map',
    `0:${probe.audio.streamIndex}`,
    '-vn',
    '-ac',
    String(channels),
    '-ar',
    '48000',
    '-c:a',
    'pcm_f32le',
    '-f',
    'wav',
    audioTempPath,
  ];
}

/** Shared checks after ffmpeg exits: timeout, memory bound, completeness. */
async function finishDecode(
  request: ExtractRequest,
  result: { exitCode: number | null; stderr: string; timedOut: boolean },
  outputs: readonly FrameOutput[],
  audioTempPath: string | null,
): Promise<number> {
  const cleanup = async (): Promise<void> => {
    if (audioTempPath) await rm(audioTempPath, { force: true });
  };
  if (result.timedOut) {
    await cleanup();
    throw new DataProcessorError(
      'TIMEOUT',
      `Decoding did not finish within ${Math.round(request.timeoutMs / 1000)} s.`,
    );
  }
  if (result.exitCode !== 0 && isOutOfMemory(result.stderr)) {
    await cleanup();
    throw new DataProcessorError(
      'OOM',
      `The decoder exceeded its memory bound of ${request.memoryLimitMb} MiB (segmenter.decode_memory_limit_mb).`,
    );
  }
  const written = await Promise.all(outputs.map((o) => o.framesWritten()));
  const complete = written.every((counts, k) => counts.every((n, i) => n === outputs[k]?.batchCounts[i]));
  if (result.exitCode !== 0 || !complete) {
    await cleanup();
    const got = (written[0] ?? []).reduce((a, b) => a + b, 0);
    const why =
      result.exitCode !== 0
        ? lastErrorLine(result.stderr)
        : `decoded ${got} of ${request.unionSource.length} frames`;
    throw new InputError('INPUT_UNREADABLE', `The video could not be decoded completely: ${why}.`);
  }
  if (audioTempPath && request.audioOutputPath) await rename(audioTempPath, request.audioOutputPath);
  return written.flat().reduce((a, b) => a + b, 0);
}

async function writeFilterScript(request: ExtractRequest): Promise<string> {
  await mkdir(request.scratchDir, { recursive: true });
  const path = join(request.scratchDir, 'filter_graph.txt');
  await writeFile(path, filterGraph(request));
  return path;
}

/**
 * FrameSource on the ffmpeg CLI, ffmpeg writing the batch files itself (the default: no pipe, no
 * copy). Progress comes from ffmpeg's `-progress` report.
 */
export class FfmpegFileFrameSource implements FrameSource {
  readonly name = 'ffmpeg-cli-files';

  async extract(request: ExtractRequest, outputs: readonly FrameOutput[]): Promise<ExtractStats> {
    const started = performance.now();
    const filterScriptPath = await writeFilterScript(request);
    const audioTempPath = partialAudioPath(request.audioOutputPath);
    const fds = outputs.flatMap((o) => [...o.fds]);
    const firstFds: number[] = [];
    // The frame signal, when asked for, is a pipe on fd 3; the batch files' descriptors follow.
    const signalPipes = request.frameSignal ? 1 : 0;
    let next = 3 + signalPipes;
    for (const o of outputs) {
      firstFds.push(next);
      next += o.fds.length;
    }
    const args = [
      '-v',
      'error',
      '-nostats',
      '-progress',
      'pipe:1',
      '-stats_period',
      '0.25',
      ...inputArgs(request.probe.path),
      '-filter_complex_script',
      filterScriptPath,
      ...fileOutputArgs(outputs, firstFds),
      ...(signalPipes ? frameSignalOutputArgs('sig', 3) : []),
      ...audioArgs(request.probe, audioTempPath),
    ];
    const { child, done } = spawnTool('ffmpeg', args, {
      timeoutMs: request.timeoutMs,
      extraPipes: signalPipes,
      inheritFds: fds,
      ...(request.memoryLimitMb ? { memoryLimitMb: request.memoryLimitMb } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    if (request.frameSignal) (child.stdio[3] as Readable).on('data', request.frameSignal.write);
    let progressText = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      progressText += text;
      const lines = progressText.split('\n');
      progressText = lines.pop() ?? '';
      for (const line of lines) {
        const frames = /^frame=(\d+)/.exec(line);
        if (frames) {
          request.onProgress?.(Number(frames[1]));
          for (const output of outputs) output.checkpoint();
        }
      }
    });
    const result = await done;
    const frames = await finishDecode(request, result, outputs, audioTempPath);
    request.onProgress?.(request.unionSource.length);
    return {
      framesDelivered: request.unionSource.length,
      bytesDelivered: frames,
      wallMs: performance.now() - started,
    };
  }
}

/**
 * No component reads frames (an audio-only profile): only the audio track is extracted, by one
 * ffmpeg process that never decodes video; with no audio either, nothing runs at all.
 */
export async function extractAudioOnly(request: ExtractRequest): Promise<ExtractStats> {
  const started = performance.now();
  const audioTempPath = partialAudioPath(request.audioOutputPath);
  const args = audioArgs(request.probe, audioTempPath);
  if (args.length > 0) {
    const { done } = spawnTool('ffmpeg', ['-v', 'error', ...inputArgs(request.probe.path), ...args], {
      timeoutMs: request.timeoutMs,
      ...(request.memoryLimitMb ? { memoryLimitMb: request.memoryLimitMb } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    await finishDecode(request, await done, [], audioTempPath);
  }
  return { framesDelivered: 0, bytesDelivered: 0, wallMs: performance.now() - started };
}

/** The frame source used unless a caller chooses one. */
export function defaultFrameSource(): FrameSource {
  return new FfmpegFileFrameSource();
}

/** FrameSource on the ffmpeg CLI with frames piped to us as raw RGB24 (kept for comparison in bench/). */
export class FfmpegPipeFrameSource implements FrameSource {
  readonly name = 'ffmpeg-cli-pipe';

  async extract(request: ExtractRequest, outputs: readonly FrameOutput[]): Promise<ExtractStats> {
    const started = performance.now();
    const filterScriptPath = await writeFilterScript(request);
    const audioTempPath = partialAudioPath(request.audioOutputPath);
    const args = [
      '-v',
      'error',
      ...inputArgs(request.probe.path),
      '-filter_complex_script',
      filterScriptPath,
      ...pipeOutputArgs(request.buckets.length),
      ...(request.frameSignal ? frameSignalOutputArgs('sig', request.buckets.length + 3) : []),
      ...audioArgs(request.probe, audioTempPath),
    ];
    const signalPipes = request.frameSignal ? 1 : 0;
    const { child, done } = spawnTool('ffmpeg', args, {
      timeoutMs: request.timeoutMs,
      extraPipes: request.buckets.length + signalPipes,
      ...(request.memoryLimitMb ? { memoryLimitMb: request.memoryLimitMb } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    const frameBytes = request.width * request.height * 3;
    const streams: Readable[] = [
      child.stdout,
      ...request.buckets.map((_, i) => child.stdio[i + 3] as Readable),
    ];
    if (request.frameSignal)
      (child.stdio[request.buckets.length + 3] as Readable).on('data', request.frameSignal.write);
    let received = 0;
    let reported = 0;
    const pump = async (stream: Readable, i: number): Promise<void> => {
      const output = outputs[i];
      if (!output) throw new DataProcessorError('INTERNAL', `no output for frame stream ${i}`);
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        await output.write(chunk);
        if (i === 0) {
          received += chunk.length;
          const frames = Math.floor(received / frameBytes);
          if (frames !== reported) {
            reported = frames;
            request.onProgress?.(frames);
          }
        }
      }
    };
    try {
      // Every output is drained concurrently: ffmpeg blocks when any pipe is full.
      await Promise.all(streams.map(pump));
    } catch (error) {
      child.kill('SIGKILL');
      await done.catch(() => undefined);
      if (audioTempPath) await rm(audioTempPath, { force: true });
      throw error;
    }
    const frames = await finishDecode(request, await done, outputs, audioTempPath);
    return {
      framesDelivered: request.unionSource.length,
      bytesDelivered: frames,
      wallMs: performance.now() - started,
    };
  }
}

/**
 * FrameSource that skips GOPs holding no needed frame (R-PERF-1): one short ffmpeg process per
 * seek segment, each seeking to the segment's keyframe (`-seek_timestamp 1 -noaccurate_seek`,
 * timestamps kept with `-copyts`) and selecting the needed frames by their presentation time, then
 * stopping after the last one (`-frames:v`). Frames travel through pipes into the batch files in
 * union order; the audio track is extracted by its own process meanwhile. Used by the Segmenter
 * only when the plan decodes a small enough share of the video.
 */
export class FfmpegSeekingFrameSource implements FrameSource {
  readonly name = 'ffmpeg-cli-seek';

  constructor(private readonly plan: SeekPlan) {}

  async extract(request: ExtractRequest, outputs: readonly FrameOutput[]): Promise<ExtractStats> {
    const started = performance.now();
    await mkdir(request.scratchDir, { recursive: true });
    const audioTempPath = partialAudioPath(request.audioOutputPath);
    const toolOptions = {
      timeoutMs: request.timeoutMs,
      ...(request.memoryLimitMb ? { memoryLimitMb: request.memoryLimitMb } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    };
    const audioArgsList = audioArgs(request.probe, audioTempPath);
    const audio =
      audioArgsList.length > 0
        ? spawnTool(
            'ffmpeg',
            ['-v', 'error', ...inputArgs(request.probe.path), ...audioArgsList],
            toolOptions,
          ).done
        : null;
    const deadline = performance.now() + request.timeoutMs;
    const times = request.probe.video.frameTimestampsSec;
    // Half the smallest gap between frames: a window that catches exactly one frame's timestamp.
    let minGap = Number.POSITIVE_INFINITY;
    for (let i = 1; i < times.length; i += 1)
      minGap = Math.min(minGap, (times[i] ?? 0) - (times[i - 1] ?? 0));
    const epsilon = Number.isFinite(minGap) && minGap > 0 ? minGap / 3 : 1e-4;
    let failure: { exitCode: number | null; stderr: string; timedOut: boolean } | null = null;
    for (const [segmentNumber, segment] of this.plan.segments.entries()) {
      const union = request.unionSource.subarray(segment.unionFrom, segment.unionTo + 1);
      const bucketsHere = request.buckets
        .map((bucket, index) => ({
          index,
          bucket,
          local: Int32Array.from(
            Array.from(bucket.unionPositions).filter((u) => u >= segment.unionFrom && u <= segment.unionTo),
            (u) => u - segment.unionFrom,
          ),
        }))
        .filter((b) => b.local.length > 0);
      const wanted = Array.from(union, (s) => times[s] ?? 0);
      const graph = segmentGraph(
        request,
        wanted,
        epsilon,
        bucketsHere.map((b) => ({ ...b.bucket, unionPositions: b.local })),
      );
      const scriptPath = join(request.scratchDir, `segment_${segmentNumber}.txt`);
      await writeFile(scriptPath, graph);
      const start = (times[segment.startFrame] ?? 0).toFixed(6);
      const args = [
        '-v',
        'error',
        '-copyts',
        '-seek_timestamp',
        '1',
        '-noaccurate_seek',
        '-ss',
        start,
        ...inputArgs(request.probe.path),
        '-filter_complex_script',
        scriptPath,
      ];
      args.push(
        '-map',
        '[out0]',
        '-frames:v',
        String(union.length),
        '-fps_mode',
        'passthrough',
        '-f',
        'rawvideo',
        'pipe:1',
      );
      bucketsHere.forEach((b, j) =>
        args.push(
          '-map',
          `[out${j + 1}]`,
          '-frames:v',
          String(b.local.length),
          '-fps_mode',
          'passthrough',
          '-f',
          'rawvideo',
          `pipe:${j + 3}`,
        ),
      );
      const { child, done } = spawnTool('ffmpeg', args, {
        ...toolOptions,
        timeoutMs: Math.max(1000, deadline - performance.now()),
        extraPipes: bucketsHere.length,
      });
      const streams: [Readable, FrameOutput | undefined][] = [
        [child.stdout, outputs[0]],
        ...bucketsHere.map((b, j): [Readable, FrameOutput | undefined] => [
          child.stdio[j + 3] as Readable,
          outputs[b.index + 1],
        ]),
      ];
      try {
        await Promise.all(
          streams.map(async ([stream, output]) => {
            if (!output) throw new DataProcessorError('INTERNAL', 'no output for a frame stream');
            for await (const chunk of stream as AsyncIterable<Buffer>) await output.write(chunk);
          }),
        );
      } catch (error) {
        child.kill('SIGKILL');
        await done.catch(() => undefined);
        throw error;
      }
      const result = await done;
      if (result.exitCode !== 0 || result.timedOut) {
        failure = result;
        break;
      }
      request.onProgress?.(segment.unionTo + 1);
      for (const output of outputs) output.checkpoint();
    }
    const audioResult = audio ? await audio : null;
    const result = failure ?? audioResult ?? { exitCode: 0, stderr: '', timedOut: false };
    const frames = await finishDecode(request, result, outputs, audioTempPath);
    return {
      framesDelivered: request.unionSource.length,
      bytesDelivered: frames,
      wallMs: performance.now() - started,
    };
  }
}

/** The filter graph of one seek segment: frames chosen by presentation time, then split and scaled. */
function segmentGraph(
  request: ExtractRequest,
  wantedTimes: number[],
  epsilon: number,
  buckets: BucketRequest[],
): string {
  const build = (lo: number, hi: number): string => {
    if (hi - lo === 1) {
      const t = wantedTimes[lo] ?? 0;
      return `between(t,${(t - epsilon).toFixed(6)},${(t + epsilon).toFixed(6)})`;
    }
    const mid = (lo + hi) >> 1;
    return `if(lt(t,${((wantedTimes[mid] ?? 0) - epsilon).toFixed(6)}),${build(lo, mid)},${build(mid, hi)})`;
  };
  const outputs = 1 + buckets.length;
  const head = `[0:${request.probe.video.streamIndex}]select='${build(0, wantedTimes.length)}',${outputs > 1 ? `split=${outputs}${Array.from({ length: outputs }, (_, i) => `[s${i}]`).join('')}` : 'null[s0]'}`;
  const chains = [`[s0]${scaleChain(request.width, request.height)}[out0]`];
  buckets.forEach((bucket, i) => {
    const select =
      bucket.unionPositions.length < wantedTimes.length
        ? `select='${selectExpression(bucket.unionPositions)}',`
        : '';
    chains.push(`[s${i + 1}]${select}${scaleChain(bucket.width, bucket.height)}[out${i + 1}]`);
  });
  return [head, ...chains].join(';');
}
