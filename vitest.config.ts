import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Every test run gets its own profile database (CLI children inherit it), so a database left by
// another checkout or an earlier run — seeded from another profiles.yaml — can never leak in.
const database = join(mkdtempSync(join(tmpdir(), 'dp-test-db-')), 'dataprocessor.sqlite');
// Likewise the batch planner's measured throughput (src/models/throughput.ts): a table left by an
// earlier run or a bench would change the batch sizes tests plan.
const throughput = join(mkdtempSync(join(tmpdir(), 'dp-test-throughput-')), 'batch-throughput.json');

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 420_000,
    hookTimeout: 600_000,
    pool: 'forks',
    env: { DATAPROCESSOR_DB: database, DATAPROCESSOR_THROUGHPUT_FILE: throughput },
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
