// The dashboard bundle (scripts/build-web.ts): it builds, takes the NPZ reader from src/contracts,
// and none of the server side leaks into it: no zod schemas, no node: built-in, no service code.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDashboard } from '../scripts/build-web.js';

describe('dashboard build', () => {
  it('bundles the client with the shared NPZ reader and nothing of the server', async () => {
    const out = mkdtempSync(join(tmpdir(), 'dp-dash-build-'));
    const built = await buildDashboard(out);
    const inputs = built.bundledInputs;
    expect(inputs).toContain('src/contracts/npz/npz.ts');
    expect(inputs.some((p) => p.startsWith('node_modules/uplot/'))).toBe(true);
    expect(inputs.some((p) => p.startsWith('node_modules/fflate/'))).toBe(true);
    for (const heavy of [
      'node_modules/zod/',
      'node_modules/canonicalize/',
      'node-stub:',
      'src/service/',
      'src/orchestrator/',
    ])
      expect(
        inputs.filter((p) => p.startsWith(heavy)),
        heavy,
      ).toEqual([]);
    expect(inputs).not.toContain('src/contracts/identity.ts');
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    expect(html).toContain('src="app.js"');
    expect(readFileSync(join(out, 'style.css'), 'utf8')).toContain('.uplot');
    console.log(`dashboard app.js: ${(built.bundleBytes / 1024).toFixed(1)} KiB minified`);
    expect(built.bundleBytes).toBeLessThan(200 * 1024);
  });
});
