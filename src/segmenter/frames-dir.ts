import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ContractViolationError,
  DependencyError,
  AUDIO_DIR,
  FRAMES_DIR,
  METADATA_FILE,
  audioMetadataSchema,
  framesMetadataSchema,
  npyPreamble,
  type ArtifactRef,
  type AudioMetadata,
  type FrameAccess,
  type FrameBatch,
  type FramesMetadata,
} from '../contracts/index.js';
import { sha256File, type StagedFile } from '../storage/index.js';

export function batchFileName(batchNumber: number): string {
  return `batch_${String(batchNumber).padStart(5, '0')}.npy`;
}

/** Bytes gathered from a pipe before one vectored write (fewer system calls, no copy). */
const WRITE_GATHER_BYTES = 8 * 1024 * 1024;

export interface WrittenBatch {
  file: string;
  first: number;
  count: number;
  sha256: string;
  bytes: number;
}

/**
 * The `batch_*.npy` files of one frame output (the union, or a bucket): `batchSize` frames each,
 * the last one shorter. `open` creates every temp file with its NPY preamble already written, so a
 * frame source can write raw RGB24 bytes straight after it — ffmpeg itself through inherited
 * descriptors, or a pipe reader through `write` — with no copy (R-PERF-1). `commit` checks every
 * size, then fsyncs, hashes and renames each file into place (R-ST-3).
 */
export class BatchFileSet {
  readonly batchCounts: number[];
  readonly frameBytes: number;
  private files: { staged: StagedFile; preambleBytes: number }[] = [];
  private done: WrittenBatch[] = [];
  private readonly sealed = new Map<number, Promise<{ sha256: string; bytes: number }>>();
  private checking = false;
  // Sequential writer state for pipe-based sources.
  private current = 0;
  private bytesInCurrent = 0;
  private gathered: Uint8Array[] = [];
  private gatheredBytes = 0;

  constructor(
    /** Opens the staged artifact for a batch file name, through the result store. */
    private readonly stage: (fileName: string) => Promise<StagedFile>,
    totalFrames: number,
    batchSize: number,
    readonly width: number,
    readonly height: number,
  ) {
    this.frameBytes = width * height * 3;
    this.batchCounts = [];
    for (let start = 0; start < totalFrames; start += batchSize)
      this.batchCounts.push(Math.min(batchSize, totalFrames - start));
  }

  async open(): Promise<void> {
    for (let i = 0; i < this.batchCounts.length; i += 1) {
      const staged = await this.stage(batchFileName(i));
      const preamble = npyPreamble('|u1', [this.batchCounts[i] ?? 0, this.height, this.width, 3]);
      // A sequential write (no position), so the descriptor is left just after the preamble.
      await staged.handle.write(preamble, 0, preamble.length, null);
      this.files.push({ staged, preambleBytes: preamble.length });
    }
  }

  /** Descriptors of the temp files, positioned after their preambles, in batch order. */
  get fds(): number[] {
    return this.files.map((f) => f.staged.handle.fd);
  }

  /** Accepts the next chunk of the RGB24 stream (for sources that read a pipe). */
  readonly write = async (chunk: Uint8Array): Promise<void> => {
    let offset = 0;
    while (offset < chunk.length) {
      const capacity = (this.batchCounts[this.current] ?? 0) * this.frameBytes - this.bytesInCurrent;
      if (capacity <= 0)
        throw new ContractViolationError('the decoder delivered more frames than were requested');
      const take = Math.min(capacity, chunk.length - offset);
      this.gathered.push(
        offset === 0 && take === chunk.length ? chunk : chunk.subarray(offset, offset + take),
      );
      this.gatheredBytes += take;
      this.bytesInCurrent += take;
      offset += take;
      if (this.bytesInCurrent === (this.batchCounts[this.current] ?? 0) * this.frameBytes) {
        await this.flush();
        this.current += 1;
        this.bytesInCurrent = 0;
      } else if (this.gatheredBytes >= WRITE_GATHER_BYTES) await this.flush();
    }
  };

  private async flush(): Promise<void> {
    const file = this.files[this.current];
    if (!file || this.gathered.length === 0) return;
    const chunks = this.gathered;
    this.gathered = [];
    this.gatheredBytes = 0;
    let pending = chunks;
    while (pending.length > 0) {
      const { bytesWritten } = await file.staged.handle.writev(pending);
      let left = bytesWritten;
      const rest: Uint8Array[] = [];
      for (const c of pending) {
        if (left >= c.length) left -= c.length;
        else {
          rest.push(left > 0 ? c.subarray(left) : c);
          left = 0;
        }
      }
      pending = rest;
    }
  }

  /** Frames each file holds now (for checking a finished decode). */
  async framesWritten(): Promise<number[]> {
    await this.flush();
    return Promise.all(
      this.files.map(async (f) =>
        Math.max(0, ((await stat(f.staged.path)).size - f.preambleBytes) / this.frameBytes),
      ),
    );
  }

  /** fsync and hash one complete batch file (it stays under its temp name until `commit`). */
  private seal(i: number): Promise<{ sha256: string; bytes: number }> {
    let sealing = this.sealed.get(i);
    if (!sealing) {
      const f = this.files[i];
      if (!f) throw new ContractViolationError(`no batch file ${i}`);
      sealing = (async () => {
        await f.staged.handle.sync();
        return { sha256: await sha256File(f.staged.path), bytes: (await stat(f.staged.path)).size };
      })();
      this.sealed.set(i, sealing);
    }
    return sealing;
  }

  /**
   * Called while the decoder runs: every batch file that is already complete is fsynced and hashed
   * now, in the background, so little is left to do when the decode ends.
   */
  checkpoint(): void {
    if (this.checking) return;
    this.checking = true;
    void this.framesWritten()
      .then((frames) => {
        frames.forEach((n, i) => {
          if (n === this.batchCounts[i] && !this.sealed.has(i)) void this.seal(i).catch(() => undefined);
        });
      })
      .catch(() => undefined)
      .finally(() => {
        this.checking = false;
      });
  }

  /** Throws unless every file is complete; then fsync, hash and commit each through the store. */
  async commit(): Promise<void> {
    const frames = await this.framesWritten();
    const short = frames.findIndex((n, i) => n !== this.batchCounts[i]);
    if (short >= 0) {
      throw new ContractViolationError(
        `frame batch ${short} holds ${frames[short]} of ${this.batchCounts[short]} frames`,
      );
    }
    let first = 0;
    const starts = this.batchCounts.map((n) => {
      const start = first;
      first += n;
      return start;
    });
    this.done = await Promise.all(
      this.files.map(async (f, i) => {
        const { sha256, bytes } = await this.seal(i);
        await f.staged.commit({ sha256, bytes });
        return {
          file: batchFileName(i),
          first: starts[i] ?? 0,
          count: this.batchCounts[i] ?? 0,
          sha256,
          bytes,
        };
      }),
    );
    this.files = [];
    this.sealed.clear();
  }

  /** Closes and removes every temp file. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.sealed.values());
    await Promise.all(this.files.map((f) => f.staged.abort()));
    this.files = [];
    this.sealed.clear();
  }

  get written(): readonly WrittenBatch[] {
    return this.done;
  }

  artifacts(runRelativeDir: string): ArtifactRef[] {
    return this.done.map((w) => ({
      path: `${runRelativeDir}/${w.file}`,
      type: 'npy',
      sha256: w.sha256,
      bytes: w.bytes,
    }));
  }
}

/** Validates the text of `audio/metadata.json` (R-SEG-6). */
export function parseAudioMetadata(text: string): AudioMetadata {
  const parsed = audioMetadataSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new ContractViolationError(`audio/metadata.json is invalid: ${parsed.error.message}`);
  return parsed.data;
}

/** Validates the text of `frames_dir/metadata.json` (R-SEG-4). */
export function parseFramesMetadata(text: string): FramesMetadata {
  const parsed = framesMetadataSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new ContractViolationError(`frames_dir/metadata.json is invalid: ${parsed.error.message}`);
  return parsed.data;
}

/** Reads and validates `audio/metadata.json` of a run (R-SEG-6); DEPENDENCY_MISSING when absent. */
export async function readAudioMetadata(runDir: string): Promise<AudioMetadata> {
  let text: string;
  try {
    text = await readFile(join(runDir, AUDIO_DIR, METADATA_FILE), 'utf8');
  } catch (error) {
    throw new DependencyError(
      'DEPENDENCY_MISSING',
      `audio/metadata.json is missing in ${runDir}; the Segmenter has not run.`,
      { cause: error },
    );
  }
  const parsed = audioMetadataSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new ContractViolationError(`audio/metadata.json is invalid: ${parsed.error.message}`);
  return parsed.data;
}

export async function readFramesMetadata(runDir: string): Promise<FramesMetadata> {
  let text: string;
  try {
    text = await readFile(join(runDir, FRAMES_DIR, METADATA_FILE), 'utf8');
  } catch (error) {
    throw new DependencyError(
      'DEPENDENCY_MISSING',
      `frames_dir/metadata.json is missing in ${runDir}; the Segmenter has not run.`,
      {
        cause: error,
      },
    );
  }
  const parsed = framesMetadataSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new ContractViolationError(`frames_dir/metadata.json is invalid: ${parsed.error.message}`);
  return parsed.data;
}

/** Position of `value` in an ascending list, or -1. */
function indexOf(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid] as number;
    if (v === value) return mid;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Where a run-relative file can be read locally (the result store's `localFile`). */
export type FileLocator = (relativePath: string) => Promise<string>;

/**
 * A component's view of frames_dir: only its own `frame_indices` (R-SEG-3), at its resolution
 * bucket when it has one (R-SEG-5). DEPENDENCY_MISSING when the Segmenter recorded no frames for
 * it: components never sample on their own (R-DEP-1).
 */
export function frameAccessFor(
  files: string | FileLocator,
  metadata: FramesMetadata,
  component: string,
): FrameAccess {
  const locate: FileLocator =
    typeof files === 'string' ? (relativePath) => Promise.resolve(join(files, relativePath)) : files;
  const own = metadata.metadata[component];
  if (!own) {
    throw new DependencyError(
      'DEPENDENCY_MISSING',
      `frames_dir has no frame_indices for ${component}; it was not planned by the Segmenter.`,
    );
  }
  const bucket = own.bucket === null ? null : metadata.buckets[own.bucket];
  if (own.bucket !== null && !bucket) {
    throw new DependencyError(
      'DEPENDENCY_MISSING',
      `frames_dir has no bucket ${own.bucket} for ${component}.`,
    );
  }
  const width = bucket?.width ?? metadata.analysis_width;
  const height = bucket?.height ?? metadata.analysis_height;
  const dir = bucket ? `${FRAMES_DIR}/${bucket.dir}` : FRAMES_DIR;
  const located = new Map<string, Promise<string>>();
  const fileOf = (file: string): Promise<string> => {
    let path = located.get(file);
    if (!path) located.set(file, (path = locate(`${dir}/${file}`)));
    return path;
  };
  const batches = bucket?.batches ?? metadata.batches;
  const frameBytes = width * height * 3;
  const frameIndices = Int32Array.from(own.frame_indices);
  // Positions inside the files: union indices directly, or their place in the bucket.
  const filePositions = bucket
    ? Int32Array.from(own.frame_indices, (u) => indexOf(bucket.union_indices, u))
    : frameIndices;
  if (filePositions.some((p) => p < 0))
    throw new ContractViolationError(`bucket ${own.bucket} lacks frames of ${component}`);
  const timestampsSec = Float64Array.from(
    own.frame_indices,
    (u) => metadata.union_timestamps_sec[u] ?? Number.NaN,
  );
  return {
    frameIndices,
    sourceFrameIndices: Int32Array.from(own.source_frame_indices),
    timestampsSec,
    width,
    height,
    sourceFps: metadata.source_fps,
    async *batches(batchSize: number): AsyncIterable<FrameBatch> {
      const size = Math.max(1, Math.floor(batchSize));
      for (let start = 0; start < frameIndices.length; start += size) {
        const end = Math.min(frameIndices.length, start + size);
        const unionIndices = frameIndices.subarray(start, end);
        const pixels = new Uint8Array(unionIndices.length * frameBytes);
        await readFrames(fileOf, dir, batches, width, height, filePositions.subarray(start, end), pixels);
        yield {
          unionIndices,
          sourceIndices: Int32Array.from(unionIndices, (u) => metadata.union_frame_indices_source[u] ?? -1),
          timestampsSec: Float64Array.from(
            unionIndices,
            (u) => metadata.union_timestamps_sec[u] ?? Number.NaN,
          ),
          pixels,
          width,
          height,
        };
      }
    },
  };
}

/** Reads frames at `positions` of a batch-file sequence into `out`, one read per run of consecutive frames. */
async function readFrames(
  fileOf: (file: string) => Promise<string>,
  dir: string,
  batches: FramesMetadata['batches'],
  width: number,
  height: number,
  positions: Int32Array,
  out: Uint8Array,
): Promise<void> {
  const frameBytes = width * height * 3;
  let k = 0;
  while (k < positions.length) {
    const u = positions[k] ?? 0;
    const batch = batches.find((b) => u >= b.first_union_index && u <= b.last_union_index);
    if (!batch) throw new ContractViolationError(`frame ${u} is in no batch file of ${dir}`);
    let run = 1;
    while (k + run < positions.length && positions[k + run] === u + run && u + run <= batch.last_union_index)
      run += 1;
    const handle = await open(await fileOf(batch.file), 'r');
    try {
      const preambleBytes = npyPreamble('|u1', [batch.count, height, width, 3]).length;
      const position = preambleBytes + (u - batch.first_union_index) * frameBytes;
      const { bytesRead } = await handle.read(out, k * frameBytes, run * frameBytes, position);
      if (bytesRead !== run * frameBytes) throw new ContractViolationError(`${batch.file} is truncated`);
    } finally {
      await handle.close();
    }
    k += run;
  }
}
