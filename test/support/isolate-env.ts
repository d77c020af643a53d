// Runs before every test file (vitest `setupFiles`), in that file's own process: a fresh profile
// database and batch-throughput table per file, inherited by the CLI children it starts. Files run
// side by side (two workers on two cores), so nothing a file writes there — user profiles, API
// keys, queued jobs, measured rates — can leak into another file, nor a database or table left by
// another checkout or an earlier run.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'dp-test-env-'));
process.env.DATAPROCESSOR_DB = join(dir, 'dataprocessor.sqlite');
process.env.DATAPROCESSOR_THROUGHPUT_FILE = join(dir, 'batch-throughput.json');
