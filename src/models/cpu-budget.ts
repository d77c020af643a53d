// One CPU budget for a run (issue 17). Every engine sizes its threads by itself otherwise: ONNX
// Runtime starts one spinning intra-op thread per core for every session, TFJS's wasm backend runs
// on the event loop, ffmpeg starts a thread per core: on 2 cores, two components each asking for
// 2 threads oversubscribe and spin against each other. The plan gives the run's cores out once:
//  - TFJS models run in `tfjsWorkers` worker threads (one per core: they are the heaviest models
//    of the default profile and single-threaded each);
//  - each ONNX Runtime session gets `ortIntraOpThreads` threads (cores / 2, at least 1) without
//    spinning (a spinning thread burns the core another component is waiting for) and without
//    the CPU memory arena (it keeps the largest batch's peak for the life of the session);
//  - ffmpeg decodes with `ffmpegThreads` (it runs before the components, so all cores).
// The plan is process-wide, like the session cache it shapes: a session opened under one plan
// keeps its threads until it is released.
import { configureTfjsWorkers } from './runtimes/tfjs-pool.js';

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
    ortIntraOpThreads: Math.max(1, Math.floor(n / 2)),
    ortSpinning: false,
    ffmpegThreads: n,
  };
}

let current: CpuPlan | null = null;

/**
 * Applies `plan` to this process; `null` restores the engines' own defaults (TFJS on the event
 * loop, ONNX Runtime's per-core spinning threads): what runs did before the plan existed.
 */
export async function applyCpuPlan(plan: CpuPlan | null): Promise<void> {
  current = plan;
  await configureTfjsWorkers(plan?.tfjsWorkers ?? 0);
}

/** The plan in force, or null (engine defaults). */
export function currentCpuPlan(): CpuPlan | null {
  return current;
}
