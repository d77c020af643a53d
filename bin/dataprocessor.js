#!/usr/bin/env node
// Entry of the `dataprocessor` bin: runs the compiled CLI (`npm run build` produces dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const entry = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(entry)) {
  process.stderr.write(
    'error [TOOL_MISSING] dataprocessor is not built; run `bash scripts/setup.sh` (or `npm run build`) first.\n',
  );
  process.exit(3);
}
const { main } = await import(pathToFileURL(entry).href);
await main(process.argv);
