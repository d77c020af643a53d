import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProfileStore, loadProfileSeed, parseProfileSeed } from './profiles.js';

const seedV1 = `
version: 1
profiles:
  small:
    description: one component
    generation: baseline
    components:
      - { name: loudness_extractor }
      - { name: cut_detection, required: false }
    models:
      cut_detection: { model: synthetic-clip-vision, version: '1', device: cpu, precision: fp16 }
`;
const seedV2 = seedV1.replace('version: 1', 'version: 2').replace('one component', 're-seeded');

const dbPath = (): string => join(mkdtempSync(join(tmpdir(), 'dp-profiles-')), 'profiles.sqlite');

describe('profile database (R-MOD-4)', () => {
  it('is seeded from the versioned file: profiles, components (with required) and model mapping read back', () => {
    const store = ProfileStore.open(dbPath(), parseProfileSeed(seedV1));
    expect(store.seedVersion).toBe(1);
    expect(store.resolve('small')).toEqual({
      name: 'small',
      description: 'one component',
      generation: 'baseline',
      components: [
        { name: 'loudness_extractor', required: true },
        { name: 'cut_detection', required: false },
      ],
      models: {
        cut_detection: {
          model: 'synthetic-clip-vision',
          version: '1',
          device: 'cpu',
          precision: 'fp16',
          runtime: 'inprocess',
        },
      },
    });
    store.close();
  });

  it('re-seeds only when the file version is newer, and never touches user profiles', () => {
    const path = dbPath();
    const first = ProfileStore.open(path, parseProfileSeed(seedV1));
    first.saveUserProfile({
      name: 'mine',
      description: 'user',
      generation: 'baseline',
      components: [{ name: 'cut_detection', required: true }],
    });
    expect(() =>
      first.saveUserProfile({ name: 'small', description: 'x', generation: 'baseline', components: [] }),
    ).toThrow(/built in/);
    first.close();
    // Same version: the database is left as it is (a user edit of a seeded profile would survive).
    const again = ProfileStore.open(path, parseProfileSeed(seedV1.replace('one component', 'changed')));
    expect(again.resolve('small').description).toBe('one component');
    again.close();
    const newer = ProfileStore.open(path, parseProfileSeed(seedV2));
    expect(newer.seedVersion).toBe(2);
    expect(newer.resolve('small').description).toBe('re-seeded');
    expect(newer.resolve('mine').components).toEqual([{ name: 'cut_detection', required: true }]);
    expect(newer.names()).toEqual(['mine', 'small']);
    newer.close();
  });

  it('an unknown profile is INPUT_INVALID naming the known ones; a bad seed is CONTRACT_VIOLATION', () => {
    const store = ProfileStore.open(dbPath(), parseProfileSeed(seedV1));
    expect(() => store.resolve('nope')).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
    expect(() => store.resolve('nope')).toThrow(/known profiles: small/);
    store.close();
    expect(() => parseProfileSeed('version: 1\nprofiles: { x: { generation: baseline } }')).toThrow(
      expect.objectContaining({ code: 'CONTRACT_VIOLATION' }),
    );
  });

  it('the shipped seed has the default profile', () => {
    const seed = loadProfileSeed();
    expect(seed.profiles.map((p) => p.name)).toContain('default');
    const store = ProfileStore.open(':memory:', seed);
    expect(store.resolve('default').components.length).toBeGreaterThan(0);
    store.close();
  });
});
