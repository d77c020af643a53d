import type { Command } from 'commander';
import { API_KEY_ROLES } from '../contracts/index.js';
import type { ApiKeyStore, Role } from '../service/index.js';
import { loadOrchestrator, loadService } from './lazy.js';
import { reportError } from './output.js';

/** `dataprocessor keys create|list|revoke`: API keys of the service (R-SEC-5), hashed at rest. */
export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('Create, list or revoke API keys of the service.');
  const withStore = async (
    db: string | undefined,
    json: boolean,
    use: (store: ApiKeyStore) => void,
  ): Promise<void> => {
    try {
      const [{ defaultDatabasePath }, { ApiKeyStore }] = await Promise.all([
        loadOrchestrator(),
        loadService(),
      ]);
      const store = ApiKeyStore.open(db ?? defaultDatabasePath());
      try {
        use(store);
      } finally {
        store.close();
      }
    } catch (error) {
      process.exitCode = reportError(error, json);
    }
  };
  keys
    .command('create')
    .description('create a key for one platform (tenant) and role; the key is printed once')
    .requiredOption('--platform-id <id>', 'the tenant whose runs the key may see')
    .option('--role <role>', `one of ${API_KEY_ROLES.join(', ')}`, 'submit')
    .option('--name <name>', 'a label for the key', 'key')
    .option('--db <path>', 'service database')
    .option('--json', 'print JSON')
    .action((options: { platformId: string; role: string; name: string; db?: string; json?: boolean }) =>
      withStore(options.db, options.json === true, (store) => {
        const { key, info } = store.create({
          name: options.name,
          platformId: options.platformId,
          role: options.role as Role,
        });
        process.stdout.write(
          options.json
            ? `${JSON.stringify({ key, id: info.id, platform_id: info.platformId, role: info.role })}\n`
            : `${key}\n(id ${info.id}, platform ${info.platformId}, role ${info.role}; store it now, it is not shown again)\n`,
        );
      }),
    );
  keys
    .command('list')
    .description('every key (ids, tenants, roles; never the secrets)')
    .option('--db <path>', 'service database')
    .option('--json', 'print JSON')
    .action((options: { db?: string; json?: boolean }) =>
      withStore(options.db, options.json === true, (store) => {
        const all = store.list();
        process.stdout.write(
          options.json
            ? `${JSON.stringify(all)}\n`
            : `${all.map((k) => `${k.id} ${k.platformId} ${k.role} ${k.name}${k.revokedAt ? ` revoked ${k.revokedAt}` : ''}`).join('\n')}\n`,
        );
      }),
    );
  keys
    .command('revoke')
    .description('revoke a key at once')
    .argument('<id>', 'key id (from keys list)')
    .option('--db <path>', 'service database')
    .option('--json', 'print JSON')
    .action((id: string, options: { db?: string; json?: boolean }) =>
      withStore(options.db, options.json === true, (store) => {
        const revoked = store.revoke(id);
        if (!revoked) process.exitCode = 2;
        process.stdout.write(
          options.json
            ? `${JSON.stringify({ id, revoked })}\n`
            : `${revoked ? 'revoked' : 'no such active key'} ${id}\n`,
        );
      }),
    );
}
