// R-MOD-4: the profile database schema is portable — the very DDL the embedded SQLite database
// uses (PROFILE_SCHEMA_SQL) runs on a real PostgreSQL server started for this test on a Unix
// socket in a temp dir, and a seeded profile round-trips through it with the same statements.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILE_SCHEMA_SQL, loadProfileSeed } from '../src/orchestrator/index.js';

/** The newest installed PostgreSQL's bin directory (Debian layout), or null. */
function postgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  const bin = versions.map((v) => join(root, v, 'bin')).find((d) => existsSync(join(d, 'postgres')));
  return bin ?? null;
}

const bin = postgresBin();
const asRoot = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), 'dp-pg-'));
const data = join(dir, 'data');
const PORT = '54329';

/** Runs a PostgreSQL program, as the `postgres` user when we are root (the server refuses root). */
function pg(program: string, args: string[], input?: string): string {
  const command = asRoot ? 'runuser' : join(bin ?? '', program);
  const argv = asRoot ? ['-u', 'postgres', '--', join(bin ?? '', program), ...args] : args;
  return execFileSync(command, argv, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}
const psql = (sql: string): string =>
  pg(
    'psql',
    ['-h', dir, '-p', PORT, '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-At', '-f', '-'],
    sql,
  );

describe.runIf(bin !== null)('profile database schema on PostgreSQL', () => {
  beforeAll(() => {
    if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), 0);
    pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust']);
    pg('pg_ctl', [
      '-D',
      data,
      '-w',
      '-o',
      `-k ${dir} -p ${PORT} -c listen_addresses=''`,
      '-l',
      join(dir, 'log'),
      'start',
    ]);
  }, 120_000);

  afterAll(() => {
    if (existsSync(join(data, 'postmaster.pid'))) pg('pg_ctl', ['-D', data, '-w', '-m', 'fast', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the tables, enforces the keys and the cascade, and round-trips the default profile', () => {
    psql(PROFILE_SCHEMA_SQL);
    const seed = loadProfileSeed();
    const profile = seed.profiles.find((p) => p.name === 'default');
    if (!profile) throw new Error('no default profile in the seed');
    const quote = (v: string): string => `'${v.replace(/'/g, "''")}'`;
    psql(
      [
        `INSERT INTO analysis_profiles (name, description, generation, source) VALUES (${quote(profile.name)}, ${quote(profile.description)}, ${quote(profile.generation)}, 'seed');`,
        ...profile.components.map(
          (c, i) =>
            `INSERT INTO profile_components (profile_name, component, required, position) VALUES (${quote(profile.name)}, ${quote(c.name)}, ${c.required}, ${i});`,
        ),
        `INSERT INTO profile_model_mapping (profile_name, component, model_name, model_version, device, model_precision, runtime) VALUES ('default', 'core_clip', 'clip-vit-b32-vision', '1', 'cpu', 'fp32', 'inprocess');`,
      ].join('\n'),
    );
    const rows = psql(
      "SELECT component, required FROM profile_components WHERE profile_name = 'default' ORDER BY position;",
    )
      .trim()
      .split('\n')
      .map((line) => line.split('|'));
    expect(rows).toEqual(profile.components.map((c) => [c.name, c.required ? 't' : 'f']));
    // The primary key holds, and the source check rejects an unknown source.
    expect(() =>
      psql(
        "INSERT INTO analysis_profiles (name, description, generation, source) VALUES ('default', '', 'baseline', 'seed');",
      ),
    ).toThrow(/duplicate key/);
    expect(() =>
      psql(
        "INSERT INTO analysis_profiles (name, description, generation, source) VALUES ('x', '', 'baseline', 'other');",
      ),
    ).toThrow(/check constraint/);
    // Deleting a profile removes its components and model mapping (ON DELETE CASCADE).
    psql("DELETE FROM analysis_profiles WHERE name = 'default';");
    expect(psql('SELECT count(*) FROM profile_components;').trim()).toBe('0');
    expect(psql('SELECT count(*) FROM profile_model_mapping;').trim()).toBe('0');
  });
});
