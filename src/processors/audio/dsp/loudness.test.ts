// EBU R128 conformance on synthesised EBU Tech 3341/3342 signals, plus agreement with ffmpeg's
// own ebur128 filter. A stereo 1 kHz sine at X dBFS reads X LUFS (Tech 3341 §2).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir } from '../../../../test/support/media.js';
import { LoudnessMeter, kWeightingFilters, type LoudnessResult } from './loudness.js';
import { readWavBlocks } from './wav.js';

const dir = makeTempDir('loudness');

/** Writes a WAV of 1 kHz sine segments [dBFS, seconds] (0 s fades at joins keep it continuous). */
function toneWav(
  name: string,
  segments: [number, number][],
  options: { rate?: number; channels?: 1 | 2; codec?: string } = {},
): string {
  const { rate = 48000, channels = 2, codec = 'pcm_f32le' } = options;
  // Piecewise gain as nested if(lt(t,end),gain,…); commas escaped for the filter parser.
  let t0 = 0;
  const ends = segments.map(([, seconds]) => (t0 += seconds));
  const gain = segments.reduceRight(
    (rest, [db], i) =>
      i === segments.length - 1
        ? `${10 ** (db / 20)}`
        : `if(lt(t\\,${ends[i]})\\,${10 ** (db / 20)}\\,${rest})`,
    '',
  );
  const channel = `${gain}*sin(2*PI*1000*t)`;
  const path = join(dir, `${name}.wav`);
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `aevalsrc=${channels === 2 ? `${channel}|${channel}` : channel}:s=${rate}:d=${t0}`,
    '-c:a',
    codec,
    path,
  ]);
  return path;
}

async function measure(path: string): Promise<LoudnessResult> {
  let meter: LoudnessMeter | null = null;
  for await (const { format, channels } of readWavBlocks(path, 12345)) {
    meter ??= new LoudnessMeter(format.sampleRate, format.channels);
    meter.push(channels);
  }
  if (!meter) throw new Error('no audio');
  return meter.finish();
}

function ffmpegEbur128(path: string): { integrated: number; lra: number } {
  let stderr = '';
  try {
    execFileSync('ffmpeg', ['-hide_banner', '-nostats', '-i', path, '-af', 'ebur128', '-f', 'null', '-'], {
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (error) {
    stderr = String((error as { stderr?: string }).stderr);
  }
  stderr ||= execFileSync(
    'sh',
    ['-c', `ffmpeg -hide_banner -nostats -i '${path}' -af ebur128 -f null - 2>&1`],
    { encoding: 'utf8' },
  );
  const integrated = Number(/I:\s+(-?[\d.]+) LUFS/.exec(stderr.split('Summary:')[1] ?? '')?.[1]);
  const lra = Number(/LRA:\s+(-?[\d.]+) LU/.exec(stderr.split('Summary:')[1] ?? '')?.[1]);
  return { integrated, lra };
}

describe('K-weighting', () => {
  it('reproduces the BS.1770-4 published coefficients at 48 kHz', () => {
    const [shelf, highPass] = kWeightingFilters(48000);
    // BS.1770-4 Table 1 (pre-filter) and Table 2 (RLB filter).
    expect(shelf.b0).toBeCloseTo(1.53512485958697, 10);
    expect(shelf.b1).toBeCloseTo(-2.69169618940638, 10);
    expect(shelf.b2).toBeCloseTo(1.19839281085285, 10);
    expect(shelf.a1).toBeCloseTo(-1.69065929318241, 10);
    expect(shelf.a2).toBeCloseTo(0.73248077421585, 10);
    expect(highPass.a1).toBeCloseTo(-1.99004745483398, 10);
    expect(highPass.a2).toBeCloseTo(0.99007225036621, 10);
  });
});

describe('EBU Tech 3341 / 3342 conformance', () => {
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
    {
      name: '3342-4',
      segments: [
        [-50, 20],
        [-35, 20],
        [-20, 20],
        [-35, 20],
        [-50, 20],
      ],
      lra: 15,
    },
  ];
  for (const c of cases) {
    it(`case ${c.name}: ${c.integrated !== undefined ? `I = ${c.integrated} ±0.1 LUFS` : `LRA = ${c.lra} ±1 LU`}, and within 0.2 LU of ffmpeg`, async () => {
      const path = toneWav(c.name, c.segments);
      const result = await measure(path);
      const reference = ffmpegEbur128(path);
      if (c.integrated !== undefined)
        expect(Math.abs((result.integratedLufs ?? Number.NaN) - c.integrated)).toBeLessThanOrEqual(0.1);
      if (c.lra !== undefined)
        expect(Math.abs((result.loudnessRangeLu ?? Number.NaN) - c.lra)).toBeLessThanOrEqual(1);
      expect(Math.abs((result.integratedLufs ?? Number.NaN) - reference.integrated)).toBeLessThanOrEqual(0.2);
    });
  }
});

describe('inputs and edge cases', () => {
  it('44.1 kHz and 16-bit PCM read the same loudness', async () => {
    const result = await measure(toneWav('441', [[-23, 10]], { rate: 44100, codec: 'pcm_s16le' }));
    expect(Math.abs((result.integratedLufs ?? 0) - -23)).toBeLessThanOrEqual(0.1);
  });

  it('a mono 1 kHz sine at -20 dBFS reads -23 LUFS (one channel carries half the power of stereo)', async () => {
    const result = await measure(toneWav('mono', [[-20, 10]], { channels: 1 }));
    expect(Math.abs((result.integratedLufs ?? 0) - -23.01)).toBeLessThanOrEqual(0.1);
    expect(result.channels).toBe(1);
  });

  it('momentary and short-term series settle at the tone level and are NaN before their window fills', async () => {
    const result = await measure(toneWav('series', [[-23, 6]]));
    expect(result.timesSec.length).toBe(60);
    expect(result.timesSec[0]).toBeCloseTo(0.1, 5);
    expect(Number.isNaN(result.momentaryLufs[2])).toBe(true);
    expect(result.momentaryLufs[10]).toBeCloseTo(-23, 1);
    expect(Number.isNaN(result.shortTermLufs[28])).toBe(true);
    expect(result.shortTermLufs[40]).toBeCloseTo(-23, 1);
  });

  it('true peak of a sine at -6 dBFS is about -6 dBTP; sample peak never exceeds it', async () => {
    const result = await measure(toneWav('peak', [[-6, 5]]));
    expect(result.truePeakDbtp).toBeGreaterThan(-6.4);
    expect(result.truePeakDbtp).toBeLessThan(-5.8);
    expect(result.samplePeakDbfs).toBeLessThanOrEqual((result.truePeakDbtp ?? 0) + 1e-9);
  });

  it('digital silence gives null integrated loudness with a reason, never -Infinity', async () => {
    const path = join(dir, 'silence.wav');
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'anullsrc=r=48000:cl=stereo',
      '-t',
      '5',
      '-c:a',
      'pcm_f32le',
      path,
    ]);
    const result = await measure(path);
    expect(result.integratedLufs).toBeNull();
    expect(result.integratedNullReason).toBe('silent_audio');
    expect(result.isDigitalSilence).toBe(true);
    expect(result.truePeakDbtp).toBeNull();
    expect(JSON.stringify(result)).not.toContain('Infinity');
  });

  it('a 0.3 s signal is too short for a gating block: null + too_short', async () => {
    const result = await measure(toneWav('short', [[-23, 0.3]]));
    expect(result.integratedLufs).toBeNull();
    expect(result.integratedNullReason).toBe('too_short');
  });
});
