import { memoryScratchSpace, noDependencyInputs } from '../../../../../contracts/index.js';
import { describe, expect, it } from 'vitest';
import type { ComponentContext } from '../../../../../contracts/index.js';
import { cutDetection } from './index.js';

describe('cut_detection component', () => {
  it('fails with DEPENDENCY_MISSING when the Segmenter gave it no frames (never samples on its own)', async () => {
    const ctx = {
      identity: {} as never,
      runDir: '/nonexistent',
      config: cutDetection.configSchema.parse({}),
      frames: null,
      audio: { hasAudio: false, wavPath: null, sampleRate: 48000, channels: 0, durationSec: 0 },
      progress: () => undefined,
      signal: new AbortController().signal,
      inputs: noDependencyInputs('test'),
      scratch: memoryScratchSpace(),
      document: null,
    } satisfies ComponentContext<unknown>;
    await expect(cutDetection.run(ctx as never)).rejects.toMatchObject({ code: 'DEPENDENCY_MISSING' });
  });
});
