import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ProfileStore,
  loadProfileSeed,
  parseProfileSeed,
  parseUserProfile,
  profileDocument,
} from './profiles.js';

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

describe('user profiles (profiles create|import|export|delete)', () => {
  const mine = {
    name: 'mine',
    description: 'loudness and cuts',
    generation: 'baseline',
    components: [{ name: 'loudness_extractor' }, { name: 'cut_detection', required: false }],
  };

  it('parseUserProfile fills defaults like the seed; profileDocument reads back to the same profile', () => {
    const profile = parseUserProfile(mine, 'test');
    expect(profile).toEqual({
      ...mine,
      components: [
        { name: 'loudness_extractor', required: true },
        { name: 'cut_detection', required: false },
      ],
      models: {},
    });
    expect(parseUserProfile(profileDocument(profile), 'round trip')).toEqual(profile);
  });

  it('refuses what the component graph does not allow, naming every problem', () => {
    const problems = (input: unknown): string => {
      try {
        parseUserProfile(input, 'doc');
        return 'accepted';
      } catch (error) {
        expect(error).toMatchObject({ code: 'INPUT_INVALID' });
        return (error as Error).message;
      }
    };
    expect(problems({ ...mine, generation: 'v2' })).toMatch(
      /"v2" is not an active generation \(active: baseline\)/,
    );
    expect(problems({ ...mine, components: [{ name: 'segmenter' }, { name: 'nope' }] })).toMatch(
      /"segmenter", "nope" are not components of generation baseline/,
    );
    expect(problems({ ...mine, components: [{ name: 'ocr' }, { name: 'ocr' }] })).toMatch(
      /ocr is listed twice/,
    );
    expect(
      problems({ ...mine, models: { core_clip: { model: 'clip-vit-b32-vision', version: 'openai-1.0' } } }),
    ).toMatch(/models.core_clip maps a component the profile does not enable/);
    expect(problems({ ...mine, name: '../x' })).toMatch(/name: 1–64 characters/);
    expect(problems({ ...mine, extra: 1 })).toMatch(/Unrecognized key/);
    expect(problems('just text')).toMatch(/invalid profile \(doc\)/);
  });

  it('a dependency that is not the segmenter must be enabled too (checked on a planned generation)', () => {
    const graph = new Map([
      [
        'g',
        {
          name: 'g',
          status: 'active' as const,
          description: '',
          nodes: new Map([
            [
              'segmenter',
              {
                name: 'segmenter',
                processor: 'segmenter' as const,
                kind: 'segmenter' as const,
                dependsOn: [],
                optionalDependsOn: [] as string[],
              },
            ],
            [
              'ocr',
              {
                name: 'ocr',
                processor: 'visual' as const,
                kind: 'core' as const,
                dependsOn: ['segmenter'],
                optionalDependsOn: [] as string[],
              },
            ],
            [
              'text_processor',
              {
                name: 'text_processor',
                processor: 'text' as const,
                kind: 'text' as const,
                dependsOn: ['ocr'],
                optionalDependsOn: [] as string[],
              },
            ],
          ]),
        },
      ],
    ]);
    const doc = { name: 't', description: '', generation: 'g', components: [{ name: 'text_processor' }] };
    expect(() => parseUserProfile(doc, 'doc', graph)).toThrow(
      /text_processor depends on ocr; enable ocr too/,
    );
    expect(
      parseUserProfile({ ...doc, components: [{ name: 'ocr' }, { name: 'text_processor' }] }, 'doc', graph)
        .name,
    ).toBe('t');
  });

  it('adds, refuses to overwrite without replace, deletes; shipped profiles stay read-only', () => {
    const store = ProfileStore.open(dbPath(), parseProfileSeed(seedV1));
    const profile = parseUserProfile(mine, 'test');
    store.addUserProfile(profile);
    expect(store.sourceOf('mine')).toBe('user');
    expect(store.sourceOf('small')).toBe('seed');
    expect(store.sourceOf('nope')).toBeNull();
    expect(() => store.addUserProfile({ ...profile, description: 'changed' })).toThrow(/exists already/);
    expect(store.resolve('mine').description).toBe('loudness and cuts');
    store.addUserProfile({ ...profile, description: 'changed' }, { replace: true });
    expect(store.resolve('mine').description).toBe('changed');
    expect(() => store.addUserProfile({ ...profile, name: 'small' }, { replace: true })).toThrow(/built in/);
    expect(() => store.deleteUserProfile('small')).toThrow(
      /built in and cannot be deleted; only user profiles can \(mine\)/,
    );
    expect(() => store.deleteUserProfile('nope')).toThrow(/Unknown profile "nope"/);
    store.deleteUserProfile('mine');
    expect(store.names()).toEqual(['small']);
    store.close();
  });

  it('a --db that cannot hold a database is INPUT_INVALID at once (no spin under /proc)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dp-profiles-'));
    const notDb = join(dir, 'notes.txt');
    writeFileSync(notDb, 'not sqlite');
    for (const path of ['/proc/dp-no-such/db.sqlite', dir, notDb, join(notDb, 'db.sqlite')]) {
      const started = performance.now();
      expect(() => ProfileStore.open(path)).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
      expect(performance.now() - started).toBeLessThan(2000);
    }
  });
});
