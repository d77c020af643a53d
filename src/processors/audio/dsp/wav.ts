// WAV (RIFF/WAVE) reader for the Segmenter's audio track (R-SEG-6). Streaming by design: a 20 min
// stereo float32 track is ~460 MB, and loudness needs only one pass, so callers iterate blocks and
// memory stays at one block whatever the file length.
import { endianness } from 'node:os';
import { open, type FileHandle } from 'node:fs/promises';
import { ContractViolationError } from '../../../contracts/index.js';

/** Format of a WAV file's sample data, as read from its `fmt ` and `data` chunks. */
export interface WavFormat {
  sampleRate: number;
  channels: number;
  /** `pcm` (signed integer; unsigned for 8-bit) or `float` (IEEE 754). */
  encoding: 'pcm' | 'float';
  /** Container bits per sample: 8/16/24/32 for `pcm`, 32/64 for `float`. */
  bitsPerSample: number;
  /** Byte offset of the first sample in the file. */
  dataOffset: number;
  /** Bytes of sample data actually present (a truncated file is clipped to what exists). */
  dataBytes: number;
  /** Frames (samples per channel). */
  frames: number;
}

/** One block of deinterleaved samples, normalised to [-1, 1] (float data is passed through as is). */
export interface WavBlock {
  format: WavFormat;
  channels: Float32Array[];
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** The last 14 bytes every KSDATAFORMAT_SUBTYPE_* GUID shares; the first 2 hold the format tag. */
const SUBFORMAT_GUID_TAIL = [
  0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
];
/** ffmpeg writing to a pipe cannot seek back to patch sizes and leaves this placeholder. */
const UNKNOWN_SIZE = 0xffffffff;
const IS_LITTLE_ENDIAN = endianness() === 'LE';

type SampleFormat = Pick<WavFormat, 'sampleRate' | 'channels' | 'encoding' | 'bitsPerSample'>;

function fourCc(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + 4));
}

/** Parses the body of a `fmt ` chunk (WAVEFORMATEX, optionally WAVE_FORMAT_EXTENSIBLE). */
function parseFmtChunk(body: Uint8Array): SampleFormat {
  if (body.length < 16) throw new ContractViolationError(`WAV fmt chunk is ${body.length} bytes, need ≥ 16`);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let formatTag = view.getUint16(0, true);
  const channels = view.getUint16(2, true);
  const sampleRate = view.getUint32(4, true);
  const blockAlign = view.getUint16(12, true);
  const bitsPerSample = view.getUint16(14, true);
  if (formatTag === WAVE_FORMAT_EXTENSIBLE) {
    // WAVEFORMATEXTENSIBLE: cbSize(2) validBits(2) channelMask(4) subFormat GUID(16) from byte 18.
    if (body.length < 40)
      throw new ContractViolationError('WAV WAVE_FORMAT_EXTENSIBLE fmt chunk is truncated');
    const guidTail = body.subarray(26, 40);
    if (!SUBFORMAT_GUID_TAIL.every((b, i) => guidTail[i] === b))
      throw new ContractViolationError('WAV WAVE_FORMAT_EXTENSIBLE sub-format is not a PCM/float GUID');
    formatTag = view.getUint16(24, true);
  }
  if (formatTag !== WAVE_FORMAT_PCM && formatTag !== WAVE_FORMAT_IEEE_FLOAT)
    throw new ContractViolationError(
      `unsupported WAV format tag 0x${formatTag.toString(16)} (need PCM or float)`,
    );
  const encoding = formatTag === WAVE_FORMAT_PCM ? 'pcm' : 'float';
  const supported = encoding === 'pcm' ? [8, 16, 24, 32] : [32, 64];
  if (!supported.includes(bitsPerSample))
    throw new ContractViolationError(`unsupported WAV ${encoding} bit depth ${bitsPerSample}`);
  if (channels < 1 || sampleRate < 1)
    throw new ContractViolationError(`WAV declares ${channels} channels at ${sampleRate} Hz`);
  if (blockAlign !== (channels * bitsPerSample) / 8)
    throw new ContractViolationError(
      `WAV block align ${blockAlign} ≠ ${channels} channels × ${bitsPerSample / 8} bytes`,
    );
  return { sampleRate, channels, encoding, bitsPerSample };
}

/** Completes a format from the `data` chunk's declared size and what the file really holds. */
function withData(format: SampleFormat, dataOffset: number, declared: number, fileBytes: number): WavFormat {
  const available = Math.max(0, fileBytes - dataOffset);
  // Trust the file size when the header has the pipe placeholder or overstates (truncated file).
  const dataBytes = declared === UNKNOWN_SIZE || declared > available ? available : declared;
  const frameBytes = (format.bitsPerSample / 8) * format.channels;
  return { ...format, dataOffset, dataBytes, frames: Math.floor(dataBytes / frameBytes) };
}

/**
 * Parses a RIFF/WAVE header held in memory (`head` = the file's first bytes, `fileBytes` = its
 * size). Formats: PCM 8/16/24/32-bit, IEEE float 32/64, WAVE_FORMAT_EXTENSIBLE with a PCM or float
 * sub-format; unknown chunks (LIST, fact, …) are skipped. Throws CONTRACT_VIOLATION otherwise.
 */
export function parseWavHeader(head: Uint8Array, fileBytes: number): WavFormat {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (head.length < 12 || fourCc(head, 0) !== 'RIFF' || fourCc(head, 8) !== 'WAVE')
    throw new ContractViolationError('not a RIFF/WAVE file');
  let format: SampleFormat | null = null;
  let offset = 12;
  while (offset + 8 <= head.length) {
    const id = fourCc(head, offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (body + size > head.length) break;
      format = parseFmtChunk(head.subarray(body, body + size));
    } else if (id === 'data') {
      if (!format) throw new ContractViolationError('WAV data chunk comes before its fmt chunk');
      return withData(format, body, size, fileBytes);
    }
    offset = body + size + (size % 2); // RIFF chunks are padded to an even size
  }
  throw new ContractViolationError(`WAV has no fmt + data chunks within its first ${head.length} bytes`);
}

/** Walks the chunk list on disk (a LIST chunk of any size is skipped without reading it). */
async function readFormat(handle: FileHandle, fileBytes: number): Promise<WavFormat> {
  const riff = new Uint8Array(12);
  await handle.read(riff, 0, 12, 0);
  if (fileBytes < 12 || fourCc(riff, 0) !== 'RIFF' || fourCc(riff, 8) !== 'WAVE')
    throw new ContractViolationError('not a RIFF/WAVE file');
  const header = new Uint8Array(8);
  const headerView = new DataView(header.buffer);
  let format: SampleFormat | null = null;
  let offset = 12;
  while (offset + 8 <= fileBytes) {
    await handle.read(header, 0, 8, offset);
    const id = fourCc(header, 0);
    const size = headerView.getUint32(4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size > 1024) throw new ContractViolationError(`WAV fmt chunk of ${size} bytes`);
      const fmt = new Uint8Array(size);
      await handle.read(fmt, 0, size, body);
      format = parseFmtChunk(fmt);
    } else if (id === 'data') {
      if (!format) throw new ContractViolationError('WAV data chunk comes before its fmt chunk');
      return withData(format, body, size, fileBytes);
    }
    if (size === UNKNOWN_SIZE) break;
    offset = body + size + (size % 2);
  }
  throw new ContractViolationError('WAV has no data chunk');
}

/** Reads the format of a WAV file without reading its samples. */
export async function readWavFormat(path: string): Promise<WavFormat> {
  const handle = await open(path, 'r');
  try {
    return await readFormat(handle, (await handle.stat()).size);
  } finally {
    await handle.close();
  }
}

/**
 * Reads a WAV file as blocks of `blockFrames` deinterleaved float32 channels (the last block may
 * be shorter). Memory stays at one block whatever the file length.
 */
export async function* readWavBlocks(
  path: string,
  blockFrames = 48000,
): AsyncGenerator<WavBlock, void, void> {
  if (!Number.isInteger(blockFrames) || blockFrames < 1)
    throw new RangeError(`blockFrames must be a positive integer, got ${blockFrames}`);
  const handle = await open(path, 'r');
  try {
    const format = await readFormat(handle, (await handle.stat()).size);
    const frameBytes = (format.bitsPerSample / 8) * format.channels;
    // A fresh Uint8Array starts at offset 0 of its own ArrayBuffer, so typed views on it are aligned.
    const bytes = new Uint8Array(blockFrames * frameBytes);
    const end = format.dataOffset + format.frames * frameBytes;
    let position = format.dataOffset;
    while (position < end) {
      const want = Math.min(bytes.length, end - position);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await handle.read(bytes, got, want - got, position + got);
        if (bytesRead <= 0) break;
        got += bytesRead;
      }
      const frames = Math.floor(got / frameBytes);
      if (frames === 0) break;
      const channels = Array.from({ length: format.channels }, () => new Float32Array(frames));
      deinterleave(bytes, frames, format, channels);
      position += frames * frameBytes;
      yield { format, channels };
    }
  } finally {
    await handle.close();
  }
}

/**
 * Reads a whole WAV file into memory (deinterleaved, normalised). For short files and tests;
 * prefer `readWavBlocks` for a run's track.
 */
export async function readWav(path: string): Promise<{ sampleRate: number; channels: Float32Array[] }> {
  const format = await readWavFormat(path);
  const channels = Array.from({ length: format.channels }, () => new Float32Array(format.frames));
  let at = 0;
  for await (const block of readWavBlocks(path, 65536)) {
    block.channels.forEach((samples, c) => channels[c]?.set(samples, at));
    at += block.channels[0]?.length ?? 0;
  }
  return { sampleRate: format.sampleRate, channels: channels.map((c) => c.subarray(0, at)) };
}

/** Splits interleaved little-endian samples into per-channel float32, scaled to [-1, 1). */
function deinterleave(bytes: Uint8Array, frames: number, format: WavFormat, out: Float32Array[]): void {
  const n = format.channels;
  const count = frames * n;
  const buffer = bytes.buffer;
  // Typed views read native byte order; WAV is little-endian, so views only on LE hosts.
  let source: ArrayLike<number> | null = null;
  let scale = 1;
  if (IS_LITTLE_ENDIAN) {
    if (format.encoding === 'float' && format.bitsPerSample === 32)
      source = new Float32Array(buffer, 0, count);
    else if (format.encoding === 'float') source = new Float64Array(buffer, 0, count);
    else if (format.bitsPerSample === 16) [source, scale] = [new Int16Array(buffer, 0, count), 1 / 32768];
    else if (format.bitsPerSample === 32)
      [source, scale] = [new Int32Array(buffer, 0, count), 1 / 2147483648];
  }
  if (source) {
    for (let c = 0; c < n; c += 1) {
      const channel = out[c] as Float32Array;
      for (let i = 0, j = c; i < frames; i += 1, j += n) channel[i] = (source[j] as number) * scale;
    }
    return;
  }
  const view = new DataView(buffer, 0, count * (format.bitsPerSample / 8));
  for (let c = 0; c < n; c += 1) {
    const channel = out[c] as Float32Array;
    for (let i = 0, j = c; i < frames; i += 1, j += n) channel[i] = sampleAt(view, bytes, j, format);
  }
}

function sampleAt(view: DataView, bytes: Uint8Array, index: number, format: WavFormat): number {
  switch (format.bitsPerSample) {
    case 8:
      return ((bytes[index] as number) - 128) / 128; // 8-bit WAV is unsigned, offset 128
    case 16:
      return view.getInt16(index * 2, true) / 32768;
    case 24: {
      const o = index * 3;
      const v = (bytes[o] as number) | ((bytes[o + 1] as number) << 8) | ((bytes[o + 2] as number) << 16);
      return ((v << 8) >> 8) / 8388608; // sign-extend 24 → 32 bits
    }
    case 32:
      return format.encoding === 'float'
        ? view.getFloat32(index * 4, true)
        : view.getInt32(index * 4, true) / 2147483648;
    default:
      return view.getFloat64(index * 8, true);
  }
}
