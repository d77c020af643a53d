import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  ContractViolationError,
  AUDIO_DIR,
  AUDIO_FILE,
  FRAMES_DIR,
  METADATA_FILE,
  audioMetadataSchema,
  framesMetadataSchema,
  type ArtifactRef,
  type AudioMetadata,
  type FrameBudget,
  type FramesMetadata,
  type RunIdentity,
} from '../contracts/index.js';
import { LocalResultStore, type ResultStore, type StagedFile } from '../storage/index.js';
import type { SegmenterConfig } from './config.js';
import {
  FfmpegSeekingFrameSource,
  defaultFrameSource,
  extractAudioOnly,
  type ExtractRequest,
  type FrameSource,
} from './frame-source.js';
import { planSeeks } from './seek-plan.js';
import {
  FrameSignalCollector,
  encodeFrameSignal,
  frameSignalMetadata,
  writeFrameSignal,
} from './frame-signal.js';
import { BatchFileSet } from './frames-dir.js';
import type { VideoProbe } from './probe.js';
import { SAMPLING_POLICY_VERSION, planUnion } from './sampling.js';

/** 0.3.0: the every-frame signal's two-step grid (a new scaler, so Segmenter cache keys change). */
export const SEGMENTER_VERSION = '0.3.0';

/** The Segmenter's scratch area (`_tmp_segmenter/`: the ffmpeg filter script). */
const SCRATCH_AREA = 'segmenter';

/** Size of the `data` chunk of the WAV ffmpeg wrote (walks the RIFF chunks; no decoding). */
async function wavDataBytes(path: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const fileBytes = (await handle.stat()).size;
    let offset = 12; // "RIFF" size "WAVE"
    while (offset + 8 <= bytesRead) {
      const id = head.toString('latin1', offset, offset + 4);
      const size = head.readUInt32LE(offset + 4);
      if (id === 'data') return Math.min(size, fileBytes - offset - 8);
      offset += 8 + size + (size % 2);
    }
    throw new ContractViolationError(`${path} has no WAV data chunk`);
  } finally {
    await handle.close();
  }
}

/** Sources above this height are analysed as if downscaled to it first (R-SEG-1). */
export const MAX_ANALYSIS_HEIGHT = 1080;

/**
 * Analysis size (R-SEG-5): height `target`, never above the source's upright height nor 1080,
 * width from the display aspect (rotation and sample aspect ratio applied), both even.
 */
export function analysisSize(probe: VideoProbe, targetHeight: number): { width: number; height: number } {
  const even = (v: number): number => Math.max(2, 2 * Math.round(v / 2));
  const height = even(Math.min(targetHeight, probe.video.displayHeight, MAX_ANALYSIS_HEIGHT));
  const width = even((height * probe.video.displayWidth) / probe.video.displayHeight);
  return { width, height };
}

export interface SegmenterRequest {
  probe: VideoProbe;
  identity: RunIdentity;
  runDir: string;
  /**
   * The result store everything is written through (R-ST-4).
   * @defaultValue a `LocalResultStore` whose root holds `runDir`
   */
  store?: ResultStore;
  /** Frame budgets of the components that read frames, by component name. */
  budgets: ReadonlyMap<string, FrameBudget>;
  /** Minimum heights components declared (R-SEG-5), by component name. */
  minHeights?: ReadonlyMap<string, number>;
  config: SegmenterConfig;
  frameSource?: FrameSource;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface SegmenterResult {
  frames: FramesMetadata;
  audio: AudioMetadata;
  artifacts: ArtifactRef[];
  decodeWallMs: number;
}

interface PlannedBucket {
  name: string;
  dir: string;
  width: number;
  height: number;
  unionPositions: Int32Array;
  batchSize: number;
  writer: BatchFileSet;
}

/**
 * Plans the union of all components' frames, decodes the video once (frames, resolution buckets
 * and audio in the same ffmpeg pass) and writes `frames_dir/` and `audio/` with their metadata
 * (R-SEG-3/4/5/6).
 */
export async function runSegmenter(request: SegmenterRequest): Promise<SegmenterResult> {
  const { probe, identity, runDir, config } = request;
  const timestamps = probe.video.frameTimestampsSec;
  const plan = planUnion(timestamps, probe.durationSec, request.budgets);
  const { width, height } = analysisSize(probe, config.analysis_height);
  const batchSizeFor = (w: number, h: number): number =>
    Math.max(1, Math.floor(config.batch_bytes_limit / (w * h * 3)));
  const batchSize = batchSizeFor(width, height);
  const store = request.store ?? new LocalResultStore(resolve(runDir, '..', '..', '..'));
  const scratchDir = await store.scratchDir(runDir, SCRATCH_AREA);
  const stageIn =
    (dir: string) =>
    (file: string): Promise<StagedFile> =>
      store.openStagedFile(runDir, `${dir}/${file}`);

  // R-SEG-5: components needing more pixels than the analysis height share a bucket per height.
  const bucketOf = new Map<string, string>();
  const bucketPositions = new Map<
    string,
    { size: { width: number; height: number }; positions: Set<number> }
  >();
  for (const [name, minHeight] of request.minHeights ?? []) {
    const own = plan.perComponent.get(name);
    if (!own) continue;
    const size = analysisSize(probe, minHeight);
    if (size.height <= height) continue;
    const bucketName = `h${size.height}`;
    bucketOf.set(name, bucketName);
    const entry = bucketPositions.get(bucketName) ?? { size, positions: new Set<number>() };
    own.unionIndices.forEach((u) => entry.positions.add(u));
    bucketPositions.set(bucketName, entry);
  }
  const buckets: PlannedBucket[] = [];
  for (const [name, { size, positions }] of [...bucketPositions].sort(([a], [b]) => a.localeCompare(b))) {
    const dir = `bucket_${name}`;
    const unionPositions = Int32Array.from([...positions].sort((a, b) => a - b));
    const size2 = batchSizeFor(size.width, size.height);
    buckets.push({
      name,
      dir,
      ...size,
      unionPositions,
      batchSize: size2,
      writer: new BatchFileSet(
        stageIn(`${FRAMES_DIR}/${dir}`),
        unionPositions.length,
        size2,
        size.width,
        size.height,
      ),
    });
  }

  const writer = new BatchFileSet(stageIn(FRAMES_DIR), plan.unionSource.length, batchSize, width, height);
  const writers = [writer, ...buckets.map((b) => b.writer)];
  // GOP skipping pays only when the union is sparse compared with the keyframe interval.
  const seekPlan = planSeeks(probe.video.keyframes, plan.unionSource, config.seek_merge_gap_frames);
  const seeking =
    !request.frameSource &&
    seekPlan.segments.length > 1 &&
    seekPlan.segments.length <= config.seek_max_segments &&
    seekPlan.framesDecoded + seekPlan.segments.length * config.seek_segment_cost_frames <=
      config.seek_max_decode_fraction * timestamps.length;
  const source =
    request.frameSource ?? (seeking ? new FfmpegSeekingFrameSource(seekPlan) : defaultFrameSource());
  const audioFile = probe.audio ? await store.openStagedFile(runDir, `${AUDIO_DIR}/${AUDIO_FILE}`) : null;
  const audioPath = audioFile?.path ?? null;
  const total = plan.unionSource.length;
  // The every-frame signal needs every frame decoded: a single pass (a seeking decode skips GOPs).
  const signal =
    config.frame_signal && total > 0 && !seeking ? new FrameSignalCollector(timestamps.length) : null;
  let signalBytes: Uint8Array | null = null;
  let stats;
  try {
    for (const w of writers) await w.open();
    const extractRequest: ExtractRequest = {
      probe,
      unionSource: plan.unionSource,
      width,
      height,
      buckets: buckets.map((b) => ({ unionPositions: b.unionPositions, width: b.width, height: b.height })),
      audioOutputPath: audioPath,
      scratchDir,
      timeoutMs: Math.max(120, (config.decode_timeout_sec_per_min * probe.durationSec) / 60) * 1000,
      memoryLimitMb: config.decode_memory_limit_mb,
      ...(request.signal ? { signal: request.signal } : {}),
      onProgress: (done) => request.onProgress?.(done, total),
      frameSignal: signal,
    };
    stats =
      total === 0 ? await extractAudioOnly(extractRequest) : await source.extract(extractRequest, writers);
    signalBytes = signal ? signal.bytes() : null;
    await Promise.all(writers.map((w) => w.commit()));
  } catch (error) {
    await Promise.all([...writers.map((w) => w.abort()), audioFile?.abort()]);
    throw error;
  } finally {
    await store.removeScratch(runDir, SCRATCH_AREA);
  }
  const batchEntries = (w: BatchFileSet) =>
    w.written.map((b) => ({
      file: b.file,
      first_union_index: b.first,
      last_union_index: b.first + b.count - 1,
      count: b.count,
    }));

  const createdAt = new Date().toISOString();
  const unionTimestamps = Array.from(plan.unionSource, (s) => timestamps[s] ?? Number.NaN);
  const metadata: FramesMetadata = framesMetadataSchema.parse({
    ...identity,
    video_path: probe.path,
    source_fps: probe.video.fps,
    fps: probe.video.fps,
    analysis_fps: probe.durationSec > 0 ? total / probe.durationSec : 0,
    analysis_width: width,
    analysis_height: height,
    width,
    height,
    channels: 3,
    color_space: 'RGB',
    chunk_size: 1,
    batch_size: batchSize,
    cache_size: batchSize,
    batches: batchEntries(writer),
    total_frames: total,
    union_frame_indices_source: Array.from(plan.unionSource),
    union_timestamps_sec: unionTimestamps,
    source_total_frames: timestamps.length,
    source_total_frames_read: seeking ? seekPlan.framesDecoded : timestamps.length,
    decode_strategy: seeking ? 'seek' : 'single_pass',
    decode_segments: seeking ? seekPlan.segments.length : 1,
    frame_source: source.name,
    duration_sec: probe.durationSec,
    rotation_deg: probe.video.rotationDeg,
    sampling_policy: {
      version: SAMPLING_POLICY_VERSION,
      rule: 'min(total, clamp(round(targetPerMinute*duration/60), min, max)); evenly spaced in presentation time',
    },
    created_at: createdAt,
    metadata: Object.fromEntries(
      [...plan.perComponent].map(([name, p]) => [
        name,
        {
          frame_indices: Array.from(p.unionIndices),
          source_frame_indices: Array.from(p.sourceIndices),
          num_indices: p.unionIndices.length,
          num_source_indices: p.sourceIndices.length,
          budget: p.budget,
          bucket: bucketOf.get(name) ?? null,
          min_height: request.minHeights?.get(name) ?? null,
        },
      ]),
    ),
    buckets: Object.fromEntries(
      buckets.map((b) => [
        b.name,
        {
          dir: b.dir,
          width: b.width,
          height: b.height,
          union_indices: Array.from(b.unionPositions),
          batch_size: b.batchSize,
          batches: batchEntries(b.writer),
        },
      ]),
    ),
    frame_signal: signalBytes ? frameSignalMetadata(timestamps.length) : null,
  });
  const signalRef = signalBytes
    ? await writeFrameSignal(store, runDir, encodeFrameSignal(signalBytes, timestamps, identity))
    : null;
  const framesMetaRef = await store.writeArtifact(
    runDir,
    `${FRAMES_DIR}/${METADATA_FILE}`,
    Buffer.from(JSON.stringify(metadata)),
  );

  const audioArtifacts: ArtifactRef[] = [];
  let audioDuration = 0;
  if (audioFile) {
    const channels = Math.min(2, Math.max(1, probe.audio?.channels ?? 1));
    audioDuration = (await wavDataBytes(audioFile.path)) / (4 * channels * 48000);
    const stored = await audioFile.commit();
    audioArtifacts.push({ path: stored.path, type: 'wav', sha256: stored.sha256, bytes: stored.bytes });
  }
  const audio: AudioMetadata = audioMetadataSchema.parse({
    ...identity,
    has_audio: audioPath !== null,
    file: audioPath ? AUDIO_FILE : null,
    sample_rate: 48000,
    channels: probe.audio ? Math.min(2, Math.max(1, probe.audio.channels)) : 0,
    source_channels: probe.audio?.channels ?? 0,
    source_codec: probe.audio?.codec ?? null,
    source_stream_index: probe.audio?.streamIndex ?? null,
    source_audio_streams: probe.audio?.streamCount ?? 0,
    duration_sec: audioDuration,
    sample_format: 'f32le',
    created_at: createdAt,
  });
  const audioMetaRef = await store.writeArtifact(
    runDir,
    `${AUDIO_DIR}/${METADATA_FILE}`,
    Buffer.from(JSON.stringify(audio)),
  );

  return {
    frames: metadata,
    audio,
    artifacts: [
      ...writer.artifacts(FRAMES_DIR),
      ...buckets.flatMap((b) => b.writer.artifacts(`${FRAMES_DIR}/${b.dir}`)),
      ...(signalRef ? [signalRef] : []),
      {
        path: `${FRAMES_DIR}/${METADATA_FILE}`,
        type: 'json',
        sha256: framesMetaRef.sha256,
        bytes: framesMetaRef.bytes,
      },
      ...audioArtifacts,
      {
        path: `${AUDIO_DIR}/${METADATA_FILE}`,
        type: 'json',
        sha256: audioMetaRef.sha256,
        bytes: audioMetaRef.bytes,
      },
    ],
    decodeWallMs: stats.wallMs,
  };
}
