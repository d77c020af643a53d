import { join } from 'node:path';
import {
  ContractViolationError,
  FRAMES_DIR,
  FRAME_SIGNAL_FILE,
  InputError,
  encodeNpz,
  nd,
  readNpzFile,
  type ArtifactRef,
  type FrameSignal,
  type FrameSignalMetadata,
  type FramesMetadata,
  type RunIdentity,
} from '../contracts/index.js';
import type { ResultStore } from '../storage/index.js';

/**
 * The every-frame signal (issue 14): a tiny YUV thumbnail of EVERY source frame, made by the same
 * ffmpeg decode pass that extracts the union frames — a `split` before the union's `select` feeds
 * a branch that scales each decoded frame to `FRAME_SIGNAL_WIDTH`×`FRAME_SIGNAL_HEIGHT` yuv420p
 * and writes it as rawvideo to a pipe. Row `i` of the result is source frame `i` (R-SEG-7), so
 * consumers (cut_detection) can place boundaries exactly on source frames while the union keeps
 * its budgets. See docs/SEGMENTER_CONTRACT.md for the measured cost of the options.
 */

/** Thumbnail grid: a fixed 16:9 grid whatever the video's aspect, so scores compare across videos. */
export const FRAME_SIGNAL_WIDTH = 32;
export const FRAME_SIGNAL_HEIGHT = 18;
/**
 * Two steps, measured (docs/SEGMENTER_CONTRACT.md): point samples on a 256×144 grid (`neighbor`,
 * which touches only the sampled lines and columns), then a box average (`area`) of 8×8 of them per
 * cell. One `area` step from the full frame averages every pixel but costs ≈ 20 % of decode-only
 * CPU on 1080p (it filters every line of the frame); the two-step grid costs ≈ 5–7 % and still
 * averages 64 samples a cell, so grain in a dark shot is damped 8× in amplitude.
 */
export const FRAME_SIGNAL_PRESCALE = { width: 256, height: 144 };
export const FRAME_SIGNAL_SCALER = 'neighbor@256x144+area';
/** Bytes of one yuv420p thumbnail: the Y plane, then U and V at half resolution. */
export const FRAME_SIGNAL_FRAME_BYTES =
  FRAME_SIGNAL_WIDTH * FRAME_SIGNAL_HEIGHT + 2 * (FRAME_SIGNAL_WIDTH / 2) * (FRAME_SIGNAL_HEIGHT / 2);

/** The filter chain of the signal branch (appended to a `split` output of the decoded stream). */
export function frameSignalChain(input: string, output: string): string {
  const { width, height } = FRAME_SIGNAL_PRESCALE;
  return `[${input}]scale=${width}:${height}:flags=neighbor,format=yuv420p,scale=${FRAME_SIGNAL_WIDTH}:${FRAME_SIGNAL_HEIGHT}:flags=area[${output}]`;
}

/** Output arguments sending the signal branch `[label]` to the child's fd `fd` as raw yuv420p. */
export function frameSignalOutputArgs(label: string, fd: number): string[] {
  return ['-map', `[${label}]`, '-fps_mode', 'passthrough', '-f', 'rawvideo', `pipe:${fd}`];
}

/**
 * Gathers the signal's raw stream (864 bytes a frame: 1.5 MB per minute of 30 fps video) while
 * ffmpeg decodes, and checks it holds exactly one thumbnail per source frame.
 */
export class FrameSignalCollector {
  private chunks: Buffer[] = [];
  private received = 0;

  constructor(readonly expectedFrames: number) {}

  readonly write = (chunk: Buffer): void => {
    this.chunks.push(chunk);
    this.received += chunk.length;
  };

  get framesReceived(): number {
    return this.received / FRAME_SIGNAL_FRAME_BYTES;
  }

  /** The raw yuv420p thumbnails, `[S × FRAME_SIGNAL_FRAME_BYTES]`; INPUT_UNREADABLE if any is missing. */
  bytes(): Uint8Array {
    if (this.received !== this.expectedFrames * FRAME_SIGNAL_FRAME_BYTES) {
      throw new InputError(
        'INPUT_UNREADABLE',
        `The video could not be decoded completely: the frame signal holds ${this.framesReceived.toFixed(1)} of ${this.expectedFrames} frames.`,
      );
    }
    return Buffer.concat(this.chunks, this.received);
  }
}

/** The signal's planes as arrays: `y [S, H, W]`, `u`/`v [S, H/2, W/2]`, uint8. */
export function frameSignalPlanes(
  raw: Uint8Array,
  frames: number,
): { y: Uint8Array; u: Uint8Array; v: Uint8Array } {
  const ySize = FRAME_SIGNAL_WIDTH * FRAME_SIGNAL_HEIGHT;
  const cSize = (FRAME_SIGNAL_WIDTH / 2) * (FRAME_SIGNAL_HEIGHT / 2);
  const y = new Uint8Array(frames * ySize);
  const u = new Uint8Array(frames * cSize);
  const v = new Uint8Array(frames * cSize);
  for (let i = 0; i < frames; i += 1) {
    const at = i * FRAME_SIGNAL_FRAME_BYTES;
    y.set(raw.subarray(at, at + ySize), i * ySize);
    u.set(raw.subarray(at + ySize, at + ySize + cSize), i * cSize);
    v.set(raw.subarray(at + ySize + cSize, at + ySize + 2 * cSize), i * cSize);
  }
  return { y, u, v };
}

/**
 * `frames_dir/frame_signal.npz`: planes `y`, `u`, `v` plus `timestamps_sec` (the PTS of every
 * source frame), and a `meta` with the run's identity (R-ID-1) naming the grid and scaler. NumPy:
 * `np.load(p)["y"][i]` is source frame i's 18×32 luma thumbnail.
 */
export function encodeFrameSignal(
  raw: Uint8Array,
  timestampsSec: ArrayLike<number>,
  identity: RunIdentity,
): Uint8Array {
  const frames = timestampsSec.length;
  const { y, u, v } = frameSignalPlanes(raw, frames);
  const h = FRAME_SIGNAL_HEIGHT;
  const w = FRAME_SIGNAL_WIDTH;
  return encodeNpz(
    {
      y: nd.uint8(y, [frames, h, w]),
      u: nd.uint8(u, [frames, h / 2, w / 2]),
      v: nd.uint8(v, [frames, h / 2, w / 2]),
      timestamps_sec: nd.float64(Float64Array.from(timestampsSec)),
    },
    { ...identity, ...frameSignalMetadata(frames), index_domain: 'source' },
  );
}

/** What frames_dir/metadata.json records about the signal (`frame_signal`). */
export function frameSignalMetadata(frames: number): FrameSignalMetadata {
  return {
    file: FRAME_SIGNAL_FILE,
    frames,
    width: FRAME_SIGNAL_WIDTH,
    height: FRAME_SIGNAL_HEIGHT,
    pix_fmt: 'yuv420p',
    scaler: FRAME_SIGNAL_SCALER,
  };
}

/**
 * Writes the signal file at `relativePath` inside the run through the result store's port (the one
 * write path of the signal) and returns its manifest entry.
 */
export async function writeFrameSignal(
  store: Pick<ResultStore, 'writeArtifact'>,
  runDir: string,
  bytes: Uint8Array,
  relativePath = `${FRAMES_DIR}/${FRAME_SIGNAL_FILE}`,
): Promise<ArtifactRef> {
  const written = await store.writeArtifact(runDir, relativePath, bytes);
  return { path: relativePath, type: 'npz', sha256: written.sha256, bytes: written.bytes };
}

/**
 * Reads `frames_dir/frame_signal.npz` of a run (its directory, or a locator of run-relative paths)
 * as the metadata describes it; null when the
 * Segmenter made none. CONTRACT_VIOLATION when the file does not match its metadata.
 */
export async function readFrameSignal(
  files: string | ((relativePath: string) => Promise<string>),
  metadata: FramesMetadata,
): Promise<FrameSignal | null> {
  const described = metadata.frame_signal;
  if (!described) return null;
  const relativePath = `${FRAMES_DIR}/${described.file}`;
  const path = typeof files === 'string' ? join(files, relativePath) : await files(relativePath);
  const { arrays } = await readNpzFile(path);
  const frames = described.frames;
  const { width, height } = described;
  const check = (name: string, shape: number[]): Uint8Array => {
    const a = arrays[name];
    if (!a || a.dtype !== 'uint8' || a.shape.join() !== shape.join())
      throw new ContractViolationError(
        `${described.file}: ${name} is ${a ? `${a.dtype}[${a.shape.join(', ')}]` : 'missing'}, expected uint8[${shape.join(', ')}]`,
      );
    return a.data;
  };
  const times = arrays.timestamps_sec;
  if (!times || times.dtype !== 'float64' || times.shape.join() !== String(frames))
    throw new ContractViolationError(`${described.file}: timestamps_sec is not float64[${frames}]`);
  return {
    frames,
    width,
    height,
    y: check('y', [frames, height, width]),
    u: check('u', [frames, height / 2, width / 2]),
    v: check('v', [frames, height / 2, width / 2]),
    timestampsSec: times.data,
  };
}
