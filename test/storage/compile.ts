// Transpiles a child-process script and the project modules it imports to plain JS in a temp dir,
// so the storage tests can spawn hundreds of real `node` processes: `node --import tsx` costs about
// 300 ms of CPU per start here, plain node about 50 ms. Types are stripped per file with the
// project's own TypeScript (no bundling), so the children run the very code under test.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..');

/** Relative `.js` specifiers in import/export statements (type-only ones too: harmless extra files). */
const RELATIVE_IMPORT = /(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)\.js['"]/g;

export interface CompiledScripts {
  /** Absolute path of the compiled `.js` for a project-relative `.ts` entry. */
  scriptFor(entry: string): string;
  cleanup(): Promise<void>;
}

/** Compiles `entries` (project-relative `.ts` paths) and everything they import relatively. */
export async function compileScripts(entries: readonly string[]): Promise<CompiledScripts> {
  const outDir = await mkdtemp(join(tmpdir(), 'dp-storage-children-'));
  // Bare imports (zod, canonicalize) resolve through the project's node_modules.
  await symlink(join(PROJECT_ROOT, 'node_modules'), join(outDir, 'node_modules'), 'dir');
  await writeFile(join(outDir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  const pending = entries.map((e) => resolve(PROJECT_ROOT, e));
  const done = new Set<string>();
  while (pending.length > 0) {
    const file = pending.pop();
    if (file === undefined || done.has(file)) continue;
    done.add(file);
    const source = await readFile(file, 'utf8');
    const { outputText } = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    });
    const target = join(outDir, relative(PROJECT_ROOT, file)).replace(/\.ts$/, '.js');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, outputText);
    for (const match of source.matchAll(RELATIVE_IMPORT)) {
      const imported = resolve(dirname(file), `${match[1] ?? ''}.ts`);
      if (existsSync(imported)) pending.push(imported);
    }
  }
  return {
    scriptFor: (entry) => join(outDir, entry.replace(/\.ts$/, '.js')),
    cleanup: () => rm(outDir, { recursive: true, force: true }),
  };
}
