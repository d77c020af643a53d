import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { DataProcessorError, InputError } from '../contracts/index.js';
import { MAX_INPUT_PIXELS, inputArgs, isOutOfMemory, lastErrorLine, runTool } from './ffmpeg.js';

const streamSchema = z
  .object({
    index: z.number(),
    codec_type: z.string().optional(),
    codec_name: z.string().optional(),
    width: z.number().optional(),
    height: z.number().optional(),
    sample_aspect_ratio: z.string().optional(),
    r_frame_rate: z.string().optional(),
    avg_frame_rate: z.string().optional(),
    duration: z.string().optional(),
    start_time: z.string().optional(),
    channels: z.number().optional(),
    sample_rate: z.string().optional(),
    disposition: z.record(z.string(), z.number()).optional(),
    tags: z.record(z.string(), z.string()).optional(),
    side_data_list: z.array(z.record(z.string(), z.unknown())).optional(),
  })
  .loose();

const probeSchema = z
  .object({
    streams: z.array(streamSchema).default([]),
    format: z
      .object({
        format_name: z.string().optional(),
        duration: z.string().optional(),
        size: z.string().optional(),
      })
      .loose()
      .optional(),
  })
  .loose();

/** What the Segmenter knows about an input before decoding it. */
export interface VideoProbe {
  path: string;
  fileBytes: number;
  formatName: string;
  durationSec: number;
  video: {
    streamIndex: number;
    codec: string;
    /** Coded size as stored. */
    width: number;
    height: number;
    /** Upright size with square pixels (rotation and sample aspect ratio applied). */
    displayWidth: number;
    displayHeight: number;
    sampleAspectRatio: number;
    rotationDeg: number;
    /** Nominal frame rate (avg_frame_rate, else r_frame_rate). */
    fps: number;
    /** Presentation timestamps (seconds) of every frame, in presentation order. */
    frameTimestampsSec: Float64Array;
    /** 1 where the frame (presentation order) is a keyframe: a point decoding can start from. */
    keyframes: Uint8Array;
    startTimeSec: number;
  };
  audio: {
    streamIndex: number;
    codec: string;
    channels: number;
    sampleRate: number;
    /** Number of audio streams in the file; the default (or first) one is used. */
    streamCount: number;
  } | null;
}

function parseRate(text: string | undefined): number {
  if (!text) return 0;
  const [num, den] = text.split('/').map(Number);
  if (num === undefined || !Number.isFinite(num)) return 0;
  if (den === undefined) return num;
  return den > 0 ? num / den : 0;
}

function parseRatio(text: string | undefined): number {
  if (!text) return 1;
  const [num, den] = text.split(':').map(Number);
  if (!num || !den) return 1; // "0:1" means unknown: square pixels
  return num / den;
}

function rotationOf(stream: z.infer<typeof streamSchema>): number {
  const fromMatrix = stream.side_data_list?.find((s) => typeof s.rotation === 'number')?.rotation;
  const raw = typeof fromMatrix === 'number' ? fromMatrix : Number(stream.tags?.rotate ?? 0);
  // Normalise to 0/90/180/270; ffmpeg's display matrix rotation is counter-clockwise and may be negative.
  return (((Math.round(raw / 90) * 90) % 360) + 360) % 360;
}

export interface ProbeLimits {
  timeoutMs: number;
  memoryLimitMb?: number;
  maxFileBytes: number;
  maxDurationSec: number;
}

/**
 * R-SEC-2 file checks before anything reads the input: a regular file within the size cap
 * (INPUT_INVALID otherwise). Returns its size in bytes.
 */
export async function checkInputFile(path: string, maxFileBytes: number): Promise<number> {
  let fileBytes: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new InputError('INPUT_INVALID', `${path} is not a regular file.`);
    fileBytes = info.size;
  } catch (error) {
    if (error instanceof DataProcessorError) throw error;
    throw new InputError('INPUT_INVALID', `Cannot read input ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (fileBytes > maxFileBytes) {
    throw new InputError(
      'INPUT_INVALID',
      `Input is ${fileBytes} bytes, above the ${maxFileBytes}-byte limit.`,
    );
  }
  return fileBytes;
}

/**
 * Probes `path` with ffprobe under the input whitelists (R-SEC-1): streams, rotation, aspect,
 * duration and the presentation timestamps of every video frame (from packets, without decoding).
 * Anything ffprobe cannot open is INPUT_UNREADABLE (exit 10, R-SEG-2).
 */
export async function probeVideo(path: string, limits: ProbeLimits): Promise<VideoProbe> {
  const fileBytes = await checkInputFile(path, limits.maxFileBytes);
  const toolOptions = {
    timeoutMs: limits.timeoutMs,
    ...(limits.memoryLimitMb ? { memoryLimitMb: limits.memoryLimitMb } : {}),
  };
  const result = await runTool(
    'ffprobe',
    ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', ...inputArgs(path)],
    toolOptions,
  );
  if (result.exitCode !== 0 && isOutOfMemory(result.stderr)) {
    throw new DataProcessorError(
      'OOM',
      `ffprobe exceeded its memory bound of ${limits.memoryLimitMb} MiB on this input.`,
    );
  }
  if (result.exitCode !== 0) {
    throw new InputError(
      'INPUT_UNREADABLE',
      `ffprobe cannot read the input as a video: ${lastErrorLine(result.stderr)}`,
    );
  }
  const parsed = probeSchema.safeParse(JSON.parse(result.stdout.toString('utf8') || '{}'));
  if (!parsed.success)
    throw new InputError('INPUT_UNREADABLE', 'ffprobe returned an unexpected description of the input.');
  const { streams, format } = parsed.data;
  const videoStream = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  if (!videoStream || !videoStream.width || !videoStream.height) {
    if (/exceeds specified max pixel count/.test(result.stderr)) {
      const size = /Picture size (\d+)x(\d+)/.exec(result.stderr);
      throw new InputError(
        'INPUT_INVALID',
        `Frames of ${size?.[1]}×${size?.[2]} exceed the ${MAX_INPUT_PIXELS}-pixel cap; refusing to decode.`,
      );
    }
    throw new InputError('INPUT_UNREADABLE', 'The input has no video stream (audio-only or not a video).');
  }
  // R-SEC-2: refuse frames above the pixel cap before anything decodes them.
  if (
    videoStream.width * videoStream.height > MAX_INPUT_PIXELS ||
    /exceeds specified max pixel count/.test(result.stderr)
  ) {
    throw new InputError(
      'INPUT_INVALID',
      `Frames of ${videoStream.width}×${videoStream.height} exceed the ${MAX_INPUT_PIXELS}-pixel cap; refusing to decode.`,
    );
  }
  const audioStreams = streams.filter((s) => s.codec_type === 'audio');
  const audioStream = audioStreams.find((s) => s.disposition?.default === 1) ?? audioStreams[0];

  const claimedDuration = Number(format?.duration ?? videoStream.duration ?? 0);
  if (claimedDuration > limits.maxDurationSec) {
    // R-SEC-2: refuse before reading packets or decoding anything.
    throw new InputError(
      'INPUT_TOO_LONG',
      `The video claims ${claimedDuration.toFixed(1)} s; the maximum is ${limits.maxDurationSec} s.`,
      {
        details: { duration_sec: claimedDuration, max_duration_sec: limits.maxDurationSec },
      },
    );
  }
  const { timestamps: frameTimestampsSec, keyframes } = await probeFrameTimestamps(
    path,
    videoStream.index,
    limits,
  );
  if (frameTimestampsSec.length === 0)
    throw new InputError('INPUT_UNREADABLE', 'The video stream has no frames.');

  const fps = parseRate(videoStream.avg_frame_rate) || parseRate(videoStream.r_frame_rate);
  const containerDuration = Number(format?.duration ?? videoStream.duration ?? Number.NaN);
  const first = frameTimestampsSec[0] ?? 0;
  const last = frameTimestampsSec[frameTimestampsSec.length - 1] ?? 0;
  const frameDuration = fps > 0 ? 1 / fps : 0;
  // Prefer the container's duration; fall back to the span of frame timestamps.
  const durationSec =
    Number.isFinite(containerDuration) && containerDuration > 0
      ? containerDuration
      : last - first + frameDuration;

  const rotationDeg = rotationOf(videoStream);
  const sampleAspectRatio = parseRatio(videoStream.sample_aspect_ratio);
  const squareWidth = Math.round(videoStream.width * sampleAspectRatio);
  const turned = rotationDeg === 90 || rotationDeg === 270;
  return {
    path,
    fileBytes,
    formatName: format?.format_name ?? 'unknown',
    durationSec,
    video: {
      streamIndex: videoStream.index,
      codec: videoStream.codec_name ?? 'unknown',
      width: videoStream.width,
      height: videoStream.height,
      displayWidth: turned ? videoStream.height : squareWidth,
      displayHeight: turned ? squareWidth : videoStream.height,
      sampleAspectRatio,
      rotationDeg,
      fps: fps > 0 ? fps : frameTimestampsSec.length / Math.max(durationSec, 1e-6),
      frameTimestampsSec,
      keyframes,
      startTimeSec: first,
    },
    audio: audioStream
      ? {
          streamIndex: audioStream.index,
          codec: audioStream.codec_name ?? 'unknown',
          channels: audioStream.channels ?? 0,
          sampleRate: Number(audioStream.sample_rate ?? 0),
          streamCount: audioStreams.length,
        }
      : null,
  };
}

/**
 * Presentation timestamps of the frames of one stream, read from packets (demux only, no decode).
 * Packets flagged discard (`D`, e.g. outside an MP4 edit list) are not presented, so not counted.
 */
async function probeFrameTimestamps(
  path: string,
  streamIndex: number,
  limits: ProbeLimits,
): Promise<{ timestamps: Float64Array; keyframes: Uint8Array }> {
  const result = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      String(streamIndex),
      '-show_entries',
      'packet=pts_time,dts_time,flags',
      '-of',
      'csv=p=0',
      ...inputArgs(path),
    ],
    { timeoutMs: limits.timeoutMs, ...(limits.memoryLimitMb ? { memoryLimitMb: limits.memoryLimitMb } : {}) },
  );
  if (result.exitCode !== 0) {
    throw new InputError(
      'INPUT_UNREADABLE',
      `ffprobe cannot read the video packets: ${lastErrorLine(result.stderr)}`,
    );
  }
  const frames: { t: number; key: boolean }[] = [];
  for (const line of result.stdout.toString('utf8').split('\n')) {
    if (!line) continue;
    const [pts, dts, flags = ''] = line.split(',');
    if (flags.includes('D')) continue;
    const t = Number(pts !== 'N/A' && pts !== undefined && pts !== '' ? pts : dts);
    if (Number.isFinite(t)) frames.push({ t, key: flags.startsWith('K') });
  }
  frames.sort((a, b) => a.t - b.t);
  return {
    timestamps: Float64Array.from(frames, (f) => f.t),
    keyframes: Uint8Array.from(frames, (f) => (f.key ? 1 : 0)),
  };
}

/** R-SEG-1 duration contract, checked before a run exists. */
export function checkDuration(probe: VideoProbe, minSec: number, maxSec: number): void {
  if (probe.durationSec < minSec) {
    throw new InputError(
      'INPUT_TOO_SHORT',
      `The video lasts ${probe.durationSec.toFixed(2)} s; the minimum is ${minSec} s.`,
      {
        details: { duration_sec: probe.durationSec, min_duration_sec: minSec },
      },
    );
  }
  if (probe.durationSec > maxSec) {
    throw new InputError(
      'INPUT_TOO_LONG',
      `The video lasts ${probe.durationSec.toFixed(1)} s; the maximum is ${maxSec} s.`,
      {
        details: { duration_sec: probe.durationSec, max_duration_sec: maxSec },
      },
    );
  }
}
