import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataProcessorError, InputError } from '../contracts/index.js';
import { inputArgs, isOutOfMemory, lastErrorLine, spawnTool } from './ffmpeg.js';
import type { VideoProbe } from './probe.js';

/** What to extract in the one decode pass. */
export interface ExtractRequest {
  probe: VideoProbe;
  /** Sorted source-domain indices to deliver (the union). */
  unionSource: Int32Array;
  width: number;
  height: number;
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
 * Decodes a video once and delivers only the requested frames, scaled, as RGB24 (R-SEG-3/4).
 * One interface, so an in-process decoder can replace the ffmpeg CLI without touching callers;
 * the CLI pipe was measured faster here (see docs/SEGMENTER_CONTRACT.md).
 */
export interface FrameSource {
  readonly name: string;
  extract(request: ExtractRequest, sink: FrameSink): Promise<ExtractStats>;
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

/** The `-filter_script` text: select before scale, so unneeded frames are never scaled or copied. */
export function videoFilter(
  probe: VideoProbe,
  unionSource: Int32Array,
  width: number,
  height: number,
): string {
  const filters: string[] = [];
  if (unionSource.length < probe.video.frameTimestampsSec.length)
    filters.push(`select='${selectExpression(unionSource)}'`);
  // ffmpeg applies the rotation (autorotate) before this chain; the scale also squares the pixels.
  filters.push(`scale=${width}:${height}:flags=bilinear`, 'setsar=1', 'format=rgb24');
  return filters.join(',');
}

/** Arguments for the one ffmpeg pass: video → rawvideo pipe, audio → WAV file (when wanted). */
export function extractArgs(
  request: ExtractRequest,
  filterScriptPath: string,
  audioTempPath: string | null,
): string[] {
  const { probe } = request;
  const args = [
    '-v',
    'error',
    ...inputArgs(probe.path),
    '-map',
    `0:${probe.video.streamIndex}`,
    '-filter_script:v',
    filterScriptPath,
    // Passthrough: never duplicate or drop frames to reach a nominal rate.
    '-fps_mode',
    'passthrough',
    '-f',
    'rawvideo',
    'pipe:1',
  ];
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

  async extract(request: ExtractRequest, sink: FrameSink): Promise<ExtractStats> {
    const started = performance.now();
    await mkdir(request.scratchDir, { recursive: true });
    const filterScriptPath = join(request.scratchDir, 'video_filter.txt');
    await writeFile(
      filterScriptPath,
      videoFilter(request.probe, request.unionSource, request.width, request.height),
    );
    const audioTempPath = request.audioOutputPath ? `${request.audioOutputPath}.partial.wav` : null;
    const { child, done } = spawnTool('ffmpeg', extractArgs(request, filterScriptPath, audioTempPath), {
      timeoutMs: request.timeoutMs,
      ...(request.memoryLimitMb ? { memoryLimitMb: request.memoryLimitMb } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    const frameBytes = request.width * request.height * 3;
    let bytes = 0;
    let reported = 0;
    try {
      for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
        await sink(chunk);
        bytes += chunk.length;
        const frames = Math.floor(bytes / frameBytes);
        if (frames !== reported) {
          reported = frames;
          request.onProgress?.(frames);
        }
      }
    } catch (error) {
      child.kill('SIGKILL');
      await done.catch(() => undefined);
      if (audioTempPath) await rm(audioTempPath, { force: true });
      throw error;
    }
    const result = await done;
    if (result.timedOut) {
      if (audioTempPath) await rm(audioTempPath, { force: true });
      throw new DataProcessorError(
        'TIMEOUT',
        `Decoding did not finish within ${Math.round(request.timeoutMs / 1000)} s.`,
      );
    }
    const expected = request.unionSource.length * frameBytes;
    if (result.exitCode !== 0 || bytes !== expected) {
      if (audioTempPath) await rm(audioTempPath, { force: true });
      if (result.exitCode !== 0 && isOutOfMemory(result.stderr)) {
        throw new DataProcessorError(
          'OOM',
          `The decoder exceeded its memory bound of ${request.memoryLimitMb} MiB (segmenter.decode_memory_limit_mb).`,
        );
      }
      const why =
        result.exitCode !== 0
          ? lastErrorLine(result.stderr)
          : `decoded ${bytes / frameBytes} of ${request.unionSource.length} frames`;
      throw new InputError('INPUT_UNREADABLE', `The video could not be decoded completely: ${why}.`);
    }
    if (audioTempPath && request.audioOutputPath) await rename(audioTempPath, request.audioOutputPath);
    return {
      framesDelivered: bytes / frameBytes,
      bytesDelivered: bytes,
      wallMs: performance.now() - started,
    };
  }
}
