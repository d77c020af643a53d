import { z } from 'zod';
import { runIdentitySchema } from './identity.js';

const isoUtc = z.iso.datetime({ offset: false });

export const frameBudgetSchema = z
  .object({
    min: z.number().int().nonnegative(),
    targetPerMinute: z.number().nonnegative(),
    max: z.number().int().positive(),
  })
  .strict()
  .refine((b) => b.min <= b.max, 'min must not exceed max');

/** R-SEG-4 `metadata[component]`: one component's frames in both domains. */
export const componentFramesSchema = z
  .object({
    frame_indices: z.array(z.number().int().nonnegative()),
    source_frame_indices: z.array(z.number().int().nonnegative()),
    num_indices: z.number().int().nonnegative(),
    num_source_indices: z.number().int().nonnegative(),
    budget: frameBudgetSchema,
    /** Resolution bucket (R-SEG-5) the component reads; null = the default analysis resolution. */
    bucket: z.string().nullable(),
    /** Minimum height the component declared (null = none). */
    min_height: z.number().int().positive().nullable(),
  })
  .strict();

/** One `batch_*.npy` file of union frames, `[count, height, width, 3]` uint8. */
export const frameBatchFileSchema = z
  .object({
    file: z.string().regex(/^batch_\d{5}\.npy$/),
    first_union_index: z.number().int().nonnegative(),
    last_union_index: z.number().int().nonnegative(),
    count: z.number().int().positive(),
  })
  .strict();

/** R-SEG-5 resolution bucket: some union frames at a larger size, for components that need pixels. */
export const frameBucketSchema = z
  .object({
    /** Directory inside frames_dir, e.g. `bucket_h720`. */
    dir: z.string().regex(/^bucket_h\d+$/),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    /** Union-domain positions held by the bucket, ascending. */
    union_indices: z.array(z.number().int().nonnegative()),
    batch_size: z.number().int().positive(),
    batches: z.array(frameBatchFileSchema),
  })
  .strict();
export type FrameBucket = z.infer<typeof frameBucketSchema>;

/**
 * The every-frame signal (`frames_dir/frame_signal.npz`): a yuv420p thumbnail of every source
 * frame from the same decode pass, row i = source frame i (R-SEG-7).
 */
export const frameSignalMetadataSchema = z
  .object({
    file: z.literal('frame_signal.npz'),
    /** Rows = source frames (= source_total_frames). */
    frames: z.number().int().nonnegative(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    pix_fmt: z.literal('yuv420p'),
    /** The swscale filter that made the thumbnails. */
    scaler: z.string(),
  })
  .strict();
export type FrameSignalMetadata = z.infer<typeof frameSignalMetadataSchema>;

/** R-SEG-4 `frames_dir/metadata.json`. */
export const framesMetadataSchema = runIdentitySchema
  .extend({
    video_path: z.string(),
    source_fps: z.number().positive(),
    /** Nominal frame rate of the source (= source_fps; kept under the contract's name). */
    fps: z.number().positive(),
    /** Union frames per second of video: total_frames / duration_sec. */
    analysis_fps: z.number().nonnegative(),
    analysis_width: z.number().int().positive(),
    analysis_height: z.number().int().positive(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    channels: z.literal(3),
    color_space: z.literal('RGB'),
    /** Frames read from the decoder pipe per write (one frame: frames are streamed, never all held). */
    chunk_size: z.number().int().positive(),
    /** Frames per `batch_*.npy` file (sized by a memory bound). */
    batch_size: z.number().int().positive(),
    /** Frames held in memory at most while writing (one batch). */
    cache_size: z.number().int().nonnegative(),
    batches: z.array(frameBatchFileSchema),
    total_frames: z.number().int().nonnegative(),
    union_frame_indices_source: z.array(z.number().int().nonnegative()),
    union_timestamps_sec: z.array(z.number()),
    source_total_frames: z.number().int().nonnegative(),
    source_total_frames_read: z.number().int().nonnegative(),
    /** How frames were decoded: one pass over the whole video, or seeks skipping unneeded GOPs. */
    decode_strategy: z.enum(['single_pass', 'seek']),
    /** Decode segments (1 for a single pass). */
    decode_segments: z.number().int().positive(),
    /** The FrameSource that decoded the frames. */
    frame_source: z.string(),
    duration_sec: z.number().nonnegative(),
    rotation_deg: z.number(),
    sampling_policy: z.record(z.string(), z.unknown()),
    created_at: isoUtc,
    metadata: z.record(z.string(), componentFramesSchema),
    /** R-SEG-5 buckets by name (`h720`); a component's `bucket` names the one it reads. */
    buckets: z.record(z.string(), frameBucketSchema),
    /**
     * The every-frame signal; null when none was made (`segmenter.frame_signal: false`, a seeking
     * decode that skips frames, or no frames decoded at all).
     */
    frame_signal: frameSignalMetadataSchema.nullable().default(null),
  })
  .strict();
export type FramesMetadata = z.infer<typeof framesMetadataSchema>;
export type ComponentFrames = z.infer<typeof componentFramesSchema>;

/** R-SEG-6 `audio/metadata.json`. */
export const audioMetadataSchema = runIdentitySchema
  .extend({
    has_audio: z.boolean(),
    /** File name of the WAV inside `audio/`; null when the video has no audio stream. */
    file: z.string().nullable(),
    sample_rate: z.number().int().positive(),
    channels: z.number().int().nonnegative(),
    source_channels: z.number().int().nonnegative(),
    source_codec: z.string().nullable(),
    /** Index (in the container) of the audio stream used: the default one, else the first. */
    source_stream_index: z.number().int().nullable(),
    /** Audio streams in the container. */
    source_audio_streams: z.number().int().nonnegative(),
    duration_sec: z.number().nonnegative(),
    sample_format: z.literal('f32le'),
    created_at: isoUtc,
  })
  .strict();
export type AudioMetadata = z.infer<typeof audioMetadataSchema>;

export const FRAMES_DIR = 'frames_dir';
export const AUDIO_DIR = 'audio';
export const METADATA_FILE = 'metadata.json';
export const FRAME_SIGNAL_FILE = 'frame_signal.npz';
export const AUDIO_FILE = 'audio.wav';
