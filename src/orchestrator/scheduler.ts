import { DataProcessorError } from '../contracts/index.js';

/** One node the scheduler runs: its dependencies and what it costs while it runs. */
export interface ScheduledNode {
  name: string;
  /** Nodes (of this schedule) that must finish first. */
  dependsOn: readonly string[];
  /** Memory the node holds while it runs (MiB), from its resource profile (R-BAT-2). */
  memoryMb: number;
  /** CPU threads the node keeps busy while it runs (the run's CPU budget). @defaultValue 1 */
  cpuThreads?: number;
}

/** Limits of one run's scheduler (R-ORC-1: concurrency within resource limits). */
export interface SchedulerLimits {
  /** At most this many nodes run at once. */
  maxParallel: number;
  /** The nodes running at once hold at most this much memory (MiB); one node always may run. */
  memoryBudgetMb: number;
  /**
   * The nodes running at once keep at most this many CPU threads busy (one node always may run):
   * on 2 cores, two components that each use both cores run one after the other, not against
   * each other. @defaultValue no limit
   */
  cpuThreads?: number;
}

/**
 * Runs every node once its dependencies have finished — not level by level, so a slow component
 * never holds back one that does not depend on it — with at most `maxParallel` nodes and
 * `memoryBudgetMb` of declared memory in flight. Ready nodes start in the order given (the graph's
 * topological order), so a run is reproducible. `run` must not throw (a node's failure is its
 * result); its results are returned by name.
 */
export async function runScheduled<T>(
  nodes: readonly ScheduledNode[],
  limits: SchedulerLimits,
  run: (node: ScheduledNode) => Promise<T>,
): Promise<Map<string, T>> {
  const names = new Set(nodes.map((n) => n.name));
  for (const node of nodes) {
    const unknown = node.dependsOn.filter((d) => !names.has(d));
    if (unknown.length > 0)
      throw new DataProcessorError(
        'INTERNAL',
        `scheduler: ${node.name} depends on ${unknown.join(', ')}, not scheduled`,
      );
  }
  const results = new Map<string, T>();
  const pending = [...nodes];
  const running = new Map<string, Promise<void>>();
  let memoryInFlight = 0;
  let cpuInFlight = 0;
  const cpuLimit = limits.cpuThreads ?? Number.POSITIVE_INFINITY;
  const cpuOf = (node: ScheduledNode): number => node.cpuThreads ?? 1;
  const maxParallel = Math.max(1, Math.floor(limits.maxParallel));

  const startReady = (): void => {
    for (let i = 0; i < pending.length && running.size < maxParallel;) {
      const node = pending[i] as ScheduledNode;
      const ready = node.dependsOn.every((d) => results.has(d));
      const fits =
        running.size === 0 ||
        (memoryInFlight + node.memoryMb <= limits.memoryBudgetMb && cpuInFlight + cpuOf(node) <= cpuLimit);
      if (!ready || !fits) {
        i += 1;
        continue;
      }
      pending.splice(i, 1);
      memoryInFlight += node.memoryMb;
      cpuInFlight += cpuOf(node);
      running.set(
        node.name,
        run(node).then((result) => {
          results.set(node.name, result);
          running.delete(node.name);
          memoryInFlight -= node.memoryMb;
          cpuInFlight -= cpuOf(node);
        }),
      );
    }
  };

  startReady();
  while (running.size > 0) {
    await Promise.race(running.values());
    startReady();
  }
  if (pending.length > 0) {
    throw new DataProcessorError(
      'INTERNAL',
      `scheduler: ${pending.map((n) => n.name).join(', ')} could never start (dependency cycle)`,
    );
  }
  return results;
}
