// R-ORC-4 state files: the event log is the durable truth; run_state.json and _state/<processor>.json
// are checkpoints that can always be rebuilt from it, even after kill -9.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rebuildState, runStateSchema } from '../src/orchestrator/index.js';
import { findComponent } from '../src/processors/index.js';
import { makeShotVideo, makeTempDir } from './support/media.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'dataprocessor.js');
const dir = makeTempDir('state');
const processorOf = (stage: string): string =>
  stage === 'segmenter' ? 'segmenter' : (findComponent(stage)?.processor ?? 'unknown');

describe('run state files', () => {
  it('a finished run has run_state.json and per-processor state equal to what the event log rebuilds', async () => {
    const video = join(dir, 'v.mp4');
    makeShotVideo(video, { width: 320, height: 180, shotSeconds: [3, 3], toneDbfs: -20 });
    const store = join(dir, 'store');
    const r = spawnSync(
      process.execPath,
      [BIN, 'run', video, '--out', store, '--video-id', 'v', '--run-id', 'r1'],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const runDir = join(store, 'local', 'v', 'r1');
    const checkpoint = runStateSchema.parse(JSON.parse(readFileSync(join(runDir, 'run_state.json'), 'utf8')));
    expect(await rebuildState(runDir, processorOf)).toEqual(checkpoint);
    expect(checkpoint.status).toBe('ok');
    expect(Object.keys(checkpoint.stages).sort()).toEqual([
      'core_face_landmarks',
      'core_object_detections',
      'cut_detection',
      'emotion_face',
      'loudness_extractor',
      'ocr',
      'segmenter',
      'shot_quality',
      'tempo_extractor',
      'text_processor',
    ]);
    // Test patterns have no faces (and maybe no objects or text): those finish `empty`, validly;
    // without a document text_processor is empty (no_text_input).
    for (const [stage, s] of Object.entries(checkpoint.stages))
      expect(
        ['core_face_landmarks', 'core_object_detections', 'ocr', 'emotion_face', 'text_processor'].includes(
          stage,
        )
          ? ['ok', 'empty']
          : ['ok'],
        stage,
      ).toContain(s.status);
    expect(checkpoint.stages.core_face_landmarks?.status).toBe('empty');
    expect(checkpoint.stages.emotion_face?.status).toBe('empty');
    const events = readFileSync(join(runDir, 'state_events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; type: string });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]?.type).toBe('run_started');
    expect(events.at(-1)?.type).toBe('run_finished');
    const audio = JSON.parse(readFileSync(join(runDir, '_state', 'audio.json'), 'utf8')) as {
      components: Record<string, { status: string }>;
    };
    expect(audio.components.loudness_extractor?.status).toBe('ok');
    expect(existsSync(join(runDir, '_state', 'visual.json'))).toBe(true);
    expect(spawnSync(process.execPath, [BIN, 'audit', runDir], { encoding: 'utf8' }).status).toBe(0);
  });

  it('after kill -9 at random points the checkpoint is absent or valid and the event log still rebuilds', async () => {
    const video = join(dir, 'long.mp4');
    makeShotVideo(video, { width: 640, height: 360, shotSeconds: [8, 8], toneDbfs: -20 });
    const store = join(dir, 'killed');
    let rebuilt = 0;
    for (let i = 0; i < 6; i += 1) {
      const runId = `k${i}`;
      const child = spawn(
        process.execPath,
        [BIN, 'run', video, '--out', store, '--video-id', 'v', '--run-id', runId, '--json'],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      await new Promise<void>((resolve) => {
        let seen = 0;
        const target = 1 + (i % 4);
        child.stdout.on('data', (chunk: Buffer) => {
          seen += chunk.toString().split('\n').filter(Boolean).length;
          if (seen >= target) child.kill('SIGKILL');
        });
        child.on('exit', () => resolve());
      });
      const runDir = join(store, 'local', 'v', runId);
      if (!existsSync(runDir)) continue;
      if (existsSync(join(runDir, 'run_state.json'))) {
        const checkpoint = runStateSchema.parse(
          JSON.parse(readFileSync(join(runDir, 'run_state.json'), 'utf8')),
        );
        const state = await rebuildState(runDir, processorOf);
        expect(state?.last_seq).toBeGreaterThanOrEqual(checkpoint.last_seq);
      }
      if (await rebuildState(runDir, processorOf)) rebuilt += 1;
    }
    expect(rebuilt).toBeGreaterThan(0);
  });
});
