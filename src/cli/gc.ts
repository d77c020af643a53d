import type { Command } from 'commander';
import pc from 'picocolors';
import { InputError } from '../contracts/index.js';
import {
  DEFAULT_RETENTION,
  collectGarbage,
  openExistingResultStore,
  type RetentionPolicy,
} from '../storage/index.js';
import { reportError } from './output.js';

interface GcCliOptions {
  out: string;
  dryRun?: boolean;
  json?: boolean;
  framesTtlDays?: string;
  artifactHardCapDays?: string;
  cacheTtlDays?: string;
  rawHardCapDays?: string;
  now?: string;
}

function days(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new InputError('INPUT_INVALID', `${flag} must be a number of days >= 0, not "${value}"`);
  return n;
}

/** `1.5 MB`-style sizes for people; --json has exact bytes. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function registerGcCommand(program: Command): void {
  program
    .command('gc')
    .description(
      'Retention GC (R-PRV-3): remove frames, raw payloads, whole runs, stale claims and temp files past their retention; never a running run.',
    )
    .option(
      '--out <dir|s3-uri>',
      'result store: a directory, or s3://bucket/prefix?endpoint=…',
      'result_store',
    )
    .option('--dry-run', 'report what would be removed; remove nothing')
    .option('--json', 'print the report as JSON')
    .option(
      '--frames-ttl-days <n>',
      `frame batches kept this long (default ${DEFAULT_RETENTION.framesTtlDays})`,
    )
    .option(
      '--artifact-hard-cap-days <n>',
      `whole runs kept this long (default ${DEFAULT_RETENTION.artifactHardCapDays})`,
    )
    .option(
      '--cache-ttl-days <n>',
      `claim records and mirror copies kept this long (default ${DEFAULT_RETENTION.cacheTtlDays})`,
    )
    .option(
      '--raw-hard-cap-days <n>',
      `raw payloads without their own expiry kept this long (default ${DEFAULT_RETENTION.rawPayloadHardCapDays})`,
    )
    .option('--now <iso-time>', 'judge ages as of this time instead of the clock (to preview a policy)')
    .action(async (options: GcCliOptions) => {
      try {
        const policy: Partial<RetentionPolicy> = {};
        const set = (key: keyof RetentionPolicy, flag: string, value: string | undefined): void => {
          const n = days(flag, value);
          if (n !== undefined) policy[key] = n;
        };
        set('framesTtlDays', '--frames-ttl-days', options.framesTtlDays);
        set('artifactHardCapDays', '--artifact-hard-cap-days', options.artifactHardCapDays);
        set('cacheTtlDays', '--cache-ttl-days', options.cacheTtlDays);
        set('rawPayloadHardCapDays', '--raw-hard-cap-days', options.rawHardCapDays);
        let now: number | undefined;
        if (options.now !== undefined) {
          now = Date.parse(options.now);
          if (Number.isNaN(now))
            throw new InputError('INPUT_INVALID', `--now must be an ISO-8601 time, not "${options.now}"`);
        }
        const store = await openExistingResultStore(options.out);
        const report = await collectGarbage(store, {
          policy,
          dryRun: options.dryRun === true,
          ...(now !== undefined ? { now: () => now } : {}),
        });
        if (options.json) {
          process.stdout.write(`${JSON.stringify(report)}\n`);
          return;
        }
        const verb = report.dry_run ? 'would remove' : 'removed';
        for (const a of report.actions)
          process.stdout.write(
            `${verb} ${a.kind} ${[a.platform_id, a.video_id, a.run_id].filter(Boolean).join('/')}: ${a.files} files, ${formatBytes(a.bytes)} (${a.reason})\n`,
          );
        for (const run of report.running) process.stdout.write(`${pc.dim(`kept ${run}: running`)}\n`);
        process.stdout.write(
          `${report.dry_run ? 'GC dry run' : 'GC'}: ${verb} ${report.files_removed} files, ${formatBytes(report.bytes_freed)}\n`,
        );
      } catch (error) {
        process.exitCode = reportError(error, options.json === true);
      }
    });
}
