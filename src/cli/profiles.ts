import type { Command } from 'commander';
import { ProfileStore, defaultDatabasePath, type Profile } from '../orchestrator/index.js';
import { reportError } from './output.js';

function describe(profile: Profile): string {
  const components = profile.components.map((c) => `${c.name}${c.required ? '' : ' (optional)'}`).join(', ');
  const models = Object.entries(profile.models ?? {})
    .map(([c, m]) => `${c} → ${m.model}@${m.version} ${m.device}/${m.precision}`)
    .join(', ');
  return `${profile.name} [${profile.generation}] ${profile.description}\n  components: ${components}${models ? `\n  models: ${models}` : ''}`;
}

/** `dataprocessor profiles list|show`: the analysis profiles of the profile database (R-MOD-4). */
export function registerProfilesCommand(program: Command): void {
  const profiles = program
    .command('profiles')
    .description('List or show the analysis profiles of the profile database.');
  const withStore = (db: string | undefined, json: boolean, use: (store: ProfileStore) => void): void => {
    try {
      const store = ProfileStore.open(db ?? defaultDatabasePath());
      try {
        use(store);
      } finally {
        store.close();
      }
    } catch (error) {
      process.exitCode = reportError(error, json);
    }
  };
  profiles
    .command('list')
    .description('every profile with its components')
    .option('--db <path>', 'profile database (default: $DATAPROCESSOR_DB or ~/.local/share/dataprocessor)')
    .option('--json', 'print JSON')
    .action((options: { db?: string; json?: boolean }) =>
      withStore(options.db, options.json === true, (store) => {
        const all = store.names().map((n) => store.resolve(n));
        process.stdout.write(options.json ? `${JSON.stringify(all)}\n` : `${all.map(describe).join('\n')}\n`);
      }),
    );
  profiles
    .command('show')
    .description('one profile')
    .argument('<name>', 'profile name')
    .option('--db <path>', 'profile database')
    .option('--json', 'print JSON')
    .action((name: string, options: { db?: string; json?: boolean }) =>
      withStore(options.db, options.json === true, (store) => {
        const profile = store.resolve(name);
        process.stdout.write(options.json ? `${JSON.stringify(profile)}\n` : `${describe(profile)}\n`);
      }),
    );
}
