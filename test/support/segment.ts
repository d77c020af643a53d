// Runs the real Segmenter (probe + one decode pass) in-process on a file, for tests.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { computeConfigHash, type FrameBudget, type RunIdentity } from '../../src/contracts/index.js';
import {
  SAMPLING_POLICY_VERSION,
  checkDuration,
  probeVideo,
  runSegmenter,
  segmenterConfigSchema,
  type SegmenterResult,
  type VideoProbe,
} from '../../src/segmenter/index.js';
import { makeTempDir } from './media.js';

export const TEST_IDENTITY: RunIdentity = {
  platform_id: 'test',
  video_id: 'video',
  run_id: 'run',
  config_hash: computeConfigHash({ test: true }),
  sampling_policy_version: SAMPLING_POLICY_VERSION,
  dataprocessor_version: 'test',
};

export async function segment(
  path: string,
  budgets: Record<string, FrameBudget>,
  config: Record<string, unknown> = {},
  minHeights: Record<string, number> = {},
): Promise<{ probe: VideoProbe; result: SegmenterResult; runDir: string }> {
  const parsed = segmenterConfigSchema.parse(config);
  const probe = await probeVideo(path, {
    timeoutMs: parsed.probe_timeout_sec * 1000,
    maxFileBytes: parsed.max_file_bytes,
    maxDurationSec: parsed.max_duration_sec,
    memoryLimitMb: parsed.decode_memory_limit_mb,
  });
  checkDuration(probe, parsed.min_duration_sec, parsed.max_duration_sec);
  const runDir = join(makeTempDir('seg'), 'run');
  mkdirSync(runDir, { recursive: true });
  const result = await runSegmenter({
    probe,
    identity: TEST_IDENTITY,
    runDir,
    budgets: new Map(Object.entries(budgets)),
    minHeights: new Map(Object.entries(minHeights)),
    config: parsed,
  });
  return { probe, result, runDir };
}
