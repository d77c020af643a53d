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

/**
 * A component's view of frames_dir: only its own `frame_indices` (R-SEG-3). DEPENDENCY_MISSING
 * when the Segmenter recorded no frames for it: components never sample on their own (R-DEP-1).
 */
export function frameAccessFor(runDir: string, metadata: FramesMetadata, component: string): FrameAccess {
  const own = metadata.metadata[component];
  if (!own) {
    throw new DependencyError(
      'DEPENDENCY_MISSING',
      `frames_dir has no frame_indices for ${component}; it was not planned by the Segmenter.`,
    );
  }
  const { analysis_width: width, analysis_height: height } = metadata;
  const frameBytes = width * height * 3;
  const frameIndices = Int32Array.from(own.frame_indices);
  const timestampsSec = Float64Array.from(
    own.frame_indices,
    (u) => metadata.union_timestamps_sec[u] ?? Number.NaN,
  );
  const dir = join(runDir, FRAMES_DIR);
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
        const unionIndices = frameIndices.subarray(start, Math.min(frameIndices.length, start + size));
        const pixels = new Uint8Array(unionIndices.length * frameBytes);
        await readUnionFrames(dir, metadata, unionIndices, pixels, frameBytes);
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

/** Reads union frames into `out`, one positioned read per run of consecutive frames in a batch file. */
async function readUnionFrames(
  dir: string,
  metadata: FramesMetadata,
  unionIndices: Int32Array,
  out: Uint8Array,
  frameBytes: number,
): Promise<void> {
  let k = 0;
  while (k < unionIndices.length) {
    const u = unionIndices[k] ?? 0;
    const batch = metadata.batches.find((b) => u >= b.first_union_index && u <= b.last_union_index);
    if (!batch) throw new ContractViolationError(`union frame ${u} is in no batch file`);
    let run = 1;
    while (
      k + run < unionIndices.length &&
      unionIndices[k + run] === u + run &&
      u + run <= batch.last_union_index
    )
      run += 1;
    const handle = await open(join(dir, batch.file), 'r');
    try {
      const preambleBytes = npyPreamble('|u1', [
        batch.count,
        metadata.analysis_height,
        metadata.analysis_width,
        3,
      ]).length;
      const position = preambleBytes + (u - batch.first_union_index) * frameBytes;
      const { bytesRead } = await handle.read(out, k * frameBytes, run * frameBytes, position);
      if (bytesRead !== run * frameBytes) throw new ContractViolationError(`${batch.file} is truncated`);
    } finally {
      await handle.close();
    }
    k += run;
  }
}
