import { z } from 'zod';

/** Segmenter configuration with its defaults (R-SEG-1/4/5, R-SEC-2). Part of the effective config. */
export const segmenterConfigSchema = z
  .object({
    /** Analysis height in pixels; never upscaled; width follows the display aspect, rounded to even. */
    analysis_height: z.number().int().min(32).max(1080).default(320),
    /** Memory bound of one `batch_*.npy` file; frames per batch = floor(bound / frame bytes). */
    batch_bytes_limit: z
      .number()
      .int()
      .min(1 << 20)
      .default(64 * 1024 * 1024),
    /** R-SEG-1 duration contract. */
    min_duration_sec: z.number().nonnegative().default(5),
    max_duration_sec: z
      .number()
      .positive()
      .default(20 * 60),
    /** R-SEC-2 caps. */
    max_file_bytes: z
      .number()
      .int()
      .positive()
      .default(8 * 1024 * 1024 * 1024),
    probe_timeout_sec: z.number().positive().default(60),
    /** Address-space bound of every ffmpeg/ffprobe process (MiB); 1080p decoding needs ≈ 800. */
    decode_memory_limit_mb: z.number().int().min(16).default(4096),
    /**
     * GOP skipping (R-PERF-1): seek to the keyframe before each run of needed frames when that
     * decodes (plus the segments' start-up cost) at most this share of the video's frames
     * (0 disables seeking).
     */
    seek_max_decode_fraction: z.number().min(0).max(1).default(0.5),
    /** Keep decoding instead of seeking when the next keyframe needed is this close (frames). */
    seek_merge_gap_frames: z.number().int().nonnegative().default(90),
    /**
     * Start-up cost of one seek segment (a short ffmpeg process, ≈ 0.1–0.2 s measured here), counted
     * as decoded frames (≈ 300 frames of 720p H.264 on 2 cores).
     */
    seek_segment_cost_frames: z.number().int().nonnegative().default(300),
    /** At most this many seek segments (each is one short ffmpeg process). */
    seek_max_segments: z.number().int().positive().default(400),
    /**
     * The every-frame signal (`frames_dir/frame_signal.npz`, a 32×18 yuv420p thumbnail of every
     * source frame from the same decode) for frame-exact cut detection; made on single-pass decodes.
     */
    frame_signal: z.boolean().default(true),
    /** Decode wall-clock limit: this many seconds per minute of video, at least 120 s. */
    decode_timeout_sec_per_min: z.number().positive().default(120),
  })
  .strict();
export type SegmenterConfig = z.infer<typeof segmenterConfigSchema>;
