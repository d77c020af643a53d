// Docs and code must agree (R-ARC-2): every generated section of docs/ equals what the code renders now.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOCS_DIR, docFiles, renderDoc } from '../scripts/docs/render.js';

describe('docs/ match the code', () => {
  for (const file of docFiles()) {
    it(`${file} is current (run \`npm run docs\` after changing a contract)`, () => {
      const text = readFileSync(join(DOCS_DIR, file), 'utf8');
      expect(renderDoc(file, text)).toBe(text);
    });
  }
});
