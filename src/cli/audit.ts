import type { Command } from 'commander';
import pc from 'picocolors';
import { resolve } from 'node:path';
import { loadAudit } from './lazy.js';
import { reportError } from './output.js';

export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description(
      'Check a finished run directory against the contract; PASS/FAIL with evidence per rule (exit 1 on FAIL).',
    )
    .argument(
      '<run_dir>',
      'run directory <store>/<platform_id>/<video_id>/<run_id>, or s3://bucket/prefix/<platform_id>/<video_id>/<run_id>?endpoint=…',
    )
    .option('--json', 'print the report as JSON')
    .action(async (runDir: string, options: { json?: boolean }) => {
      try {
        const { auditRun, auditStoredRun, openStoredRun } = await loadAudit();
        const stored = await openStoredRun(runDir);
        const report = stored
          ? await auditStoredRun(stored.store, stored.runDir)
          : await auditRun(resolve(runDir));
        if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else {
          for (const r of report.rules) {
            process.stdout.write(
              `${r.pass ? pc.green('PASS') : pc.red('FAIL')} ${r.id} (${r.spec}) ${r.title}\n`,
            );
            for (const line of r.evidence.slice(0, 20)) process.stdout.write(`     ${pc.dim(line)}\n`);
            if (r.evidence.length > 20)
              process.stdout.write(`     ${pc.dim(`… ${r.evidence.length - 20} more`)}\n`);
          }
          process.stdout.write(
            `${report.pass ? pc.green('AUDIT PASS') : pc.red('AUDIT FAIL')} ${report.runDir}\n`,
          );
        }
        process.exitCode = report.pass ? 0 : 1;
      } catch (error) {
        process.exitCode = reportError(error, options.json === true);
      }
    });
}
