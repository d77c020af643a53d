import type { Command } from 'commander';
import pc from 'picocolors';
import { DataProcessorError } from '../contracts/index.js';
import type { ModelCard, ModelStore, VerifyReport } from '../models/index.js';
import { loadModels } from './lazy.js';
import { reportError } from './output.js';
import { checkDirectoryOption, prepareOutputDirectory } from './paths.js';

interface CommonOptions {
  json?: boolean;
  modelDir?: string;
}

async function storeOf(options: CommonOptions): Promise<ModelStore> {
  const { ModelStore, defaultModelDir } = await loadModels();
  const dir = options.modelDir ?? defaultModelDir();
  await checkDirectoryOption(dir, '--model-dir');
  return new ModelStore(dir);
}

/** `--sha256 path=hex` (repeatable), or a bare hex for a single-file model. */
function parsePins(values: readonly string[], card: ModelCard): Record<string, string> {
  const pins: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const path = eq < 0 ? (card.files.length === 1 ? card.files[0]?.path : undefined) : value.slice(0, eq);
    const hex = (eq < 0 ? value : value.slice(eq + 1)).toLowerCase();
    if (path === undefined || !/^[0-9a-f]{64}$/.test(hex)) {
      throw new DataProcessorError(
        'INPUT_INVALID',
        `--sha256 must be <file>=<64 hex digits> (got ${JSON.stringify(value)})`,
      );
    }
    pins[path] = hex;
  }
  return pins;
}

/** `dataprocessor models list | verify [name] | install <name> --from <URL|DIR>` (R-MOD-1). */
export function registerModelsCommand(program: Command): void {
  const models = program
    .command('models')
    .description(
      'Manage the local model store: list registered models, verify digests, install from a mirror.',
    );

  models
    .command('list')
    .description('List every registered model with where it is found and whether its files verify.')
    .option('--json', 'print JSON')
    .option(
      '--model-dir <dir>',
      'model store (default $DATAPROCESSOR_MODEL_DIR or ~/.cache/dataprocessor/models)',
    )
    .option('--no-verify', 'do not re-hash files (faster; "verified" is then null)')
    .action(async (options: CommonOptions & { verify: boolean }) => {
      try {
        const store = await storeOf(options);
        const rows = [];
        for (const card of (await loadModels()).createRegistry().list()) {
          const located = await store.locate(card);
          const report = located !== null && options.verify ? await store.verify(located) : null;
          rows.push({
            name: card.name,
            version: card.version,
            task: card.task,
            engine: card.engine,
            precision: card.precision,
            synthetic: card.synthetic,
            licence: card.licence.weights,
            installed: located?.where ?? null,
            verified: report === null ? null : report.ok,
            weights_digest: located?.weightsDigest ?? null,
          });
        }
        if (options.json)
          process.stdout.write(`${JSON.stringify({ store: store.dir, models: rows }, null, 2)}\n`);
        else {
          process.stdout.write(`${pc.dim(`model store: ${store.dir}`)}\n`);
          for (const r of rows) {
            const state =
              r.installed === null
                ? pc.yellow('not installed')
                : `${r.installed === 'store' ? 'installed' : 'packaged'}${r.verified === null ? '' : r.verified ? pc.green(' ✓ verified') : pc.red(' ✗ digest mismatch')}`;
            process.stdout.write(
              `${r.name}@${r.version}  ${pc.dim(`${r.task} ${r.engine} ${r.precision} ${r.licence}`)}  ${state}\n`,
            );
          }
        }
        process.exitCode = rows.some((r) => r.verified === false) ? ERROR_EXIT_MISMATCH : 0;
      } catch (error) {
        process.exitCode = reportError(error, options.json === true);
      }
    });

  models
    .command('verify')
    .description('Re-hash the files of one model (or of every available one) against their digests.')
    .argument('[name]', 'model name (default: every model that is installed or packaged)')
    .option('--json', 'print JSON')
    .option('--model-dir <dir>', 'model store')
    .action(async (name: string | undefined, options: CommonOptions) => {
      try {
        const store = await storeOf(options);
        const registry = (await loadModels()).createRegistry();
        const reports: VerifyReport[] = [];
        if (name !== undefined) reports.push(await store.verify(await store.resolve(registry.get(name))));
        else {
          for (const card of registry.list()) {
            const located = await store.locate(card);
            if (located !== null) reports.push(await store.verify(located));
          }
        }
        const bad = reports.filter((r) => !r.ok);
        if (options.json)
          process.stdout.write(`${JSON.stringify({ ok: bad.length === 0, models: reports }, null, 2)}\n`);
        else {
          for (const r of reports) {
            process.stdout.write(
              `${r.ok ? pc.green('OK  ') : pc.red('FAIL')} ${r.model}@${r.version} (${r.where})\n`,
            );
            for (const f of r.files.filter((x) => x.actual !== x.expected)) {
              process.stdout.write(`     ${pc.dim(`${f.path}: ${f.actual ?? 'missing'} ≠ ${f.expected}`)}\n`);
            }
          }
        }
        if (bad.length > 0) {
          const first = bad[0];
          process.exitCode = reportError(
            new DataProcessorError(
              'MODEL_DIGEST_MISMATCH',
              `${bad.length} model(s) failed verification: ${bad.map((r) => r.model).join(', ')}`,
              { details: { first: first?.model } },
            ),
            options.json === true,
          );
        }
      } catch (error) {
        process.exitCode = reportError(error, options.json === true);
      }
    });

  models
    .command('install')
    .description(
      'Install a registered model into the store from a directory or an http(s) mirror, verifying digests.',
    )
    .argument('<name>', 'model name')
    .requiredOption('--from <URL|DIR>', 'directory or base URL holding the model files (<from>/<file>)')
    .option(
      '--sha256 <file=hex...>',
      'digest for a file of a model whose card has none (else the source SHA256SUMS)',
    )
    .option('--json', 'print JSON')
    .option('--model-dir <dir>', 'model store')
    .action(async (name: string, options: CommonOptions & { from: string; sha256?: string[] }) => {
      try {
        const store = await storeOf(options);
        const card = (await loadModels()).createRegistry().get(name);
        await prepareOutputDirectory(store.dir, '--model-dir');
        const located = await store.install(card, options.from, parsePins(options.sha256 ?? [], card));
        const result = {
          type: 'installed',
          name: card.name,
          version: card.version,
          dir: located.dir,
          weights_digest: located.weightsDigest,
        };
        if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else process.stdout.write(`${pc.green('installed')} ${card.name}@${card.version} → ${located.dir}\n`);
      } catch (error) {
        process.exitCode = reportError(error, options.json === true);
      }
    });
}

// `list` with a mismatching model exits like MODEL_DIGEST_MISMATCH (4) so scripts can gate on it.
const ERROR_EXIT_MISMATCH = new DataProcessorError('MODEL_DIGEST_MISMATCH', '').exitCode;
