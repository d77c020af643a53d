import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ContractViolationError,
  DependencyError,
  FRAMES_DIR,
  METADATA_FILE,
  framesMetadataSchema,
  npyPreamble,
  type ArtifactRef,
  type FrameAccess,
  type FrameBatch,
  type FramesMetadata,
} from '../contracts/index.js';
import { openAtomicWriter, type AtomicWriter } from '../storage/index.js';

export function batchFileName(batchNumber: number): string {
  return `batch_${String(batchNumber).padStart(5, '0')}.npy`;
}

/** Bytes gathered from the pipe before one vectored write (fewer system calls, no copy). */
const WRITE_GATHER_BYTES = 8 * 1024 * 1024;

/**
 * Streams RGB24 bytes into `batch_*.npy` files of `batchSize` frames each (the last one shorter),
 * writing the NPY preamble first and the pipe's chunks straight after it: chunks are gathered by
 * reference and written with one vectored write, never copied (R-PERF-1). Each file is hashed
 * while written and committed atomically; a finished batch is fsynced and renamed in the
 * background while the next one is written, and `finish` waits for all of them.
 */
export class FrameBatchWriter {
  private readonly frameBytes: number;
  private readonly batchSizes: number[];
  private batchNumber = 0;
  private bytesInBatch = 0;
  private writer: AtomicWriter | null = null;
  private gathered: Uint8Array[] = [];
  private gatheredBytes = 0;
  private readonly commits: Promise<void>[] = [];
  private readonly committed: {
    file: string;
    first: number;
    count: number;
    sha256: string;
    bytes: number;
  }[] = [];
  private framesStarted = 0;

  constructor(
    private readonly dir: string,
    totalFrames: number,
    batchSize: number,
    private readonly width: number,
    private readonly height: number,
  ) {
    this.frameBytes = width * height * 3;
    this.batchSizes = [];
    for (let start = 0; start < totalFrames; start += batchSize)
      this.batchSizes.push(Math.min(batchSize, totalFrames - start));
  }

  /** Batches written so far, in order. */
  get written(): readonly { file: string; first: number; count: number; sha256: string; bytes: number }[] {
    return [...this.committed].sort((a, b) => a.first - b.first);
  }

  private async openNext(): Promise<void> {
    const count = this.batchSizes[this.batchNumber];
    if (count === undefined)
      throw new ContractViolationError('the decoder delivered more frames than were requested');
    this.writer = await openAtomicWriter(join(this.dir, batchFileName(this.batchNumber)));
    this.gathered = [npyPreamble('|u1', [count, this.height, this.width, 3])];
    this.gatheredBytes = 0;
    this.bytesInBatch = 0;
  }

  private async flush(): Promise<void> {
    if (!this.writer || this.gathered.length === 0) return;
    const chunks = this.gathered;
    this.gathered = [];
    this.gatheredBytes = 0;
    await this.writer.writev(chunks);
  }

  private async closeCurrent(): Promise<void> {
    if (!this.writer) return;
    await this.flush();
    const writer = this.writer;
    const entry = {
      file: batchFileName(this.batchNumber),
      first: this.framesStarted,
      count: this.batchSizes[this.batchNumber] ?? 0,
    };
    this.commits.push(
      writer.commit().then(({ sha256, bytes }) => {
        this.committed.push({ ...entry, sha256, bytes });
      }),
    );
    this.framesStarted += entry.count;
    this.writer = null;
    this.batchNumber += 1;
  }

  /** Accepts a chunk of the RGB24 stream. */
  readonly write = async (chunk: Uint8Array): Promise<void> => {
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.writer) await this.openNext();
      const capacity = (this.batchSizes[this.batchNumber] ?? 0) * this.frameBytes - this.bytesInBatch;
      const take = Math.min(capacity, chunk.length - offset);
      this.gathered.push(
        offset === 0 && take === chunk.length ? chunk : chunk.subarray(offset, offset + take),
      );
      this.gatheredBytes += take;
      this.bytesInBatch += take;
      offset += take;
      if (this.bytesInBatch === (this.batchSizes[this.batchNumber] ?? 0) * this.frameBytes)
        await this.closeCurrent();
      else if (this.gatheredBytes >= WRITE_GATHER_BYTES) await this.flush();
    }
  };

  /** Waits for every batch to be durable; throws unless every planned batch was written completely. */
  async finish(): Promise<void> {
    await Promise.all(this.commits);
    if (this.writer || this.batchNumber !== this.batchSizes.length) {
      throw new ContractViolationError(
        `frame batches incomplete: ${this.batchNumber} of ${this.batchSizes.length} written`,
      );
    }
  }

  async abort(): Promise<void> {
    await Promise.allSettled(this.commits);
    await this.writer?.abort();
    this.writer = null;
  }

  artifacts(runRelativeDir: string): ArtifactRef[] {
    return this.written.map((w) => ({
      path: `${runRelativeDir}/${w.file}`,
      type: 'npy',
      sha256: w.sha256,
      bytes: w.bytes,
    }));
  }
}

/** Reads and validates `frames_dir/metadata.json`; DEPENDENCY_MISSING when absent (R-DEP-1). */
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

/**
 * A component's view of frames_dir: only its own `frame_indices` (R-SEG-3), at its resolution
 * bucket when it has one (R-SEG-5). DEPENDENCY_MISSING when the Segmenter recorded no frames for
 * it: components never sample on their own (R-DEP-1).
 */
export function frameAccessFor(runDir: string, metadata: FramesMetadata, component: string): FrameAccess {
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
  const dir = bucket ? join(runDir, FRAMES_DIR, bucket.dir) : join(runDir, FRAMES_DIR);
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
        await readFrames(dir, batches, width, height, filePositions.subarray(start, end), pixels);
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
    const handle = await open(join(dir, batch.file), 'r');
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
