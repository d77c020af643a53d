// End-to-end: `dataprocessor models list | verify | install` through the built CLI, against a
// temp model store, a directory and a static mirror on loopback.
import { spawn } from 'node:child_process';
import { copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from './support/media.js';
import { flipByte, HUMAN_MODELS, OCR_ASSETS } from './support/models/fixtures.js';
import { startStaticMirror, type RunningServer } from './support/models/servers.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'dataprocessor.js');

// Async spawn: the mirror runs in this process and must keep answering while the CLI runs.
function cli(
  args: string[],
  modelDir: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'models', ...args], {
      env: { ...process.env, NO_COLOR: '1', DATAPROCESSOR_MODEL_DIR: modelDir },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let server: RunningServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

describe('dataprocessor models', () => {
  it('list --json shows every registered model with where it is and whether it verifies', async () => {
    const dir = makeTempDir('cli-models');
    const r = await cli(['list', '--json'], dir);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      store: string;
      models: { name: string; installed: string | null; verified: boolean | null }[];
    };
    expect(out.store).toBe(dir);
    const byName = Object.fromEntries(out.models.map((m) => [m.name, m]));
    for (const name of [
      'paddleocr-det',
      'paddleocr-rec',
      'paddleocr-cls',
      'blazeface',
      'facemesh',
      'emotion',
      'centernet-coco',
      'nanodet-coco',
    ]) {
      expect(byName[name]).toMatchObject({ installed: 'package', verified: true });
    }
    for (const name of [
      'clip-vit-b32-vision',
      'depth-anything-v2-small',
      'clap-htsat-unfused-audio',
      'minilm-l6-v2',
      'whisper-tiny-encoder',
    ]) {
      expect(byName[name]).toMatchObject({ installed: null, verified: null });
    }
  });

  it('install --from an http mirror, then verify catches a flipped byte (exit 4, MODEL_DIGEST_MISMATCH)', async () => {
    server = await startStaticMirror(HUMAN_MODELS);
    const dir = makeTempDir('cli-models');
    const install = await cli(['install', 'emotion', '--from', server.url, '--json'], dir);
    expect(install.code).toBe(0);
    const result = JSON.parse(install.stdout) as { type: string; dir: string };
    expect(result.type).toBe('installed');
    expect((await cli(['verify', 'emotion'], dir)).code).toBe(0);
    flipByte(join(result.dir, 'emotion.bin'), 1234);
    const verify = await cli(['verify', 'emotion', '--json'], dir);
    expect(verify.code).toBe(4);
    expect(verify.stdout).toContain('"error_code":"MODEL_DIGEST_MISMATCH"');
    const listed = await cli(['list', '--json'], dir);
    expect(listed.code).toBe(4);
    const list = JSON.parse(listed.stdout) as {
      models: { name: string; installed: string; verified: boolean }[];
    };
    expect(list.models.find((m) => m.name === 'emotion')).toMatchObject({
      installed: 'store',
      verified: false,
    });
  });

  it('install --from a directory; a corrupted file fails with MODEL_DIGEST_MISMATCH and leaves nothing', async () => {
    const dir = makeTempDir('cli-models');
    expect((await cli(['install', 'paddleocr-cls', '--from', OCR_ASSETS], dir)).code).toBe(0);
    expect(readdirSync(dir)).toEqual(['paddleocr-cls']);
    const bad = makeTempDir('cli-bad');
    copyFileSync(join(HUMAN_MODELS, 'blazeface.json'), join(bad, 'blazeface.json'));
    copyFileSync(join(HUMAN_MODELS, 'blazeface.bin'), join(bad, 'blazeface.bin'));
    flipByte(join(bad, 'blazeface.bin'));
    const r = await cli(['install', 'blazeface', '--from', bad], dir);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('MODEL_DIGEST_MISMATCH');
    expect(readdirSync(dir)).toEqual(['paddleocr-cls']);
  });

  it('an unknown model is MODEL_NOT_FOUND (exit 4); a bad --sha256 is INPUT_INVALID (exit 2)', async () => {
    const dir = makeTempDir('cli-models');
    const r = await cli(['install', 'no-such-model', '--from', OCR_ASSETS, '--json'], dir);
    expect(r.code).toBe(4);
    expect(JSON.parse(r.stdout)).toMatchObject({ type: 'error', error_code: 'MODEL_NOT_FOUND' });
    expect((await cli(['verify', 'no-such-model'], dir)).code).toBe(4);
    const pin = await cli(
      ['install', 'clip-vit-b32-vision', '--from', OCR_ASSETS, '--sha256', 'nothex', '--json'],
      dir,
    );
    expect(pin.code).toBe(2);
    expect(JSON.parse(pin.stdout)).toMatchObject({ error_code: 'INPUT_INVALID' });
    expect(readdirSync(dir)).toEqual([]);
  });
});
