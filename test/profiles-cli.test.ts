// `dataprocessor profiles create|import|export|delete` through the built CLI: a user profile made
// from options, exported as YAML and JSON, imported back under another name, deleted; the shipped
// profiles stay as they are. The documents are read back with the yaml package and Python's json.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { makeTempDir } from './support/media.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'dataprocessor.js');

function cli(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 120_000,
    ...(input !== undefined ? { input } : {}),
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('dataprocessor profiles create | import | export | delete', () => {
  const dir = makeTempDir('profiles-cli');
  const db = join(dir, 'profiles.sqlite');

  it('creates a user profile from --from/--components/--optional/--model, exports and re-imports it, deletes it', () => {
    const created = cli([
      'profiles', 'create', 'clip_cuts', '--db', db, '--json',
      '--from', 'default',
      '--components', 'cut_detection,core_clip',
      '--optional', 'core_clip',
      '--model', 'core_clip=clip-vit-b32-vision',
      '--description', 'cuts and CLIP',
    ]); // prettier-ignore
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toEqual({ type: 'profile_saved', name: 'clip_cuts', replaced: false });

    const shown = JSON.parse(cli(['profiles', 'show', 'clip_cuts', '--db', db, '--json']).stdout) as unknown;
    const expected = {
      name: 'clip_cuts',
      description: 'cuts and CLIP',
      generation: 'baseline', // taken from --from default
      components: [
        { name: 'cut_detection', required: true },
        { name: 'core_clip', required: false },
      ],
      // version and precision come from the model's card (docs/profiles.yaml maps the same model so)
      models: {
        core_clip: {
          model: 'clip-vit-b32-vision',
          version: 'openai-1.0',
          device: 'cpu',
          precision: 'fp32',
          runtime: 'inprocess',
        },
      },
    };
    expect(shown).toEqual({ ...expected, source: 'user' });

    // YAML export to stdout is the document; JSON export to a file, read by Python's json.
    const yaml = cli(['profiles', 'export', 'clip_cuts', '--db', db]);
    expect(yaml.code).toBe(0);
    expect(parse(yaml.stdout)).toEqual(expected);
    const jsonFile = join(dir, 'clip_cuts.json');
    expect(
      cli(['profiles', 'export', 'clip_cuts', '--format', 'json', '--out', jsonFile, '--db', db]).code,
    ).toBe(0);
    const python = spawnSync(
      '/usr/bin/python3',
      ['-c', 'import json,sys; d=json.load(open(sys.argv[1])); print(d["name"], len(d["components"]), d["models"]["core_clip"]["model"])', jsonFile],
      { encoding: 'utf8' },
    ); // prettier-ignore
    expect(python.stdout.trim()).toBe('clip_cuts 2 clip-vit-b32-vision');

    // Import the YAML from stdin under a new name: the same profile.
    const imported = cli(['profiles', 'import', '-', '--name', 'copy', '--db', db], yaml.stdout);
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toMatch(/created user profile copy/);
    const copy = JSON.parse(cli(['profiles', 'show', 'copy', '--db', db, '--json']).stdout) as unknown;
    expect(copy).toEqual({ ...expected, name: 'copy', source: 'user' });

    // Replacing needs --force; the edited document wins.
    writeFileSync(jsonFile, readFileSync(jsonFile, 'utf8').replace('cuts and CLIP', 'edited'));
    expect(cli(['profiles', 'import', jsonFile, '--name', 'copy', '--db', db]).code).toBe(2);
    const forced = cli(['profiles', 'import', jsonFile, '--name', 'copy', '--force', '--db', db, '--json']);
    expect(JSON.parse(forced.stdout)).toEqual({ type: 'profile_saved', name: 'copy', replaced: true });

    const deleted = cli(['profiles', 'delete', 'clip_cuts', '--db', db]);
    expect(deleted.code).toBe(0);
    const list = JSON.parse(cli(['profiles', 'list', '--db', db, '--json']).stdout) as {
      name: string;
      source: string;
      description: string;
    }[];
    expect(list.map((p) => [p.name, p.source])).toEqual([
      ['audio_models', 'seed'],
      ['copy', 'user'],
      ['default', 'seed'],
      ['full', 'seed'],
    ]);
    expect(list.find((p) => p.name === 'copy')?.description).toBe('edited');
  });

  it('--help of each subcommand lists its options with their defaults', () => {
    const create = cli(['profiles', 'create', '--help']).stdout.replace(/\s+/g, ' ');
    expect(create).toMatch(
      /--components <list> comma-separated components to run \(default: those of --from\)/,
    );
    expect(create).toMatch(/--generation <name> .*\(default: that of --from, else "baseline"\)/);
    expect(create).toMatch(/--force replace a user profile of the same name \(default: refuse\)/);
    const exported = cli(['profiles', 'export', '--help']).stdout.replace(/\s+/g, ' ');
    expect(exported).toMatch(
      /--format <format> document format \(choices: "yaml", "json", default: "yaml"\)/,
    );
    expect(exported).toMatch(/--out <file> .*\(default: standard output\)/);
    const profiles = cli(['profiles', '--help']).stdout;
    for (const sub of ['list', 'show', 'create', 'import', 'export', 'delete'])
      expect(profiles).toMatch(new RegExp(`^ {2}${sub}\\b`, 'm'));
  });
});
