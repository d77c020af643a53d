import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DataProcessorError, InputError } from '../contracts/index.js';
import { inputArgs, isOutOfMemory, lastErrorLine, spawnTool } from './ffmpeg.js';
import type { VideoProbe } from './probe.js';

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
}

/** Receives raw RGB24 bytes in order; chunk boundaries do not align with frames. */
export type FrameSink = (chunk: Uint8Array) => Promise<void>;

export interface ExtractStats {
  framesDelivered: number;
  bytesDelivered: number;
  wallMs: number;
}

/**
 * Decodes a video once and delivers only the requested frames, scaled, as RGB24 (R-SEG-3/4):
 * `sinks[0]` gets the union at the analysis size, `sinks[i + 1]` bucket i. One interface, so an
 * in-process decoder can replace the ffmpeg CLI without touching callers; the CLI pipe was
 * measured faster here (see docs/SEGMENTER_CONTRACT.md).
 */
export interface FrameSource {
  readonly name: string;
  extract(request: ExtractRequest, sinks: readonly FrameSink[]): Promise<ExtractStats>;
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
  request: Pick<ExtractRequest, 'probe' | 'unionSource' | 'width' | 'height' | 'buckets'>,
): string {
  const { probe, unionSource, buckets } = request;
  const selectUnion =
    unionSource.length < probe.video.frameTimestampsSec.length
      ? `select='${selectExpression(unionSource)}',`
      : '';
  const outputs = 1 + buckets.length;
  const head = `[0:${probe.video.streamIndex}]${selectUnion}${outputs > 1 ? `split=${outputs}${Array.from({ length: outputs }, (_, i) => `[s${i}]`).join('')}` : 'null[s0]'}`;
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

/** Arguments for the one ffmpeg pass: frames → rawvideo pipes (fd 1, then 3, 4, …), audio → WAV. */
export function extractArgs(
  request: ExtractRequest,
  filterScriptPath: string,
  audioTempPath: string | null,
): string[] {
  const { probe } = request;
  const args = ['-v', 'error', ...inputArgs(probe.path), '-filter_complex_script', filterScriptPath];
  for (let i = 0; i <= request.buckets.length; i += 1) {
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
  if (audioTempPath && probe.audio) {
    const channels = Math.min(2, Math.max(1, probe.audio.channels));
    args.push(
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
    );
  }
  return args;
}

/** FrameSource on the ffmpeg CLI: one process, frames piped as raw RGB24. */
export class FfmpegCliFrameSource implements FrameSource {
  readonly name = 'ffmpeg-cli-pipe';

  async extract(request: ExtractRequest, sinks: readonly FrameSink[]): Promise<ExtractStats> {
    const started = performance.now();
    await mkdir(request.scratchDir, { recursive: true });
    const filterScriptPath = join(request.scratchDir, 'filter_graph.txt');
    await writeFile(filterScriptPath, filterGraph(request));
    const audioTempPath = request.audioOutputPath ? `${request.audioOutputPath}.partial.wav` : null;
    const { child, done } = spawnTool('ffmpeg', extractArgs(request, filterScriptPath, audioTempPath), {
      timeoutMs: request.timeoutMs,
      extraPipes: request.buckets.length,
      ...(request.memoryLimitMb ? { memoryLimitMb: request.memoryLimitMb } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    const frameBytes = request.width * request.height * 3;
    const streams: Readable[] = [
      child.stdout,
      ...request.buckets.map((_, i) => child.stdio[i + 3] as Readable),
    ];
    const received = streams.map(() => 0);
    let reported = 0;
    const pump = async (stream: Readable, i: number): Promise<void> => {
      const sink = sinks[i];
      if (!sink) throw new DataProcessorError('INTERNAL', `no sink for frame output ${i}`);
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        await sink(chunk);
        received[i] = (received[i] ?? 0) + chunk.length;
        if (i === 0) {
          const frames = Math.floor((received[0] ?? 0) / frameBytes);
          if (frames !== reported) {
            reported = frames;
            request.onProgress?.(frames);
          }
        }
      }
    };
    const cleanup = async (): Promise<void> => {
      if (audioTempPath) await rm(audioTempPath, { force: true });
    };
    try {
      // Every output is drained concurrently: ffmpeg blocks when any pipe is full.
      await Promise.all(streams.map(pump));
    } catch (error) {
      child.kill('SIGKILL');
      await done.catch(() => undefined);
      await cleanup();
      throw error;
    }
    const result = await done;
    if (result.timedOut) {
      await cleanup();
      throw new DataProcessorError(
        'TIMEOUT',
        `Decoding did not finish within ${Math.round(request.timeoutMs / 1000)} s.`,
      );
    }
    const expected = [
      request.unionSource.length * frameBytes,
      ...request.buckets.map((b) => b.unionPositions.length * b.width * b.height * 3),
    ];
    const complete = expected.every((bytes, i) => received[i] === bytes);
    if (result.exitCode !== 0 || !complete) {
      await cleanup();
      if (result.exitCode !== 0 && isOutOfMemory(result.stderr)) {
        throw new DataProcessorError(
          'OOM',
          `The decoder exceeded its memory bound of ${request.memoryLimitMb} MiB (segmenter.decode_memory_limit_mb).`,
        );
      }
      const why =
        result.exitCode !== 0
          ? lastErrorLine(result.stderr)
          : `decoded ${(received[0] ?? 0) / frameBytes} of ${request.unionSource.length} frames`;
      throw new InputError('INPUT_UNREADABLE', `The video could not be decoded completely: ${why}.`);
    }
    if (audioTempPath && request.audioOutputPath) await rename(audioTempPath, request.audioOutputPath);
    const bytesDelivered = received.reduce((a, b) => a + b, 0);
    return {
      framesDelivered: (received[0] ?? 0) / frameBytes,
      bytesDelivered,
      wallMs: performance.now() - started,
    };
  }
}
