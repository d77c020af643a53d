// Import boundaries (STYLE: each folder has a public surface): code in one module may import
// another module only through that module's index.ts. Modules are the folders under src/, and
// each processor under src/processors/. Exits 1 listing every violation.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const SRC = resolve(import.meta.dirname, '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? files(full) : full.endsWith('.ts') ? [full] : [];
  });
}

/** Module root of a file: src/<top>, or src/processors/<name>. */
function moduleOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  if (parts[0] === 'processors' && parts.length > 2) return join('processors', parts[1] ?? '');
  return parts.length > 1 ? (parts[0] ?? '') : '';
}

const violations: string[] = [];
for (const file of files(SRC)) {
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const specifier = match[1] ?? '';
    const target = resolve(dirname(file), specifier).replace(/\.js$/, '.ts');
    const from = moduleOf(file);
    const to = moduleOf(target);
    if (from === to || to === '' || relative(SRC, target).startsWith('..')) continue;
    const publicSurface = join(SRC, to, 'index.ts');
    if (target !== publicSurface)
      violations.push(`${relative(SRC, file)} imports ${specifier}: use ${to}/index.ts`);
  }
}
if (violations.length > 0) {
  console.error(`import boundary violations:\n  ${violations.join('\n  ')}`);
  process.exit(1);
}
console.log('import boundaries: ok');
