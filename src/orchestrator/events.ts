import type { ComponentStatus, ErrorCode } from '../contracts/index.js';

/** Progress and state events of one run; the CLI's display is derived from these. */
export type RunEvent =
  | { type: 'run_started'; run_dir: string; run_id: string; video_id: string; stages: string[] }
  | { type: 'stage_started'; stage: string }
  | { type: 'stage_progress'; stage: string; done: number; total: number }
  | {
      type: 'stage_finished';
      stage: string;
      status: ComponentStatus;
      duration_ms: number;
      error_code: ErrorCode | null;
      error: string | null;
      notes: string | null;
      /** Served from the cache (R-ORC-3) or kept from before an interruption, not computed now. */
      cache_hit?: boolean;
    }
  | { type: 'run_finished'; run_dir: string; status: 'ok' | 'error' | 'skipped'; duration_ms: number };

export type RunEventListener = (event: RunEvent) => void;
