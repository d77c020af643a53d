// One CPU budget for a run (issue 17). Every engine sizes its threads by itself otherwise: ONNX
// Runtime starts one spinning intra-op thread per core for every session, TFJS's wasm backend runs
// on the event loop, ffmpeg starts a thread per core: on 2 cores, two components each asking for
// 2 threads oversubscribe and spin against each other. The plan gives the run's cores out once:
//  - TFJS models run in `tfjsWorkers` worker threads (one per core: they are the heaviest models
//    of the default profile and single-threaded each);
//  - each ONNX Runtime session gets `ortIntraOpThreads` threads (every core: the scheduler runs a
//    component that calls models on the CPU alone, see stageCpuThreads in the orchestrator) without
//    spinning (a spinning thread burns a core that a worker thread or ffmpeg is waiting for);
//  - the scheduler counts such a component as `cores` threads, so two of them never run against
//    each other (measured on 2 cores: 89 s wall side by side, 43 s one after the other, for the
//    same 30 s video), and TFJS calls of one component go to every worker at once;
//  - ffmpeg decodes with `ffmpegThreads` (it runs before the components, so all cores).
// The plan is process-wide, like the session cache it shapes: a session opened under one plan
// keeps its threads until it is released.
import { configureTfjsWorkers, startTfjsWorkers } from './runtimes/tfjs-pool.js';

/** How the run's cores are shared between the engines. */
export interface CpuPlan {
  cores: number;
  tfjsWorkers: number;
  ortIntraOpThreads: number;
  ortSpinning: boolean;
  ffmpegThreads: number;
}

/** The plan for `cores` cores (see the file header for why each number). */
export function planCpu(cores: number): CpuPlan {
  const n = Math.max(1, Math.floor(cores));
  return {
    cores: n,
    tfjsWorkers: n,
    ortIntraOpThreads: n,
    ortSpinning: false,
    ffmpegThreads: n,
  };
}

let current: CpuPlan | null = null;

/**
 * Applies `plan` to this process; `null` restores the engines' own defaults (TFJS on the event
 * loop, ONNX Runtime's per-core spinning threads): what runs did before the plan existed.
 * `warmTfjs`: the run will call TFJS models, so the pool's workers start now (their TFJS imports
 * overlap the Segmenter) instead of at the first TFJS session.
 */
export async function applyCpuPlan(
  plan: CpuPlan | null,
  options: { warmTfjs?: boolean } = {},
): Promise<void> {
  current = plan;
  await configureTfjsWorkers(plan?.tfjsWorkers ?? 0);
  if (plan && options.warmTfjs) startTfjsWorkers();
}

/** The plan in force, or null (engine defaults). */
export function currentCpuPlan(): CpuPlan | null {
  return current;
}
