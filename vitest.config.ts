import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 420_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // Every file gets its own profile database and batch-throughput table (see the file).
    setupFiles: ['./test/support/isolate-env.ts'],
    // Vitest's default is cores − 1: one file at a time on the 2-core CI machine, which leaves a
    // core idle while a file waits on a child process, a server or a browser. Two files at once
    // there took the suite from 19.2 to 14.3 minutes (634 tests, same machine, same day).
    maxWorkers: Math.max(2, availableParallelism()),
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
