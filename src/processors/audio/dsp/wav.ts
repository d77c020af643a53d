import { open } from 'node:fs/promises';
import { ContractViolationError } from '../../../contracts/index.js';

/** Format of a WAV file's sample data. */
export interface WavFormat {
  sampleRate: number;
  channels: number;
  /** 'pcm' (integer) or 'float' (IEEE). */
  encoding: 'pcm' | 'float';
  bitsPerSample: number;
  dataOffset: number;
  dataBytes: number;
  /** Frames (samples per channel). */
  frames: number;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Parses a RIFF/WAVE header (PCM 16/24/32-bit, IEEE float 32/64, WAVE_FORMAT_EXTENSIBLE). */
export function parseWavHeader(head: Uint8Array, fileBytes: number): WavFormat {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const tag = (o: number): string => String.fromCharCode(...head.subarray(o, o + 4));
  if (head.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE')
    throw new ContractViolationError('not a RIFF/WAVE file');
  let offset = 12;
  let format: Omit<WavFormat, 'dataOffset' | 'dataBytes' | 'frames'> | null = null;
  while (offset + 8 <= head.length) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      let formatTag = view.getUint16(body, true);
      const channels = view.getUint16(body + 2, true);
      const sampleRate = view.getUint32(body + 4, true);
      const bitsPerSample = view.getUint16(body + 14, true);
      if (formatTag === WAVE_FORMAT_EXTENSIBLE && size >= 40) formatTag = view.getUint16(body + 24, true); // sub-format GUID's first two bytes
      if (formatTag !== WAVE_FORMAT_PCM && formatTag !== WAVE_FORMAT_IEEE_FLOAT) {
        throw new ContractViolationError(`unsupported WAV format tag ${formatTag}`);
      }
      format = {
        sampleRate,
        channels,
        bitsPerSample,
        encoding: formatTag === WAVE_FORMAT_PCM ? 'pcm' : 'float',
      };
    } else if (id === 'data') {
      if (!format) throw new ContractViolationError('WAV data chunk before fmt chunk');
      const frameBytes = (format.bitsPerSample / 8) * format.channels;
      // ffmpeg writing to a pipe leaves size 0xFFFFFFFF; trust the file size then.
      const dataBytes = size === 0xffffffff || body + size > fileBytes ? fileBytes - body : size;
      return { ...format, dataOffset: body, dataBytes, frames: Math.floor(dataBytes / frameBytes) };
    }
    offset = body + size + (size % 2);
  }
  throw new ContractViolationError('WAV has no data chunk within its first 64 KiB');
}

/**
 * Reads a WAV file in blocks of deinterleaved float32 channels, so memory stays bounded whatever
 * the file length.
 */
export async function* readWavBlocks(
  path: string,
  blockFrames = 48000,
): AsyncGenerator<{ format: WavFormat; channels: Float32Array[] }, void, void> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const head = new Uint8Array(Math.min(size, 65536));
    await handle.read(head, 0, head.length, 0);
    const format = parseWavHeader(head, size);
    const bytesPerSample = format.bitsPerSample / 8;
    const frameBytes = bytesPerSample * format.channels;
    const buffer = Buffer.alloc(blockFrames * frameBytes);
    let position = format.dataOffset;
    const end = format.dataOffset + format.frames * frameBytes;
    while (position < end) {
      const want = Math.min(buffer.length, end - position);
      const { bytesRead } = await handle.read(buffer, 0, want, position);
      if (bytesRead <= 0) break;
      const frames = Math.floor(bytesRead / frameBytes);
      const channels = Array.from({ length: format.channels }, () => new Float32Array(frames));
      decodeInto(buffer, frames, format, channels);
      position += frames * frameBytes;
      yield { format, channels };
    }
  } finally {
    await handle.close();
  }
}

function decodeInto(buffer: Buffer, frames: number, format: WavFormat, out: Float32Array[]): void {
  const n = format.channels;
  const b = format.bitsPerSample;
  for (let c = 0; c < n; c += 1) {
    const channel = out[c] as Float32Array;
    for (let i = 0; i < frames; i += 1) {
      const o = (i * n + c) * (b / 8);
      let v: number;
      if (format.encoding === 'float') v = b === 32 ? buffer.readFloatLE(o) : buffer.readDoubleLE(o);
      else if (b === 16) v = buffer.readInt16LE(o) / 32768;
      else if (b === 24) v = buffer.readIntLE(o, 3) / 8388608;
      else if (b === 32) v = buffer.readInt32LE(o) / 2147483648;
      else if (b === 8) v = (buffer.readUInt8(o) - 128) / 128;
      else throw new ContractViolationError(`unsupported WAV bit depth ${b}`);
      channel[i] = v;
    }
  }
}
