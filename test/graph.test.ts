// The component graph (docs/component_graph.yaml) is the source of truth for order and
// parallelism; these tests keep it and the registered components from drifting apart (R-ARC-2).
import { describe, expect, it } from 'vitest';
import { COMPONENTS } from '../src/processors/index.js';
import {
  PROFILES,
  checkAgainstRegistry,
  loadGraph,
  parseGraph,
  topologicalLevels,
} from '../src/orchestrator/index.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return `${(error as { code?: string }).code}: ${(error as Error).message}`;
  }
  return 'no error';
}

describe('the shipped component graph', () => {
  const graph = loadGraph();

  it('has the baseline, v1 and v2 generations, baseline active', () => {
    expect([...graph.keys()].sort()).toEqual(['baseline', 'v1', 'v2']);
    expect(graph.get('baseline')?.status).toBe('active');
  });

  it('matches the registered components: names, processors, kinds and dependencies', () => {
    for (const generation of graph.values())
      expect(checkAgainstRegistry(generation, COMPONENTS), generation.name).toEqual([]);
    const baseline = graph.get('baseline');
    for (const component of COMPONENTS)
      expect(baseline?.nodes.has(component.name), component.name).toBe(true);
  });

  it('every profile runs in an active generation that holds its components', () => {
    for (const profile of Object.values(PROFILES)) {
      const generation = graph.get(profile.generation);
      expect(generation?.status).toBe('active');
      for (const c of profile.components) expect(generation?.nodes.has(c.name), c.name).toBe(true);
    }
  });

  it('carries the artifact edges of the spec, including Visual ocr → text_processor', () => {
    // text_processor reads the OCR and ASR handoffs when they are in the run (optional edges)
    for (const g of ['baseline', 'v1', 'v2'])
      expect(graph.get(g)?.nodes.get('text_processor')?.optionalDependsOn, g).toEqual([
        'ocr',
        'speech_transcriber',
      ]);
    const v2 = graph.get('v2');
    if (!v2) throw new Error('no v2');
    const levels = topologicalLevels(v2, [
      'shot_quality',
      'core_depth_midas',
      'core_face_landmarks',
      'cut_detection',
      'segmenter',
    ]);
    expect(levels[0]).toEqual(['segmenter']);
    expect(levels.at(-1)).toEqual(['shot_quality']);
  });
});

describe('graph validation', () => {
  const node = (deps: string[]) => `{ processor: visual, kind: module, depends_on: [${deps.join(', ')}] }`;
  const file = (components: Record<string, string>, extra = '') =>
    `version: 1\ngenerations:\n  g:\n    status: active\n    description: test\n${extra}    components:\n${Object.entries(
      components,
    )
      .map(([k, v]) => `      ${k}: ${v}`)
      .join('\n')}\n`;

  it('rejects a dependency the generation lacks', () => {
    expect(codeOf(() => parseGraph(file({ a: node(['missing']) })))).toMatch(
      /CONTRACT_VIOLATION: .*a depends on missing, which the generation lacks/,
    );
  });

  it('rejects a cycle and names its members', () => {
    expect(codeOf(() => parseGraph(file({ a: node(['b']), b: node(['a']), c: node([]) })))).toMatch(
      /CONTRACT_VIOLATION: .*cycle joins a, b/,
    );
  });

  it('rejects an unknown generation to extend, an unknown field and a bad kind', () => {
    expect(codeOf(() => parseGraph(file({ a: node([]) }, '    extends: nowhere\n')))).toMatch(
      /extends unknown generation "nowhere"/,
    );
    expect(
      codeOf(() => parseGraph(file({ a: '{ processor: visual, kind: module, depends_on: [], extra: 1 }' }))),
    ).toMatch(/CONTRACT_VIOLATION/);
    expect(
      codeOf(() => parseGraph(file({ a: '{ processor: visual, kind: gadget, depends_on: [] }' }))),
    ).toMatch(/CONTRACT_VIOLATION/);
  });

  it('flags code and graph that disagree', () => {
    const graph = parseGraph(
      `version: 1\ngenerations:\n  g:\n    status: active\n    description: t\n    components:\n      segmenter: { processor: segmenter, kind: segmenter, depends_on: [] }\n      cut_detection: { processor: audio, kind: audio, depends_on: [segmenter] }\n      ghost: { processor: visual, kind: core, depends_on: [segmenter] }\n`,
    );
    const generation = graph.get('g');
    if (!generation) throw new Error('no g');
    const problems = checkAgainstRegistry(generation, COMPONENTS);
    expect(problems).toContain('cut_detection: graph says processor audio, code says visual');
    expect(problems).toContain('cut_detection: graph says kind audio, code says module');
    expect(problems.some((p) => p.startsWith('ghost is in active generation'))).toBe(true);
  });
});
