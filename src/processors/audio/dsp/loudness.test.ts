// EBU R128 / BS.1770-4 conformance on synthesised EBU Tech 3341/3342 signals, checked against the
// documents' expected values and against ffmpeg's own ebur128 filter on the same file; plus the
// WAV reader against ffmpeg's decoder. A stereo 1 kHz sine at X dBFS reads X LUFS (Tech 3341 §2).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  LoudnessMeter,
  gatedLoudness,
  kWeightingFilters,
  loudnessRangeLu,
  truePeakInterpolator,
  type Biquad,
  type LoudnessOptions,
  type LoudnessResult,
} from './loudness.js';
import { task } from './loudness.task.js';
import { parseWavHeader, readWav, readWavBlocks, readWavFormat } from './wav.js';

const dir = mkdtempSync(join(tmpdir(), 'dp-loudness-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

const amplitude = (dbfs: number): number => 10 ** (dbfs / 20);

/**
 * Writes a WAV of 1 kHz sine segments [dBFS, seconds] on every channel (gain switches at the
 * segment ends; the phase runs on, so the joins are continuous). `levels` overrides per channel.
 */
function toneWav(
  name: string,
  segments: [number, number][],
  options: { rate?: number; channels?: number; codec?: string; frequency?: number; extra?: string } = {},
): string {
  const { rate = 48000, channels = 2, codec = 'pcm_f32le', frequency = 1000, extra = '' } = options;
  let t = 0;
  const ends = segments.map(([, seconds]) => (t += seconds));
  // Piecewise gain as nested if(lt(t,end),gain,…), commas escaped for the filter-graph parser.
  const gain = segments.reduceRight(
    (rest, [db], i) =>
      i === segments.length - 1 ? `${amplitude(db)}` : `if(lt(t\\,${ends[i]})\\,${amplitude(db)}\\,${rest})`,
    '',
  );
  const channel = `${gain}*sin(2*PI*${frequency}*t)`;
  const path = join(dir, `${name}.wav`);
  const expressions = Array.from({ length: channels }, () => channel).join('|');
  ffmpeg(['-f', 'lavfi', '-i', `aevalsrc=${expressions}:s=${rate}:d=${t}${extra}`, '-c:a', codec, path]);
  return path;
}

async function measure(
  path: string,
  options: LoudnessOptions = {},
  blockFrames = 12345,
): Promise<LoudnessResult> {
  const format = await readWavFormat(path);
  const meter = new LoudnessMeter(format.sampleRate, format.channels, options);
  for await (const { channels } of readWavBlocks(path, blockFrames)) meter.push(channels);
  return meter.finish();
}

interface Ebur128Summary {
  integrated: number;
  lra: number;
  truePeak: number;
}

/** ffmpeg's ebur128 filter summary (an independent implementation) on the same file. */
function ffmpegEbur128(path: string): Ebur128Summary {
  const r = spawnSync(
    'ffmpeg',
    ['-hide_banner', '-nostats', '-i', path, '-af', 'ebur128=peak=true', '-f', 'null', '-'],
    {
      encoding: 'utf8',
    },
  );
  const summary = r.stderr.split('Summary:')[1] ?? '';
  const number = (re: RegExp): number => Number(re.exec(summary)?.[1] ?? Number.NaN);
  return {
    integrated: number(/I:\s+(-?[\d.]+) LUFS/),
    lra: number(/LRA:\s+(-?[\d.]+) LU/),
    truePeak: number(/True peak:\s+Peak:\s+(-?[\d.]+) dBFS/),
  };
}

/** |H(e^jω)|² of a biquad at frequency f. */
function powerResponse(f: Biquad, frequency: number, sampleRate: number): number {
  const w = (2 * Math.PI * frequency) / sampleRate;
  const re = (a: number, b: number, c: number): number => a + b * Math.cos(w) + c * Math.cos(2 * w);
  const im = (b: number, c: number): number => -b * Math.sin(w) - c * Math.sin(2 * w);
  const num = re(f.b0, f.b1, f.b2) ** 2 + im(f.b1, f.b2) ** 2;
  const den = re(1, f.a1, f.a2) ** 2 + im(f.a1, f.a2) ** 2;
  return num / den;
}

const kWeightingGainDb = (rate: number, frequency: number): number => {
  const [shelf, highPass] = kWeightingFilters(rate);
  return 10 * Math.log10(powerResponse(shelf, frequency, rate) * powerResponse(highPass, frequency, rate));
};

describe('K-weighting', () => {
  it('reproduces the BS.1770-4 published coefficients at 48 kHz (Tables 1 and 2)', () => {
    const [shelf, highPass] = kWeightingFilters(48000);
    expect(shelf.b0).toBeCloseTo(1.53512485958697, 10);
    expect(shelf.b1).toBeCloseTo(-2.69169618940638, 10);
    expect(shelf.b2).toBeCloseTo(1.19839281085285, 10);
    expect(shelf.a1).toBeCloseTo(-1.69065929318241, 10);
    expect(shelf.a2).toBeCloseTo(0.73248077421585, 10);
    expect([highPass.b0, highPass.b1, highPass.b2]).toEqual([1, -2, 1]);
    expect(highPass.a1).toBeCloseTo(-1.99004745483398, 10);
    expect(highPass.a2).toBeCloseTo(0.99007225036621, 10);
  });

  it('has the same response at 44.1 kHz as at 48 kHz (the −0.691 offset cancels its 1 kHz gain)', () => {
    // BS.1770-4 §2.1: −0.691 cancels the K-weighting gain at 997 Hz, so a 1 kHz tone reads its own level.
    expect(kWeightingGainDb(48000, 997)).toBeCloseTo(0.691, 2);
    for (const f of [30, 100, 1000, 4000, 10000])
      expect(Math.abs(kWeightingGainDb(44100, f) - kWeightingGainDb(48000, f))).toBeLessThan(0.02);
  });
});

describe('true-peak interpolator', () => {
  it('oversamples 4× below 96 kHz, 2× below 192 kHz, with unit-DC phases', () => {
    expect(truePeakInterpolator(44100).factor).toBe(4);
    expect(truePeakInterpolator(96000).factor).toBe(2);
    expect(truePeakInterpolator(192000).factor).toBe(1);
    for (const h of truePeakInterpolator(48000).phases)
      expect(h.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('finds the peak between samples: 12 kHz at 0.5 with a 45° phase (samples at −9.03 dBFS) reads −6.02 dBTP', () => {
    // Samples fall at ±0.5·sin(45°): sample peak −9.03 dBFS while the waveform peaks at −6.02.
    const n = 48000;
    const x = Float32Array.from({ length: n }, (_, i) => {
      const fade = Math.min(1, i / 4800, (n - i) / 4800); // fades so the onset does not ring
      return fade * 0.5 * Math.sin((2 * Math.PI * 12000 * i) / 48000 + Math.PI / 4);
    });
    const meter = new LoudnessMeter(48000, 1);
    meter.push([x]);
    const r = meter.finish();
    expect(r.samplePeakDbfs).toBeCloseTo(-9.031, 2);
    expect(Math.abs((r.truePeakDbtp ?? 0) - -6.021)).toBeLessThan(0.05);
  });

  it('reads sines from 1 to 19 kHz within 0.2 dB of their amplitude (Tech 3341 true-peak tolerance +0.2/−0.4)', () => {
    for (const frequency of [997, 5003, 9973, 15013, 19001]) {
      const n = 24000;
      const x = Float32Array.from({ length: n }, (_, i) => {
        const fade = Math.min(1, i / 2400, (n - i) / 2400);
        return fade * 0.5 * Math.sin((2 * Math.PI * frequency * i) / 48000 + 0.3);
      });
      const meter = new LoudnessMeter(48000, 1);
      meter.push([x]);
      const tp = meter.finish().truePeakDbtp ?? 0;
      expect(tp, `${frequency} Hz`).toBeGreaterThan(-6.021 - 0.2);
      expect(tp, `${frequency} Hz`).toBeLessThan(-6.021 + 0.2);
    }
  });
});

describe('EBU Tech 3341 / 3342 conformance, and agreement with ffmpeg ebur128', () => {
  const cases: { name: string; segments: [number, number][]; integrated?: number; lra?: number }[] = [
    { name: '3341-1', segments: [[-23, 20]], integrated: -23 },
    { name: '3341-2', segments: [[-33, 20]], integrated: -33 },
    {
      name: '3341-3',
      segments: [
        [-36, 10],
        [-23, 60],
        [-36, 10],
      ],
      integrated: -23,
    },
    {
      name: '3341-4',
      segments: [
        [-72, 10],
        [-36, 10],
        [-23, 60],
        [-36, 10],
        [-72, 10],
      ],
      integrated: -23,
    },
    {
      name: '3341-5',
      segments: [
        [-26, 20],
        [-20, 20.1],
        [-26, 20],
      ],
      integrated: -23,
    },
    {
      name: '3342-1',
      segments: [
        [-20, 20],
        [-30, 20],
      ],
      lra: 10,
    },
    {
      name: '3342-2',
      segments: [
        [-20, 20],
        [-15, 20],
      ],
      lra: 5,
    },
    {
      name: '3342-3',
      segments: [
        [-40, 20],
        [-20, 20],
      ],
      lra: 20,
    },
  ];
  for (const c of cases) {
    const expected = c.integrated !== undefined ? `I = ${c.integrated} ±0.1 LUFS` : `LRA = ${c.lra} ±1 LU`;
    it(`case ${c.name}: ${expected}; I and LRA within 0.2 of ffmpeg`, async () => {
      const path = toneWav(c.name, c.segments);
      const ours = await measure(path);
      const reference = ffmpegEbur128(path);
      console.info(
        `${c.name}: I ours ${ours.integratedLufs?.toFixed(3)} ffmpeg ${reference.integrated}` +
          ` | LRA ours ${ours.loudnessRangeLu?.toFixed(3)} ffmpeg ${reference.lra}` +
          ` | TP ours ${ours.truePeakDbtp?.toFixed(3)} ffmpeg ${reference.truePeak}`,
      );
      if (c.integrated !== undefined)
        expect(Math.abs((ours.integratedLufs ?? NaN) - c.integrated)).toBeLessThanOrEqual(0.1);
      if (c.lra !== undefined) expect(Math.abs((ours.loudnessRangeLu ?? NaN) - c.lra)).toBeLessThanOrEqual(1);
      expect(Math.abs((ours.integratedLufs ?? NaN) - reference.integrated)).toBeLessThanOrEqual(0.2);
      expect(Math.abs((ours.loudnessRangeLu ?? NaN) - reference.lra)).toBeLessThanOrEqual(0.2);
      expect(Math.abs((ours.truePeakDbtp ?? NaN) - reference.truePeak)).toBeLessThanOrEqual(0.2);
    });
  }

  it('case 3341-6: 5.0 channels at −28/−28/−24/−30/−30 dBFS read −23 ±0.1 LUFS (surround weight 1.41)', async () => {
    const levels = [-28, -28, -24, -30, -30];
    const path = join(dir, '3341-6.wav');
    const expressions = levels.map((db) => `${amplitude(db)}*sin(2*PI*1000*t)`).join('|');
    ffmpeg(['-f', 'lavfi', '-i', `aevalsrc=${expressions}:s=48000:d=10:c=5.0`, '-c:a', 'pcm_s24le', path]);
    const ours = await measure(path);
    expect(ours.channelWeights).toEqual([1, 1, 1, 1.41, 1.41]);
    expect(Math.abs((ours.integratedLufs ?? NaN) - -23)).toBeLessThanOrEqual(0.1);
    expect(Math.abs((ours.integratedLufs ?? NaN) - ffmpegEbur128(path).integrated)).toBeLessThanOrEqual(0.2);
  });
});

describe('inputs and edge cases', () => {
  it('44.1 kHz 16-bit PCM reads the same loudness (and agrees with ffmpeg)', async () => {
    const path = toneWav('441', [[-23, 10]], { rate: 44100, codec: 'pcm_s16le' });
    const r = await measure(path);
    expect(r.sampleRate).toBe(44100);
    expect(Math.abs((r.integratedLufs ?? NaN) - -23)).toBeLessThanOrEqual(0.1);
    expect(Math.abs((r.integratedLufs ?? NaN) - ffmpegEbur128(path).integrated)).toBeLessThanOrEqual(0.2);
    expect(r.timesSec).toHaveLength(100);
  });

  it('a mono 1 kHz sine at −20 dBFS reads −23.01 LUFS (one channel, half the power of stereo)', async () => {
    // 10·log10(½) = −3.01 dB: mono counts as one channel (no dual-mono doubling), as in ffmpeg.
    const path = toneWav('mono', [[-20, 10]], { channels: 1 });
    const r = await measure(path);
    expect(r.channels).toBe(1);
    expect(Math.abs((r.integratedLufs ?? NaN) - -23.01)).toBeLessThanOrEqual(0.1);
    expect(Math.abs((r.integratedLufs ?? NaN) - ffmpegEbur128(path).integrated)).toBeLessThanOrEqual(0.2);
  });

  it('series: 100 ms grid, NaN until the window is full and where ≤ −70 LUFS', async () => {
    const r = await measure(
      toneWav('series', [
        [-23, 4],
        [-75, 4],
      ]),
    );
    expect(r.timesSec).toHaveLength(80);
    expect(r.timesSec[0]).toBeCloseTo(0.1, 6);
    expect(r.timesSec[79]).toBeCloseTo(8, 5);
    expect(Number.isNaN(r.momentaryLufs[2])).toBe(true); // window ends at 0.3 s < 0.4 s
    expect(r.momentaryLufs[3]).toBeCloseTo(-23, 1); // 0.4 s
    expect(Number.isNaN(r.shortTermLufs[28])).toBe(true); // 2.9 s
    expect(r.shortTermLufs[29]).toBeCloseTo(-23, 1); // 3.0 s
    expect(Number.isNaN(r.momentaryLufs[60])).toBe(true); // 6.1 s: −75 LUFS, below the gate
    // The quiet half is gated out; the 3 blocks straddling 4 s (¾, ½, ¼ of the energy) pass the
    // relative gate, so I = −23 + 10·log10((37 + 1.5) / 40).
    expect(Math.abs((r.integratedLufs ?? NaN) - (-23 + 10 * Math.log10(38.5 / 40)))).toBeLessThan(0.02);
  });

  it('a different hop changes only the series grid; block size changes nothing', async () => {
    const path = toneWav('hop', [
      [-30, 3],
      [-20, 4],
    ]);
    const base = await measure(path);
    const hop = await measure(path, { hopSec: 0.25 }, 4801);
    const oneBlock = await measure(path, {}, 1 << 20);
    expect(hop.timesSec).toHaveLength(28);
    expect(hop.timesSec[3]).toBeCloseTo(1, 6);
    expect(hop.integratedLufs).toBeCloseTo(base.integratedLufs ?? NaN, 9);
    expect(hop.loudnessRangeLu).toBeCloseTo(base.loudnessRangeLu ?? NaN, 9);
    expect(hop.momentaryLufs[9]).toBeCloseTo(base.momentaryLufs[24] ?? NaN, 4); // both end at 2.5 s
    expect(oneBlock.integratedLufs).toBeCloseTo(base.integratedLufs ?? NaN, 9);
    expect(oneBlock.truePeakDbtp).toBeCloseTo(base.truePeakDbtp ?? NaN, 9);
    const seriesDifference = base.shortTermLufs.reduce(
      (worst, v, k) =>
        Number.isNaN(v) ? worst : Math.max(worst, Math.abs(v - (oneBlock.shortTermLufs[k] ?? NaN))),
      0,
    );
    expect(seriesDifference).toBeLessThan(1e-4);
    expect(oneBlock.shortTermLufs.filter(Number.isNaN)).toHaveLength(29);
    expect(() => new LoudnessMeter(48000, 2, { hopSec: 0.015 })).toThrow(/multiple of 0.01/);
  });

  it('digital silence: integrated and range null with reason silent_audio, peaks null, never ±Infinity', async () => {
    const path = join(dir, 'silence.wav');
    ffmpeg(['-f', 'lavfi', '-i', 'anullsrc=r=48000:cl=stereo', '-t', '5', '-c:a', 'pcm_f32le', path]);
    const r = await measure(path);
    expect(r).toMatchObject({
      integratedLufs: null,
      integratedNullReason: 'silent_audio',
      loudnessRangeLu: null,
      loudnessRangeNullReason: 'silent_audio',
      truePeakDbtp: null,
      samplePeakDbfs: null,
      isDigitalSilence: true,
    });
    expect(r.momentaryLufs.every(Number.isNaN)).toBe(true);
    expect(JSON.stringify(r)).not.toMatch(/Infinity|NaN/);
  });

  it('audio below the −70 LUFS gate is not silence: null with reason below_absolute_gate', async () => {
    const r = await measure(toneWav('quiet', [[-80, 2]]));
    expect(r).toMatchObject({
      integratedLufs: null,
      integratedNullReason: 'below_absolute_gate',
      isDigitalSilence: false,
    });
    expect(r.truePeakDbtp).toBeCloseTo(-80, 1);
  });

  it('0.3 s is shorter than one 400 ms gating block: null with reason too_short', async () => {
    const r = await measure(toneWav('short', [[-23, 0.3]]));
    expect(r).toMatchObject({
      integratedLufs: null,
      integratedNullReason: 'too_short',
      loudnessRangeNullReason: 'too_short',
    });
    expect(r.timesSec).toHaveLength(3);
  });

  it('NaN samples are measured as 0 and counted, not propagated', () => {
    const meter = new LoudnessMeter(48000, 1);
    const x = Float32Array.from(
      { length: 48000 },
      (_, i) => 0.1 * Math.sin((2 * Math.PI * 1000 * i) / 48000),
    );
    x[100] = Number.NaN;
    meter.push([x]);
    const r = meter.finish();
    expect(r.nonFiniteSamples).toBe(1);
    expect(Number.isFinite(r.integratedLufs)).toBe(true);
  });

  it('gating helpers: absolute then relative gate; LRA P95 − P10 by nearest rank', () => {
    const ms = (lufsValue: number): number => 10 ** ((lufsValue + 0.691) / 10);
    expect(gatedLoudness([ms(-80), ms(-75)])).toBeNull();
    // −20 and −40: the relative gate (mean ≈ −22.96 − 10) drops −40.
    expect(gatedLoudness([ms(-20), ms(-40)])).toBeCloseTo(-20, 9);
    expect(loudnessRangeLu(Array.from({ length: 21 }, (_, i) => ms(-30 + i / 2)))).toBeCloseTo(8.5, 9);
  });

  it('the worker task streams a file and reports progress in frames', async () => {
    const path = toneWav('task', [[-23, 12]]);
    const calls: [number, number][] = [];
    const r = await task({ wavPath: path, hopSec: 0.1 }, (done, total) => calls.push([done, total]));
    expect(Math.abs((r.integratedLufs ?? NaN) - -23)).toBeLessThanOrEqual(0.1);
    expect(calls[0]).toEqual([0, 576000]);
    expect(calls.at(-1)).toEqual([576000, 576000]);
  });
});

describe('WAV reader', () => {
  it('decodes PCM 16/24/32, float 32/64 and WAVE_FORMAT_EXTENSIBLE with LIST chunks as ffmpeg does', async () => {
    const source = 'aevalsrc=0.7*sin(2*PI*440*t)|-0.3*sin(2*PI*1234*t):s=48000:d=0.5';
    const reference = join(dir, 'reference.f32');
    ffmpeg(['-f', 'lavfi', '-i', source, '-f', 'f32le', reference]);
    for (const [codec, tolerance] of [
      ['pcm_s16le', 2 ** -15],
      ['pcm_s24le', 2 ** -23],
      ['pcm_s32le', 1e-7],
      ['pcm_f32le', 0],
      ['pcm_f64le', 1e-7],
    ] as const) {
      const path = join(dir, `fmt-${codec}.wav`);
      ffmpeg(['-f', 'lavfi', '-i', source, '-c:a', codec, path]); // ffmpeg adds a LIST/INFO chunk
      // ffmpeg's own decode of our file, to float32, is the independent reference for this codec.
      const decoded = join(dir, `fmt-${codec}.f32`);
      ffmpeg(['-i', path, '-f', 'f32le', decoded]);
      const raw = readFileSync(decoded);
      const expected = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
      const { sampleRate, channels } = await readWav(path);
      expect(sampleRate).toBe(48000);
      expect(channels).toHaveLength(2);
      expect(channels[0]).toHaveLength(24000);
      let maxError = 0;
      for (let i = 0; i < 24000; i += 1)
        for (let c = 0; c < 2; c += 1)
          maxError = Math.max(maxError, Math.abs((channels[c]?.[i] ?? 0) - (expected[i * 2 + c] ?? 0)));
      expect(maxError, codec).toBeLessThanOrEqual(tolerance);
    }
    const s24 = await readWavFormat(join(dir, 'fmt-pcm_s24le.wav'));
    expect(s24).toMatchObject({ encoding: 'pcm', bitsPerSample: 24, channels: 2, frames: 24000 });
  });

  it('skips a chunk larger than 64 KiB before fmt, reads 8-bit, and a pipe-written size placeholder', async () => {
    const frames = 4;
    const list = new Uint8Array(100_001); // odd size: padded to even
    const wav = Buffer.concat([
      Buffer.from('RIFF\0\0\0\0WAVE', 'latin1'),
      chunk('LIST', list),
      chunk('fmt ', fmtBody({ tag: 1, channels: 1, rate: 8000, bits: 8 })),
      chunk('data', Uint8Array.from([128, 255, 0, 192]), 0xffffffff),
    ]);
    const path = join(dir, 'handmade.wav');
    writeFileSync(path, wav);
    const { sampleRate, channels } = await readWav(path);
    expect(sampleRate).toBe(8000);
    expect(Array.from(channels[0] ?? [])).toEqual([0, 127 / 128, -1, 0.5]);
    expect(channels[0]).toHaveLength(frames);
  });

  it('rejects what it cannot read with CONTRACT_VIOLATION', () => {
    const bad = (body: Uint8Array): Buffer =>
      Buffer.concat([
        Buffer.from('RIFF\0\0\0\0WAVE', 'latin1'),
        chunk('fmt ', body),
        chunk('data', new Uint8Array(4)),
      ]);
    expect(() => parseWavHeader(Buffer.from('not a wav file at all'), 21)).toThrow(/RIFF/);
    expect(() => parseWavHeader(bad(fmtBody({ tag: 2, channels: 2, rate: 8000, bits: 4 })), 100)).toThrow(
      expect.objectContaining({ code: 'CONTRACT_VIOLATION' }) as Error,
    );
    expect(() => parseWavHeader(bad(fmtBody({ tag: 1, channels: 2, rate: 8000, bits: 12 })), 100)).toThrow(
      /bit depth/,
    );
    expect(parseWavHeader(bad(fmtBody({ tag: 3, channels: 1, rate: 8000, bits: 32 })), 100)).toMatchObject({
      encoding: 'float',
      frames: 1,
    });
  });
});

function chunk(id: string, body: Uint8Array, size = body.length): Buffer {
  const header = Buffer.alloc(8);
  header.write(id, 0, 'latin1');
  header.writeUInt32LE(size, 4);
  return Buffer.concat([header, body, Buffer.alloc(body.length % 2)]);
}

function fmtBody(f: { tag: number; channels: number; rate: number; bits: number }): Uint8Array {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(f.tag, 0);
  b.writeUInt16LE(f.channels, 2);
  b.writeUInt32LE(f.rate, 4);
  b.writeUInt32LE((f.rate * f.channels * f.bits) / 8, 8);
  b.writeUInt16LE((f.channels * f.bits) / 8, 12);
  b.writeUInt16LE(f.bits, 14);
  return b;
}
