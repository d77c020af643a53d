// tempo_extractor speed: seconds of analysis per minute of audio (the component: worker thread
// streaming the WAV, onset envelope, tempo, beats), over ffmpeg's own decode of the same audio
// (`ffmpeg -i X -f null -`) as a 48 kHz stereo float WAV and as AAC 192k, measured in the same run;
// median of 3. Usage: npx tsx bench/tempo.ts [--minutes N]   (default 3)
import { memoryScratchSpace, noDependencyInputs } from '../src/contracts/index.js';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ComponentContext, RunIdentity } from '../src/contracts/index.js';
import { tempoExtractor, type TempoExtractorConfig } from '../src/processors/audio/index.js';
import { drumPattern, writeFloatWav } from '../test/support/audio-signals.js';

const minutesArg = process.argv.indexOf('--minutes');
const minutes = minutesArg > 0 ? Number(process.argv[minutesArg + 1]) : 3;
if (!(minutes > 0)) throw new Error('--minutes must be a positive number');
const seconds = minutes * 60;
const dir = join(import.meta.dirname, '..', '.tmp', 'bench-tempo');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

const samples = drumPattern({ bpm: 123.4, seconds, swing: true, noiseDb: -20 }).samples;
const wav = join(dir, 'drums.wav');
writeFloatWav(wav, [samples, samples], 48000);
const aac = join(dir, 'drums.m4a');
spawnSync('ffmpeg', [
  '-hide_banner',
  '-loglevel',
  'error',
  '-y',
  '-i',
  wav,
  '-c:a',
  'aac',
  '-b:a',
  '192k',
  aac,
]);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function ffmpegDecodeSec(path: string): number {
  const started = performance.now();
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', path, '-f', 'null', '-']);
  if (r.status !== 0) throw new Error(`ffmpeg failed on ${path}`);
  return (performance.now() - started) / 1000;
}

const identity: RunIdentity = {
  platform_id: 'bench',
  video_id: 'bench',
  run_id: 'bench',
  config_hash: '0'.repeat(64),
  sampling_policy_version: 'sp_v1',
  dataprocessor_version: 'bench',
};
const context: ComponentContext<TempoExtractorConfig> = {
  identity,
  runDir: dir,
  config: tempoExtractor.configSchema.parse({}),
  frames: null,
  audio: { hasAudio: true, wavPath: wav, sampleRate: 48000, channels: 2, durationSec: seconds },
  progress: () => undefined,
  signal: new AbortController().signal,
  inputs: noDependencyInputs('test'),
  scratch: memoryScratchSpace(),
  document: null,
};

async function tempoSec(): Promise<{ sec: number; bpm: unknown }> {
  const started = performance.now();
  const result = await tempoExtractor.run(context);
  return { sec: (performance.now() - started) / 1000, bpm: result.meta?.tempo_bpm };
}

const runs = { tempo: [] as number[], wav: [] as number[], aac: [] as number[] };
let bpm: unknown = null;
for (let i = 0; i < 3; i += 1) {
  const t = await tempoSec();
  runs.tempo.push(t.sec);
  bpm = t.bpm;
  runs.wav.push(ffmpegDecodeSec(wav));
  runs.aac.push(ffmpegDecodeSec(aac));
}
const perMinute = (sec: number): string => `${(sec / minutes).toFixed(3)} s/min`;
const [tempo, wavDecode, aacDecode] = [median(runs.tempo), median(runs.wav), median(runs.aac)];
console.log(
  `tempo_extractor on ${minutes} min of 48 kHz stereo (drums, 123.4 BPM → ${String(bpm)}), median of 3:`,
);
console.log(`  tempo_extractor (worker, from the WAV)  ${perMinute(tempo)}`);
console.log(
  `  ffmpeg decode of the WAV (-f null)       ${perMinute(wavDecode)}  → ratio ${(tempo / wavDecode).toFixed(1)}×`,
);
console.log(
  `  ffmpeg decode of the AAC (-f null)       ${perMinute(aacDecode)}  → ratio ${(tempo / aacDecode).toFixed(1)}×`,
);
console.log(`  real-time factor: ${(seconds / tempo).toFixed(0)}× faster than real time`);
rmSync(dir, { recursive: true, force: true });
