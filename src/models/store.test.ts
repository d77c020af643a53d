import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataProcessorError } from '../contracts/index.js';
import { makeTempDir } from '../../test/support/media.js';
import { flipByte, HUMAN_MODELS, OCR_ASSETS, tempModelSystem } from '../../test/support/models/fixtures.js';
import { startStaticMirror, type RunningServer } from '../../test/support/models/servers.js';
import {
  buildSyntheticModel,
  createRegistry,
  ModelStore,
  parseSha256Sums,
  writeSyntheticModel,
} from './index.js';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return error instanceof DataProcessorError ? error.code : `non-DataProcessorError: ${String(error)}`;
  }
}

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

let server: RunningServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

describe('model store: install from a directory', () => {
  it('copies the files, writes a lock with their digests and verifies them', async () => {
    const { store, storeDir } = tempModelSystem([]);
    const card = createRegistry().get('paddleocr-cls');
    const located = await store.install(card, OCR_ASSETS);
    expect(located.where).toBe('store');
    expect(located.dir).toBe(join(storeDir, 'paddleocr-cls', card.version));
    const copied = join(located.dir, 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
    // the digest on disk equals the package file's digest, computed here independently
    expect(sha(copied)).toBe(sha(join(OCR_ASSETS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx')));
    const lock = JSON.parse(readFileSync(join(located.dir, 'model.lock.json'), 'utf8')) as {
      files: { sha256: string }[];
    };
    expect(lock.files[0]?.sha256).toBe(sha(copied));
    expect((await store.verify(located)).ok).toBe(true);
    // nothing but the model directory is left in the store
    expect(readdirSync(storeDir)).toEqual(['paddleocr-cls']);
  });

  it('verify catches one flipped byte with MODEL_DIGEST_MISMATCH', async () => {
    const { store } = tempModelSystem([]);
    const card = createRegistry().get('emotion');
    const located = await store.install(card, HUMAN_MODELS);
    flipByte(join(located.dir, 'emotion.bin'), 4321);
    const report = await store.verify(located);
    expect(report.ok).toBe(false);
    const bin = report.files.find((f) => f.path === 'emotion.bin');
    expect(bin?.actual).toBe(sha(join(located.dir, 'emotion.bin')));
    expect(bin?.actual).not.toBe(bin?.expected);
    expect(report.files.find((f) => f.path === 'emotion.json')?.actual).toBe(
      sha(join(HUMAN_MODELS, 'emotion.json')),
    );
    expect(await codeOf(store.assertVerified(located))).toBe('MODEL_DIGEST_MISMATCH');
  });

  it('a corrupted source file fails with MODEL_DIGEST_MISMATCH and leaves nothing (an older install stays intact)', async () => {
    const { store, storeDir } = tempModelSystem([]);
    const card = createRegistry().get('emotion');
    await store.install(card, HUMAN_MODELS);
    const before = sha(join(storeDir, 'emotion', card.version, 'emotion.bin'));
    const bad = makeTempDir('bad-mirror');
    copyFileSync(join(HUMAN_MODELS, 'emotion.json'), join(bad, 'emotion.json'));
    copyFileSync(join(HUMAN_MODELS, 'emotion.bin'), join(bad, 'emotion.bin'));
    flipByte(join(bad, 'emotion.bin'));
    expect(await codeOf(store.install(card, bad))).toBe('MODEL_DIGEST_MISMATCH');
    expect(readdirSync(storeDir)).toEqual(['emotion']);
    expect(readdirSync(join(storeDir, 'emotion'))).toEqual([card.version]);
    expect(sha(join(storeDir, 'emotion', card.version, 'emotion.bin'))).toBe(before);
  });

  it('a source without the file is MODEL_NOT_FOUND and leaves nothing', async () => {
    const { store, storeDir } = tempModelSystem([]);
    expect(await codeOf(store.install(createRegistry().get('emotion'), makeTempDir('empty')))).toBe(
      'MODEL_NOT_FOUND',
    );
    expect(readdirSync(storeDir)).toEqual([]);
  });

  it('an unknown model is MODEL_NOT_FOUND; a model nowhere is MODEL_NOT_FOUND on resolve', async () => {
    const { store } = tempModelSystem([]);
    expect(() => createRegistry().get('no-such-model')).toThrow(
      expect.objectContaining({ code: 'MODEL_NOT_FOUND' }),
    );
    expect(await codeOf(store.resolve(createRegistry().get('clip-vit-b32-vision')))).toBe('MODEL_NOT_FOUND');
  });
});

describe('model store: install from an http mirror on loopback', () => {
  it('downloads, verifies and installs', async () => {
    server = await startStaticMirror(HUMAN_MODELS);
    const { store } = tempModelSystem([]);
    const located = await store.install(createRegistry().get('emotion'), `${server.url}/`);
    expect(server.requests).toEqual(['GET /emotion.json', 'GET /emotion.bin']);
    expect(sha(join(located.dir, 'emotion.bin'))).toBe(sha(join(HUMAN_MODELS, 'emotion.bin')));
    expect((await store.verify(located)).ok).toBe(true);
  });

  it('a byte corrupted in transit is MODEL_DIGEST_MISMATCH and nothing is left', async () => {
    server = await startStaticMirror(HUMAN_MODELS, (path, bytes) => {
      if (path !== 'emotion.bin') return bytes;
      const copy = Buffer.from(bytes);
      copy[777] = (copy[777] ?? 0) ^ 0x01;
      return copy;
    });
    const { store, storeDir } = tempModelSystem([]);
    expect(await codeOf(store.install(createRegistry().get('emotion'), server.url))).toBe(
      'MODEL_DIGEST_MISMATCH',
    );
    expect(readdirSync(storeDir)).toEqual([]);
  });

  it('HTTP 404 from the mirror is MODEL_NOT_FOUND', async () => {
    server = await startStaticMirror(makeTempDir('empty-mirror'));
    const { store, storeDir } = tempModelSystem([]);
    expect(await codeOf(store.install(createRegistry().get('emotion'), server.url))).toBe('MODEL_NOT_FOUND');
    expect(readdirSync(storeDir)).toEqual([]);
  });
});

describe('model store: cards without committed digests (external models)', () => {
  // A stand-in file under the real card's file name: the store checks digests, not contents.
  function externalSource(): { dir: string; hex: string } {
    const dir = makeTempDir('external');
    const bytes = buildSyntheticModel('clip-vision').files['model.onnx'] ?? new Uint8Array();
    writeFileSync(join(dir, 'vision_model.onnx'), bytes);
    return { dir, hex: createHash('sha256').update(bytes).digest('hex') };
  }

  it('installs with the digest from the source SHA256SUMS and pins it in the lock', async () => {
    const { dir, hex } = externalSource();
    writeFileSync(join(dir, 'SHA256SUMS'), `${hex}  vision_model.onnx\n`);
    const { store } = tempModelSystem([]);
    const card = createRegistry().get('clip-vit-b32-vision');
    const located = await store.install(card, dir);
    expect(located.files[0]?.sha256).toBe(hex);
    flipByte(join(located.dir, 'vision_model.onnx'));
    expect(await codeOf(store.assertVerified(await store.resolve(card)))).toBe('MODEL_DIGEST_MISMATCH');
  });

  it('installs with an explicit pin, and a wrong pin is MODEL_DIGEST_MISMATCH', async () => {
    const { dir, hex } = externalSource();
    const { store, storeDir } = tempModelSystem([]);
    const card = createRegistry().get('clip-vit-b32-vision');
    expect(await codeOf(store.install(card, dir, { 'vision_model.onnx': '0'.repeat(64) }))).toBe(
      'MODEL_DIGEST_MISMATCH',
    );
    expect(readdirSync(storeDir)).toEqual([]);
    await store.install(card, dir, { 'vision_model.onnx': hex });
    expect(existsSync(join(storeDir, card.name, card.version, 'vision_model.onnx'))).toBe(true);
  });

  it('without any digest the install is refused (INPUT_INVALID): nothing is installed unverified', async () => {
    const { dir } = externalSource();
    const { store, storeDir } = tempModelSystem([]);
    expect(await codeOf(store.install(createRegistry().get('clip-vit-b32-vision'), dir))).toBe(
      'INPUT_INVALID',
    );
    expect(existsSync(join(storeDir, 'clip-vit-b32-vision'))).toBe(false);
  });

  it('parses sha256sum output', () => {
    const a = 'a'.repeat(64);
    expect(parseSha256Sums(`${a}  x/model.onnx\n${'B'.repeat(64)} *tok.json\ngarbage\n`)).toEqual({
      'x/model.onnx': a,
      'tok.json': 'b'.repeat(64),
    });
  });
});

describe('model store: lock files', () => {
  it("a lock that is not this model's is MODEL_DIGEST_MISMATCH", async () => {
    const { store, storeDir } = tempModelSystem([]);
    const card = createRegistry().get('emotion');
    await store.install(card, HUMAN_MODELS);
    const lockPath = join(storeDir, 'emotion', card.version, 'model.lock.json');
    const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(lockPath, JSON.stringify({ ...lock, name: 'blazeface' }));
    expect(await codeOf(store.locate(card))).toBe('MODEL_DIGEST_MISMATCH');
  });
});

describe('model store: packaged models', () => {
  it('are found in their npm package when not installed, with the committed digests', async () => {
    const store = new ModelStore(makeTempDir('models'));
    const located = await store.locate(createRegistry().get('paddleocr-rec'));
    expect(located?.where).toBe('package');
    expect(located?.files.map((f) => f.path)).toEqual(['ch_PP-OCRv4_rec_infer.onnx', 'ppocr_keys_v1.txt']);
  });

  it('a synthetic model installs and resolves like any other', async () => {
    const { store, registry } = tempModelSystem(['depth']);
    const model = buildSyntheticModel('depth');
    const src = makeTempDir('synthetic');
    await writeSyntheticModel(model, src);
    const located = await store.install(registry.get('synthetic-depth'), src);
    expect(located.card.synthetic).toBe(true);
    expect((await store.verify(located)).ok).toBe(true);
  });
});
