import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { parse } from 'yaml';
import { z } from 'zod';
import { ContractViolationError, DataProcessorError, StorageError } from '../contracts/index.js';
import { ensureDirectorySync } from '../storage/index.js';
import { loadGraph } from './graph.js';

/** One model a profile maps a component to (R-MOD-4). */
export const profileModelSchema = z
  .object({
    model: z.string().min(1),
    version: z.string().min(1),
    device: z.string().min(1).default('cpu'),
    precision: z.enum(['fp32', 'fp16', 'int8']).default('fp32'),
    runtime: z.enum(['inprocess', 'triton']).default('inprocess'),
  })
  .strict();
export type ProfileModel = z.infer<typeof profileModelSchema>;

/** One component a profile enables; required unless marked optional (R-ORC-2). */
export interface ProfileComponent {
  name: string;
  required: boolean;
}

/** An analysis profile: which components run, which are required, which model each uses. */
export interface Profile {
  name: string;
  description: string;
  /** Generation of the component graph (docs/component_graph.yaml) the profile runs in. */
  generation: string;
  components: readonly ProfileComponent[];
  /** Component → model (R-MOD-4); absent or empty for profiles without models. */
  models?: Readonly<Record<string, ProfileModel>>;
}

/** The versioned seed of the profile database, shipped with the package. */
export const PROFILES_SEED_PATH = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'docs',
  'profiles.yaml',
);

/** A profile name: what the seed file and `profiles create|import` accept. */
export const profileNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    '1–64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit',
  );

/** The body of one profile, as the seed file and a user's profile document write it. */
export const profileBodySchema = z
  .object({
    description: z.string(),
    generation: z.string().min(1),
    components: z
      .array(z.object({ name: z.string().min(1), required: z.boolean().default(true) }).strict())
      .min(1),
    models: z.record(z.string(), profileModelSchema).default({}),
  })
  .strict();

const seedSchema = z
  .object({
    version: z.number().int().positive(),
    profiles: z.record(profileNameSchema, profileBodySchema),
  })
  .strict();

/** Parses and validates a profile seed (YAML text); CONTRACT_VIOLATION names the problem. */
export function parseProfileSeed(text: string): { version: number; profiles: Profile[] } {
  const parsed = seedSchema.safeParse(parse(text));
  if (!parsed.success) {
    const what = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ContractViolationError(`profile seed is invalid: ${what}`);
  }
  return {
    version: parsed.data.version,
    profiles: Object.entries(parsed.data.profiles).map(([name, p]) => ({ name, ...p })),
  };
}

/** The seed file shipped with the package, parsed (the profiles every fresh database starts with). */
export function loadProfileSeed(path = PROFILES_SEED_PATH): { version: number; profiles: Profile[] } {
  return parseProfileSeed(readFileSync(path, 'utf8'));
}

/**
 * The schema of the profile database (R-MOD-4): analysis profiles, their components, and their
 * component → model mapping. Standard SQL only (TEXT, INTEGER, BOOLEAN, composite keys, foreign
 * keys with ON DELETE CASCADE), so the same DDL runs on SQLite (embedded default) and PostgreSQL.
 */
export const PROFILE_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS schema_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS analysis_profiles (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL,
  generation TEXT NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('seed', 'user'))
);
CREATE TABLE IF NOT EXISTS profile_components (
  profile_name TEXT NOT NULL REFERENCES analysis_profiles (name) ON DELETE CASCADE,
  component TEXT NOT NULL,
  required BOOLEAN NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (profile_name, component)
);
CREATE TABLE IF NOT EXISTS profile_model_mapping (
  profile_name TEXT NOT NULL REFERENCES analysis_profiles (name) ON DELETE CASCADE,
  component TEXT NOT NULL,
  model_name TEXT NOT NULL,
  model_version TEXT NOT NULL,
  device TEXT NOT NULL,
  model_precision TEXT NOT NULL,
  runtime TEXT NOT NULL,
  PRIMARY KEY (profile_name, component)
);
`;

/**
 * Where the embedded database lives unless `--db` says otherwise: `$DATAPROCESSOR_DB`, else
 * `$XDG_DATA_HOME/dataprocessor/dataprocessor.sqlite` (`~/.local/share/…`). It is kept out of the
 * result store, which holds only runs (R-ST-1/2).
 */
export function defaultDatabasePath(): string {
  if (process.env.DATAPROCESSOR_DB) return resolve(process.env.DATAPROCESSOR_DB);
  const dataHome = process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share');
  return join(dataHome, 'dataprocessor', 'dataprocessor.sqlite');
}

interface ProfileRow {
  name: string;
  description: string;
  generation: string;
}
interface ComponentRow {
  component: string;
  required: number;
}
interface ModelRow {
  component: string;
  model_name: string;
  model_version: string;
  device: string;
  model_precision: string;
  runtime: string;
}

/**
 * The profile database (R-MOD-4), SQLite through better-sqlite3. Opening it creates the schema and
 * re-seeds the `seed` profiles when the seed file's version is newer than the database's; profiles
 * a user added (`source='user'`) are never touched by seeding.
 */
export class ProfileStore {
  private constructor(private readonly db: Database.Database) {}

  static open(path: string, seed = loadProfileSeed()): ProfileStore {
    let db: Database.Database;
    try {
      if (path !== ':memory:') {
        // Not Node's recursive mkdir: it spins forever on a path such as /proc/x/db.sqlite.
        ensureDirectorySync(dirname(path));
        if (statSync(path, { throwIfNoEntry: false })?.isDirectory())
          throw Object.assign(new Error('it is a directory; give the path of a database file'), {
            code: 'EISDIR',
          });
      }
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      db.exec(PROFILE_SCHEMA_SQL);
    } catch (error) {
      throw databaseOpenError(path, error);
    }
    const store = new ProfileStore(db);
    store.seed(seed);
    return store;
  }

  /** The seed version the database holds (0 before the first seeding). */
  get seedVersion(): number {
    const row = this.db.prepare('SELECT value FROM schema_meta WHERE key = ?').get('seed_version') as
      { value: string } | undefined;
    return row ? Number(row.value) : 0;
  }

  private seed(seed: { version: number; profiles: Profile[] }): void {
    if (seed.version <= this.seedVersion) return;
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM analysis_profiles WHERE source = 'seed'").run();
      for (const profile of seed.profiles) this.insert(profile, 'seed');
      this.db
        .prepare(
          'INSERT INTO schema_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        )
        .run('seed_version', String(seed.version));
    })();
  }

  private insert(profile: Profile, source: 'seed' | 'user'): void {
    this.db
      .prepare('INSERT INTO analysis_profiles (name, description, generation, source) VALUES (?, ?, ?, ?)')
      .run(profile.name, profile.description, profile.generation, source);
    const component = this.db.prepare(
      'INSERT INTO profile_components (profile_name, component, required, position) VALUES (?, ?, ?, ?)',
    );
    profile.components.forEach((c, i) => component.run(profile.name, c.name, c.required ? 1 : 0, i));
    const model = this.db.prepare(
      'INSERT INTO profile_model_mapping (profile_name, component, model_name, model_version, device, model_precision, runtime) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    for (const [name, m] of Object.entries(profile.models ?? {}))
      model.run(profile.name, name, m.model, m.version, m.device, m.precision, m.runtime);
  }

  /** Adds (or replaces) a user profile. A seeded profile of the same name cannot be replaced. */
  saveUserProfile(profile: Profile): void {
    this.db.transaction(() => {
      const existing = this.db
        .prepare('SELECT source FROM analysis_profiles WHERE name = ?')
        .get(profile.name) as { source: string } | undefined;
      if (existing?.source === 'seed')
        throw new DataProcessorError(
          'INPUT_INVALID',
          `Profile ${profile.name} is built in; choose another name.`,
        );
      this.db.prepare('DELETE FROM analysis_profiles WHERE name = ?').run(profile.name);
      this.insert(profile, 'user');
    })();
  }

  /** Where a profile comes from: `seed` (shipped with the package, read-only) or `user`; null if unknown. */
  sourceOf(name: string): 'seed' | 'user' | null {
    const row = this.db.prepare('SELECT source FROM analysis_profiles WHERE name = ?').get(name) as
      { source: 'seed' | 'user' } | undefined;
    return row?.source ?? null;
  }

  /**
   * Adds a user profile (`profiles create|import`): a shipped profile's name is refused, and an
   * existing user profile is replaced only when `replace` says so. INPUT_INVALID says which.
   */
  addUserProfile(profile: Profile, options: { replace?: boolean } = {}): void {
    this.db.transaction(() => {
      if (this.sourceOf(profile.name) === 'user' && options.replace !== true)
        throw new DataProcessorError(
          'INPUT_INVALID',
          `User profile ${profile.name} exists already; replace it explicitly (--force) or choose another name.`,
        );
      this.saveUserProfile(profile);
    })();
  }

  /** Deletes a user profile. A shipped profile cannot be deleted; an unknown name lists the known ones. */
  deleteUserProfile(name: string): void {
    const source = this.sourceOf(name);
    if (source === 'seed')
      throw new DataProcessorError(
        'INPUT_INVALID',
        `Profile ${name} is built in and cannot be deleted; only user profiles can (${this.userProfileNames().join(', ') || 'there are none'}).`,
      );
    if (source === null) this.resolve(name);
    this.db.prepare("DELETE FROM analysis_profiles WHERE name = ? AND source = 'user'").run(name);
  }

  /** Names of the profiles users added, sorted. */
  userProfileNames(): string[] {
    return (
      this.db
        .prepare("SELECT name FROM analysis_profiles WHERE source = 'user' ORDER BY name")
        .all() as ProfileRow[]
    ).map((r) => r.name);
  }

  /** Profile names, sorted. */
  names(): string[] {
    return (this.db.prepare('SELECT name FROM analysis_profiles ORDER BY name').all() as ProfileRow[]).map(
      (r) => r.name,
    );
  }

  /** The profile called `name`, or null. */
  get(name: string): Profile | null {
    const row = this.db
      .prepare('SELECT name, description, generation FROM analysis_profiles WHERE name = ?')
      .get(name) as ProfileRow | undefined;
    if (!row) return null;
    const components = (
      this.db
        .prepare(
          'SELECT component, required FROM profile_components WHERE profile_name = ? ORDER BY position',
        )
        .all(name) as ComponentRow[]
    ).map((c) => ({ name: c.component, required: c.required === 1 }));
    const models = Object.fromEntries(
      (
        this.db
          .prepare(
            'SELECT component, model_name, model_version, device, model_precision, runtime FROM profile_model_mapping WHERE profile_name = ? ORDER BY component',
          )
          .all(name) as ModelRow[]
      ).map((m) => [
        m.component,
        profileModelSchema.parse({
          model: m.model_name,
          version: m.model_version,
          device: m.device,
          precision: m.model_precision,
          runtime: m.runtime,
        }),
      ]),
    );
    return { name: row.name, description: row.description, generation: row.generation, components, models };
  }

  /** The profile called `name`, or INPUT_INVALID naming the known ones. */
  resolve(name: string): Profile {
    const profile = this.get(name);
    if (!profile) {
      throw new DataProcessorError(
        'INPUT_INVALID',
        `Unknown profile "${name}"; known profiles: ${this.names().join(', ')}.`,
      );
    }
    return profile;
  }

  close(): void {
    this.db.close();
  }
}

/** Turns a better-sqlite3/fs failure to open `path` into the error a user can act on. */
function databaseOpenError(path: string, error: unknown): DataProcessorError {
  const code = (error as { code?: unknown }).code;
  const message = `cannot open the profile database ${path}: ${(error as Error).message}`;
  // A path that cannot hold a database file is a wrong argument; permissions, a full or read-only
  // disk are storage trouble that may pass.
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'SQLITE_NOTADB')
    return new DataProcessorError('INPUT_INVALID', message, { cause: error, details: { path } });
  return new StorageError(message, { cause: error, details: { path } });
}

/** One profile as a document: what `profiles export` writes and `profiles import` reads (YAML or JSON). */
export const profileDocumentSchema = profileBodySchema.extend({ name: profileNameSchema }).strict();
export type ProfileDocument = z.input<typeof profileDocumentSchema>;

/** The document of a profile (`profiles export`); `parseUserProfile` reads it back to an equal profile. */
export function profileDocument(profile: Profile): ProfileDocument {
  return {
    name: profile.name,
    description: profile.description,
    generation: profile.generation,
    components: profile.components.map((c) => ({ name: c.name, required: c.required })),
    models: { ...(profile.models ?? {}) },
  };
}

/**
 * Validates a profile a user supplies (`profiles create|import`, `origin` names where it came
 * from): the seed file's own schema, then the component graph — an active generation, components
 * that are nodes of it (not the segmenter, which every run has), each listed once, every dependency
 * enabled too, and `models` only for enabled components. INPUT_INVALID lists every problem.
 */
export function parseUserProfile(input: unknown, origin: string, graph = loadGraph()): Profile {
  const parsed = profileDocumentSchema.safeParse(input);
  if (!parsed.success) {
    const what = parsed.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`);
    throw new DataProcessorError('INPUT_INVALID', `invalid profile (${origin}): ${what.join('; ')}`);
  }
  const profile: Profile = parsed.data;
  const problems: string[] = [];
  const generation = graph.get(profile.generation);
  const active = [...graph.values()].filter((g) => g.status === 'active').map((g) => g.name);
  if (generation === undefined || generation.status !== 'active') {
    problems.push(
      `generation "${profile.generation}" is not an active generation (active: ${active.join(', ')})`,
    );
  } else {
    const names = profile.components.map((c) => c.name);
    const enabled = new Set(names);
    const known = [...generation.nodes.values()].filter((n) => n.kind !== 'segmenter').map((n) => n.name);
    const unknown: string[] = [];
    for (const [i, name] of names.entries()) {
      const node = generation.nodes.get(name);
      if (names.indexOf(name) !== i) problems.push(`component ${name} is listed twice`);
      else if (node === undefined || node.kind === 'segmenter') unknown.push(JSON.stringify(name));
      else
        for (const dependency of node.dependsOn)
          if (generation.nodes.get(dependency)?.kind !== 'segmenter' && !enabled.has(dependency))
            problems.push(`component ${name} depends on ${dependency}; enable ${dependency} too`);
    }
    if (unknown.length > 0)
      problems.unshift(
        `${unknown.join(', ')} ${unknown.length === 1 ? 'is not a component' : 'are not components'} of generation ${generation.name} (known: ${known.join(', ')})`,
      );
    for (const component of Object.keys(profile.models ?? {}))
      if (!enabled.has(component))
        problems.push(`models.${component} maps a component the profile does not enable`);
  }
  if (problems.length > 0)
    throw new DataProcessorError('INPUT_INVALID', `invalid profile (${origin}): ${problems.join('; ')}`);
  return profile;
}

/** The built-in profiles, as the seed file defines them (for docs and graph checks). */
export const PROFILES: Readonly<Record<string, Profile>> = Object.fromEntries(
  loadProfileSeed().profiles.map((p) => [p.name, p]),
);
