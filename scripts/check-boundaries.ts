// Import boundaries (STYLE: each folder has a public surface; no cycles), checked by a tool, not by
// memory. Modules are the folders under src/, and each processor under src/processors/.
//  1. Code in one module imports another module only through that module's index.ts; so do test/
//     and bench/ (they see what any other user of a module sees).
//  2. No import cycles between modules (a type-only import counts: it still ties the contracts of
//     two modules together), and no cycles between the files of src/ (runtime imports: a cycle of
//     files makes module initialisation order matter). Like `madge --circular`, over our own
//     relative imports.
// Exits 1 listing every violation. `checkBoundaries(root)` is the same check as a function.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

/** One relative import of a file: the resolved target and whether it is type-only. */
interface ImportEdge {
  from: string;
  to: string;
  specifier: string;
  typeOnly: boolean;
}

function files(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    if (name === 'node_modules' || name === 'dist') return [];
    const full = join(dir, name);
    return statSync(full).isDirectory() ? files(full) : full.endsWith('.ts') ? [full] : [];
  });
}

// `import x from '…'`, `import type { X } from '…'`, `export { x } from '…'`, `export * from '…'`,
// `import('…')`, `import '…'`: the statement keyword is captured to tell type-only imports apart.
const IMPORT =
  /(?:^|[;\n}])\s*(import|export)(\s+type)?\b[^;'"]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]|\bimport\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"](\.{1,2}\/[^'"]+)['"]/g;

/** Every relative import of `file`, resolved to a .ts path. */
export function importsOf(file: string, text: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const specifier = m[3] ?? m[4] ?? m[5] ?? '';
    const typeOnly = m[2] !== undefined;
    const to = resolve(dirname(file), specifier).replace(/\.js$/, '.ts');
    edges.push({ from: file, to, specifier, typeOnly });
  }
  return edges;
}

/** Strongly connected components with more than one node (or a self-loop): the cycles. */
function cycles(nodes: readonly string[], next: (node: string) => readonly string[]): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    indexOf.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, indexOf.get(w) ?? 0));
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
        onStack.delete(w);
        component.push(w);
        if (w === v) break;
      }
      if (component.length > 1 || next(v).includes(v)) found.push(component.sort());
    }
  };
  for (const v of nodes) if (!indexOf.has(v)) visit(v);
  return found;
}

/** One path around a cycle, for the message: a → b → … → a. */
function cyclePath(members: readonly string[], next: (node: string) => readonly string[]): string {
  const inside = new Set(members);
  const start = members[0] ?? '';
  // Breadth-first from start back to start, inside the component.
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift() ?? '';
    for (const w of next(v)) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u: string | undefined = v; u !== undefined && u !== start; u = previous.get(u))
          path.unshift(u);
        path.unshift(start);
        return path.join(' → ');
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return members.join(', ');
}

/** Checks the repository at `root`; returns every violation (empty when the boundaries hold). */
export function checkBoundaries(root: string): string[] {
  const src = join(root, 'src');
  /** Module root of a file under src/: src/<top>, or src/processors/<name>; '' for src/ itself. */
  const moduleOf = (file: string): string => {
    const parts = relative(src, file).split(sep);
    if (parts[0] === 'processors' && parts.length > 2) return join('processors', parts[1] ?? '');
    // The dashboard client runs in the browser: a module of its own (STYLE: split by where code runs).
    if (parts[0] === 'web' && parts[1] === 'client' && parts.length > 2) return join('web', 'client');
    return parts.length > 1 ? (parts[0] ?? '') : '';
  };
  const insideSrc = (file: string): boolean => !relative(src, file).startsWith('..');
  const show = (file: string): string => relative(root, file).split(sep).join('/');

  const violations: string[] = [];
  const sourceFiles = files(src);
  const edges: ImportEdge[] = [];
  for (const file of [...sourceFiles, ...files(join(root, 'test')), ...files(join(root, 'bench'))])
    edges.push(...importsOf(file, readFileSync(file, 'utf8')));

  // 1. Public surfaces.
  for (const edge of edges) {
    if (!insideSrc(edge.to)) continue;
    const to = moduleOf(edge.to);
    if (to === '') continue;
    if (insideSrc(edge.from) && moduleOf(edge.from) === to) continue;
    if (edge.to !== join(src, to, 'index.ts'))
      violations.push(
        `${show(edge.from)} imports ${edge.specifier}: use ${to.split(sep).join('/')}/index.ts`,
      );
  }

  // 2a. Module cycles (any import, type-only included).
  const moduleEdges = new Map<string, Set<string>>();
  for (const edge of edges) {
    if (!insideSrc(edge.from) || !insideSrc(edge.to)) continue;
    const from = moduleOf(edge.from);
    const to = moduleOf(edge.to);
    if (from === '' || to === '' || from === to) continue;
    const set = moduleEdges.get(from) ?? new Set<string>();
    set.add(to);
    moduleEdges.set(from, set);
  }
  const nextModule = (m: string): string[] => [...(moduleEdges.get(m) ?? [])];
  for (const members of cycles([...moduleEdges.keys()].sort(), nextModule)) {
    const witness = (from: string, to: string): string => {
      const between = edges.filter(
        (x) => insideSrc(x.from) && moduleOf(x.from) === from && moduleOf(x.to) === to,
      );
      const e = between.find((x) => !x.from.endsWith('.test.ts')) ?? between[0];
      return e ? `${show(e.from)} → ${show(e.to)}` : `${from} → ${to}`;
    };
    const path = cyclePath(members, nextModule).split(' → ');
    const links = path.slice(1).map((to, i) => witness(path[i] ?? '', to));
    violations.push(`module import cycle: ${path.join(' → ')} (${links.join('; ')})`);
  }

  // 2b. File cycles inside src/ (runtime imports).
  const fileEdges = new Map<string, string[]>();
  for (const edge of edges) {
    if (edge.typeOnly || !insideSrc(edge.from) || !insideSrc(edge.to)) continue;
    fileEdges.set(edge.from, [...(fileEdges.get(edge.from) ?? []), edge.to]);
  }
  const nextFile = (f: string): string[] => fileEdges.get(f) ?? [];
  for (const members of cycles(sourceFiles.sort(), nextFile))
    violations.push(`file import cycle: ${cyclePath(members, nextFile).split(' → ').map(show).join(' → ')}`);

  return violations;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const violations = checkBoundaries(resolve(import.meta.dirname, '..'));
  if (violations.length > 0) {
    console.error(`import boundary violations:\n  ${violations.join('\n  ')}`);
    process.exit(1);
  }
  console.log('import boundaries: ok (public surfaces, no module or file cycles)');
}
