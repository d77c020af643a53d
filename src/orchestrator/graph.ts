import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { COMPONENT_KINDS, ContractViolationError, type Component } from '../contracts/index.js';

/** The component graph file shipped with the package (R-ORC-1, R-ARC-2). */
export const GRAPH_PATH = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'docs',
  'component_graph.yaml',
);

const nodeSchema = z
  .object({
    processor: z.enum(['segmenter', 'audio', 'text', 'visual']),
    kind: z.enum(COMPONENT_KINDS),
    depends_on: z.array(z.string()),
    /** Read when part of the run (R-DEP-2); ordered before the reader, never added for it. */
    optional_depends_on: z.array(z.string()).default([]),
  })
  .strict();

const generationSchema = z
  .object({
    status: z.enum(['active', 'planned']),
    extends: z.string().optional(),
    description: z.string(),
    components: z.record(z.string(), nodeSchema),
  })
  .strict();

const graphFileSchema = z
  .object({ version: z.literal(1), generations: z.record(z.string(), generationSchema) })
  .strict();

export interface GraphNode {
  name: string;
  processor: z.infer<typeof nodeSchema>['processor'];
  kind: z.infer<typeof nodeSchema>['kind'];
  dependsOn: string[];
  optionalDependsOn: string[];
}

/** One profile generation with its inherited components resolved. */
export interface Generation {
  name: string;
  status: 'active' | 'planned';
  description: string;
  nodes: ReadonlyMap<string, GraphNode>;
}

/** A generation as the orchestrator plans with it. */
export type GraphGeneration = Generation;

export type ComponentGraph = ReadonlyMap<string, Generation>;

function invalid(message: string): ContractViolationError {
  return new ContractViolationError(`component graph: ${message}`);
}

/**
 * Parses and validates the graph: schema, `extends` chains, edges that point at components the
 * generation lacks, and cycles. Any problem is CONTRACT_VIOLATION naming the generation and node.
 */
export function parseGraph(text: string): ComponentGraph {
  const parsed = graphFileSchema.safeParse(parse(text));
  if (!parsed.success) {
    throw invalid(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  const raw = parsed.data.generations;
  const resolved = new Map<string, Generation>();
  const resolve = (name: string, chain: string[]): Generation => {
    const done = resolved.get(name);
    if (done) return done;
    const own = raw[name];
    if (!own) throw invalid(`generation "${chain.at(-1)}" extends unknown generation "${name}"`);
    if (chain.includes(name))
      throw invalid(`generations extend each other in a cycle: ${[...chain, name].join(' → ')}`);
    const base = own.extends ? resolve(own.extends, [...chain, name]).nodes : new Map<string, GraphNode>();
    const nodes = new Map(base);
    for (const [nodeName, node] of Object.entries(own.components)) {
      nodes.set(nodeName, {
        name: nodeName,
        processor: node.processor,
        kind: node.kind,
        dependsOn: node.depends_on,
        optionalDependsOn: node.optional_depends_on,
      });
    }
    const generation: Generation = { name, status: own.status, description: own.description, nodes };
    resolved.set(name, generation);
    return generation;
  };
  for (const name of Object.keys(raw)) resolve(name, []);
  for (const generation of resolved.values()) {
    for (const node of generation.nodes.values()) {
      for (const dependency of [...node.dependsOn, ...node.optionalDependsOn]) {
        if (!generation.nodes.has(dependency)) {
          throw invalid(
            `in generation "${generation.name}", ${node.name} depends on ${dependency}, which the generation lacks`,
          );
        }
      }
    }
    topologicalLevels(generation, [...generation.nodes.keys()]);
  }
  return resolved;
}

let cached: ComponentGraph | null = null;

/** The shipped graph, parsed once per process. */
export function loadGraph(path = GRAPH_PATH): ComponentGraph {
  if (path === GRAPH_PATH && cached) return cached;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ContractViolationError(`component graph ${path} cannot be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const graph = parseGraph(text);
  if (path === GRAPH_PATH) cached = graph;
  return graph;
}

/**
 * Orders `names` (and nothing else) into levels: every component's dependencies among `names`
 * are in earlier levels, so the components of one level can run concurrently. Throws on a cycle.
 */
export function topologicalLevels(generation: Generation, names: readonly string[]): string[][] {
  const wanted = new Set(names);
  const levels: string[][] = [];
  const placed = new Set<string>();
  while (placed.size < wanted.size) {
    const level = [...wanted]
      .filter((name) => !placed.has(name))
      .filter((name) => edgesOf(generation, name).every((d) => !wanted.has(d) || placed.has(d)))
      .sort();
    if (level.length === 0) {
      const stuck = [...wanted].filter((n) => !placed.has(n));
      throw invalid(`in generation "${generation.name}", a dependency cycle joins ${stuck.join(', ')}`);
    }
    level.forEach((name) => placed.add(name));
    levels.push(level);
  }
  return levels;
}

/** Every component `name` reads, hard and optional: all run before it when they are in the run. */
function edgesOf(generation: Generation, name: string): string[] {
  const node = generation.nodes.get(name);
  return node ? [...node.dependsOn, ...node.optionalDependsOn] : [];
}

/**
 * Problems between a generation and the registered components (docs and code must agree): an
 * active generation's components must all be registered with the same processor and kind, and a
 * component's declared `dependsOn` must equal its graph edges (the Segmenter edge is implicit in code).
 */
export function checkAgainstRegistry(generation: Generation, registry: readonly Component[]): string[] {
  const problems: string[] = [];
  const byName = new Map(registry.map((c) => [c.name, c]));
  for (const node of generation.nodes.values()) {
    if (node.name === 'segmenter') continue;
    const component = byName.get(node.name);
    if (!component) {
      if (generation.status === 'active')
        problems.push(
          `${node.name} is in active generation "${generation.name}" but no component is registered under that name`,
        );
      continue;
    }
    if (component.processor !== node.processor)
      problems.push(`${node.name}: graph says processor ${node.processor}, code says ${component.processor}`);
    if (component.kind !== node.kind)
      problems.push(`${node.name}: graph says kind ${node.kind}, code says ${component.kind}`);
    const graphEdges = node.dependsOn.filter((d) => d !== 'segmenter').sort();
    const codeEdges = [...component.dependsOn].sort();
    if (graphEdges.join(',') !== codeEdges.join(',')) {
      problems.push(
        `${node.name}: graph depends on [${graphEdges.join(', ')}], code declares [${codeEdges.join(', ')}]`,
      );
    }
    const graphOptional = [...node.optionalDependsOn].sort().join(',');
    const codeOptional = [...(component.optionalDependsOn ?? [])].sort().join(',');
    if (graphOptional !== codeOptional) {
      problems.push(
        `${node.name}: graph optionally reads [${graphOptional}], code declares [${codeOptional}]`,
      );
    }
  }
  return problems;
}
