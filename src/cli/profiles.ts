import { Option, type Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import pc from 'picocolors';
import { parse, stringify } from 'yaml';
import { DataProcessorError } from '../contracts/index.js';
import type { ModelRegistry } from '../models/index.js';
import type { Profile, ProfileModel, ProfileStore } from '../orchestrator/index.js';
import { loadModels, loadOrchestrator } from './lazy.js';
import { pathError, readUserFile } from './paths.js';
import { reportError } from './output.js';

interface StoreOptions {
  db?: string;
  json?: boolean;
}

/** The generation new profiles run in unless `--generation` says otherwise. */
const activeGenerationHint = 'baseline';

const DB_HELP =
  'profile database (default: $DATAPROCESSOR_DB or ~/.local/share/dataprocessor/dataprocessor.sqlite)';

function describe(profile: Profile, source: 'seed' | 'user' | null): string {
  const components = profile.components.map((c) => `${c.name}${c.required ? '' : ' (optional)'}`).join(', ');
  const models = Object.entries(profile.models ?? {})
    .map(([c, m]) => `${c} → ${m.model}@${m.version} ${m.device}/${m.precision}`)
    .join(', ');
  const origin = source === 'user' ? pc.cyan('user') : pc.dim('built-in');
  return `${profile.name} [${profile.generation}, ${origin}] ${profile.description}\n  components: ${components}${models ? `\n  models: ${models}` : ''}`;
}

/** What the profile commands use of the pipeline, loaded when one of them runs (not for --help). */
interface ProfileTools {
  parseUserProfile: (document: unknown, origin: string) => Profile;
  profileDocument: (profile: Profile) => unknown;
  registry: ModelRegistry;
}

/** Opens the profile database, runs `use`, closes it; any failure is reported with its code. */
async function withStore(
  options: StoreOptions,
  use: (store: ProfileStore, tools: ProfileTools) => Promise<void> | void,
): Promise<void> {
  try {
    const [orchestrator, models] = await Promise.all([loadOrchestrator(), loadModels()]);
    const { ProfileStore, defaultDatabasePath, parseUserProfile, profileDocument } = orchestrator;
    const store = ProfileStore.open(options.db ?? defaultDatabasePath());
    try {
      await use(store, { parseUserProfile, profileDocument, registry: models.createRegistry() });
    } finally {
      store.close();
    }
  } catch (error) {
    process.exitCode = reportError(error, options.json === true);
  }
}

/** A comma-separated list option (`a,b , c` → [a, b, c]). */
function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * Model mappings must name registered models (R-MOD-1): an unknown name or version is refused
 * when the profile is saved, not when a run starts. A mapping without a version or precision
 * takes the card's.
 */
function checkModels(profile: Profile, origin: string, registry: ModelRegistry): Profile {
  const models: Record<string, ProfileModel> = {};
  for (const [component, mapping] of Object.entries(profile.models ?? {})) {
    try {
      registry.get(mapping.model, mapping.version);
    } catch (error) {
      throw new DataProcessorError(
        'INPUT_INVALID',
        `${origin}: models.${component}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    models[component] = mapping;
  }
  return { ...profile, models };
}

/** `--model component=name[@version]` as given; checked against the registry by `resolveModelOptions`. */
interface ModelOption {
  value: string;
  model: string;
  version: string | undefined;
}

function parseModelOption(value: string, previous: Record<string, ModelOption>): Record<string, ModelOption> {
  const match = /^([a-z0-9_]+)=([^@\s]+)(?:@(\S+))?$/.exec(value.trim());
  if (match === null)
    throw new DataProcessorError(
      'INPUT_INVALID',
      `--model ${JSON.stringify(value)} must read <component>=<model>[@<version>], e.g. core_clip=clip-vit-b32-vision`,
    );
  const [, component = '', model = '', version] = match;
  return { ...previous, [component]: { value, model, version } };
}

/** `--model` mappings → profile model mappings (device cpu, the card's version and precision). */
function resolveModelOptions(
  options: Record<string, ModelOption>,
  registry: ModelRegistry,
): Record<string, ProfileModel> {
  const out: Record<string, ProfileModel> = {};
  for (const [component, { value, model, version }] of Object.entries(options)) {
    let card;
    try {
      card = registry.get(model, version);
    } catch (error) {
      throw new DataProcessorError('INPUT_INVALID', `--model ${value}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    out[component] = {
      model: card.name,
      version: card.version,
      device: 'cpu',
      precision: card.precision,
      runtime: 'inprocess',
    };
  }
  return out;
}

interface CreateOptions extends StoreOptions {
  components?: string[];
  optional?: string[];
  from?: string;
  description?: string;
  generation?: string;
  model?: Record<string, ModelOption>;
  force?: boolean;
}

/** The profile `profiles create` describes: a base (`--from`) with the options applied on top. */
function profileFromOptions(
  name: string,
  options: CreateOptions,
  base: Profile | null,
  registry: ModelRegistry,
): unknown {
  const components = options.components ?? base?.components.map((c) => c.name);
  if (components === undefined)
    throw new DataProcessorError(
      'INPUT_INVALID',
      'profiles create needs --components <list> (or --from <profile> to start from a profile)',
    );
  const optional = new Set(options.optional ?? []);
  const unknownOptional = [...optional].filter((c) => !components.includes(c));
  if (unknownOptional.length > 0)
    throw new DataProcessorError(
      'INPUT_INVALID',
      `--optional ${unknownOptional.join(', ')}: not among the profile's components (${components.join(', ')})`,
    );
  const baseRequired = new Map(base?.components.map((c) => [c.name, c.required]) ?? []);
  const baseModels = Object.entries(base?.models ?? {}).filter(([c]) => components.includes(c));
  return {
    name,
    description: options.description ?? base?.description ?? '',
    generation: options.generation ?? base?.generation ?? activeGenerationHint,
    components: components.map((c) => ({
      name: c,
      required: optional.has(c)
        ? false
        : options.components === undefined
          ? (baseRequired.get(c) ?? true)
          : true,
    })),
    models: { ...Object.fromEntries(baseModels), ...resolveModelOptions(options.model ?? {}, registry) },
  };
}

function printSaved(profile: Profile, replaced: boolean, json: boolean): void {
  if (json)
    process.stdout.write(`${JSON.stringify({ type: 'profile_saved', name: profile.name, replaced })}\n`);
  else
    process.stdout.write(
      `${pc.green(replaced ? 'replaced' : 'created')} user profile ${profile.name}; run it with ${pc.bold(`dataprocessor run <video> --profile ${profile.name}`)}\n`,
    );
}

/**
 * `dataprocessor profiles list|show|create|import|export|delete`: the analysis profiles of the
 * profile database (R-MOD-4). Shipped profiles are read-only; user profiles are validated by the
 * seed file's own schema and the component graph before they are stored.
 */
export function registerProfilesCommand(program: Command): void {
  const profiles = program
    .command('profiles')
    .description('List, show, create, import, export or delete analysis profiles.');

  profiles
    .command('list')
    .description('every profile with its components and where it comes from (built-in or user)')
    .option('--db <path>', DB_HELP)
    .option('--json', 'print JSON')
    .action((options: StoreOptions) =>
      withStore(options, (store) => {
        const all = store.names().map((n) => ({ profile: store.resolve(n), source: store.sourceOf(n) }));
        process.stdout.write(
          options.json
            ? `${JSON.stringify(all.map(({ profile, source }) => ({ ...profile, source })))}\n`
            : `${all.map(({ profile, source }) => describe(profile, source)).join('\n')}\n`,
        );
      }),
    );

  profiles
    .command('show')
    .description('one profile')
    .argument('<name>', 'profile name')
    .option('--db <path>', DB_HELP)
    .option('--json', 'print JSON')
    .action((name: string, options: StoreOptions) =>
      withStore(options, (store) => {
        const profile = store.resolve(name);
        process.stdout.write(
          options.json
            ? `${JSON.stringify({ ...profile, source: store.sourceOf(name) })}\n`
            : `${describe(profile, store.sourceOf(name))}\n`,
        );
      }),
    );

  profiles
    .command('create')
    .description('create a user profile from options (validated like the shipped ones)')
    .argument('<name>', 'new profile name (1–64 characters from A-Z a-z 0-9 . _ -)')
    .option('--components <list>', 'comma-separated components to run (default: those of --from)', list)
    .option(
      '--optional <list>',
      'comma-separated components whose failure does not fail the run (default: none)',
      list,
    )
    .option('--from <profile>', 'start from this profile (components, models, description, generation)')
    .option('--description <text>', 'what the profile is for (default: that of --from, else empty)')
    .option(
      '--generation <name>',
      `component graph generation (default: that of --from, else "${activeGenerationHint}")`,
    )
    .option(
      '--model <component=model[@version]>',
      "map a component to a registered model (repeatable; device cpu, the card's precision)",
      parseModelOption,
    )
    .option('--force', 'replace a user profile of the same name (default: refuse)')
    .option('--db <path>', DB_HELP)
    .option('--json', 'print JSON')
    .action((name: string, options: CreateOptions) =>
      withStore(options, (store, { parseUserProfile, registry }) => {
        const base = options.from === undefined ? null : store.resolve(options.from);
        const profile = checkModels(
          parseUserProfile(profileFromOptions(name, options, base, registry), `profiles create ${name}`),
          `profiles create ${name}`,
          registry,
        );
        const replaced = store.sourceOf(profile.name) === 'user';
        store.addUserProfile(profile, { replace: options.force === true });
        printSaved(profile, replaced, options.json === true);
      }),
    );

  profiles
    .command('import')
    .description('add a user profile from a YAML or JSON document (as `profiles export` writes it)')
    .argument('<file>', 'profile document; - reads standard input')
    .option('--name <name>', "store it under this name (default: the document's name)")
    .option('--force', 'replace a user profile of the same name (default: refuse)')
    .option('--db <path>', DB_HELP)
    .option('--json', 'print JSON')
    .action((file: string, options: StoreOptions & { name?: string; force?: boolean }) =>
      withStore(options, async (store, { parseUserProfile, registry }) => {
        const origin = file === '-' ? 'standard input' : file;
        const text = await readUserFile(file, 'the profile document');
        let document: unknown;
        try {
          document = parse(text);
        } catch (error) {
          throw new DataProcessorError(
            'INPUT_INVALID',
            `${origin} is neither YAML nor JSON: ${(error as Error).message}`,
            { cause: error },
          );
        }
        if (options.name !== undefined && typeof document === 'object' && document !== null)
          document = { ...document, name: options.name };
        const profile = checkModels(parseUserProfile(document, origin), origin, registry);
        const replaced = store.sourceOf(profile.name) === 'user';
        store.addUserProfile(profile, { replace: options.force === true });
        printSaved(profile, replaced, options.json === true);
      }),
    );

  profiles
    .command('export')
    .description('print a profile (built-in or user) as a document `profiles import` reads')
    .argument('<name>', 'profile name')
    .addOption(new Option('--format <format>', 'document format').choices(['yaml', 'json']).default('yaml'))
    .option('--out <file>', 'write to this file (default: standard output)')
    .option('--force', 'overwrite --out if it exists (default: refuse)')
    .option('--db <path>', DB_HELP)
    .action(
      (name: string, options: StoreOptions & { format: 'yaml' | 'json'; out?: string; force?: boolean }) =>
        withStore(options, async (store, { profileDocument }) => {
          const document = profileDocument(store.resolve(name));
          const text =
            options.format === 'json' ? `${JSON.stringify(document, null, 2)}\n` : stringify(document);
          if (options.out === undefined) {
            process.stdout.write(text);
            return;
          }
          try {
            await writeFile(options.out, text, { flag: options.force ? 'w' : 'wx' });
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'EEXIST')
              throw new DataProcessorError(
                'INPUT_INVALID',
                `--out ${options.out} exists; pass --force to overwrite it or choose another file`,
              );
            throw pathError('cannot write --out', options.out, error);
          }
          process.stderr.write(`${pc.green('exported')} ${name} → ${options.out}\n`);
        }),
    );

  profiles
    .command('delete')
    .description('delete a user profile (built-in profiles cannot be deleted)')
    .argument('<name>', 'user profile name')
    .option('--db <path>', DB_HELP)
    .option('--json', 'print JSON')
    .action((name: string, options: StoreOptions) =>
      withStore(options, (store) => {
        store.deleteUserProfile(name);
        process.stdout.write(
          options.json
            ? `${JSON.stringify({ type: 'profile_deleted', name })}\n`
            : `${pc.green('deleted')} user profile ${name}\n`,
        );
      }),
    );
}
