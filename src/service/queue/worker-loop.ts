// The polling worker loop of the embedded queue: claim up to `concurrency` items, renew their
// leases while they run, abort them when they are cancelled or their lease is lost, and on a
// graceful close wait for them up to a deadline before handing them back.
import type { RunProgress } from '../contracts.js';
import type { JobContext, JobOutcome, WorkerHandle } from './port.js';

type MaybePromise<T> = T | Promise<T>;

export interface WorkerLoopSpec<T extends { id: string }> {
  concurrency: number;
  pollMs: number;
  /** 0: no heartbeat. */
  heartbeatMs: number;
  /**
   * Takes the next item, or null. `joinCohort` is true for the further claims of a tick that
   * already took one: the queue may then hand out items still in their buffer window (R-BAT-4).
   */
  claim(joinCohort: boolean): MaybePromise<T | null>;
  heartbeat(item: T): MaybePromise<{ held: boolean; cancelRequested: boolean }>;
  handler(item: T, context: JobContext): Promise<JobOutcome | null>;
  reportProgress(item: T, progress: RunProgress, videoId: string | null): MaybePromise<void>;
  finish(item: T, outcome: JobOutcome): MaybePromise<void>;
  afterFinish(item: T): MaybePromise<void>;
  handBack(item: T): MaybePromise<void>;
  onError?: (error: unknown) => void;
}

/** Why a running item was aborted; the outcome recorded follows from it. */
type AbortCause = 'cancelled' | 'lease-lost' | 'shutdown';

export function runWorkerLoop<T extends { id: string }>(spec: WorkerLoopSpec<T>): WorkerHandle {
  const active = new Map<string, { item: T; promise: Promise<void>; handBack: () => void }>();
  let closing = false;
  let ticking = false;
  const report = spec.onError ?? (() => undefined);

  const start = (item: T): void => {
    const controller = new AbortController();
    let cause: AbortCause | null = null;
    const abort = (why: AbortCause): void => {
      if (cause) return;
      cause = why;
      controller.abort(new Error(`job ${why}`));
    };
    const beat =
      spec.heartbeatMs > 0
        ? setInterval(() => {
            void (async () => {
              const state = await spec.heartbeat(item);
              if (!state.held) abort('lease-lost');
              else if (state.cancelRequested) abort('cancelled');
            })().catch(report);
          }, spec.heartbeatMs)
        : null;
    const context: JobContext = {
      signal: controller.signal,
      reportProgress: async (progress, videoId) => {
        if (!cause) await spec.reportProgress(item, progress, videoId);
      },
    };
    const promise = (async () => {
      let outcome: JobOutcome | null;
      try {
        outcome = await spec.handler(item, context);
      } catch (error) {
        outcome = {
          state: 'error',
          videoId: null,
          errorCode: 'INTERNAL',
          errorMessage: error instanceof Error ? error.message : String(error),
        };
      }
      if (beat) clearInterval(beat);
      // A shut-down or lost job belongs to the queue again; a cancelled one ends `cancelled`
      // unless it had already finished ok.
      if (cause === 'shutdown' || cause === 'lease-lost') return;
      if (cause === 'cancelled' && outcome?.state !== 'ok') {
        outcome = {
          state: 'cancelled',
          videoId: outcome?.videoId ?? null,
          errorCode: null,
          errorMessage: null,
        };
      }
      if (outcome) {
        await spec.finish(item, outcome);
        await spec.afterFinish(item);
      }
    })()
      .catch(report)
      .finally(() => {
        active.delete(item.id);
        void tick();
      });
    active.set(item.id, { item, promise, handBack: () => abort('shutdown') });
  };

  const tick = async (): Promise<void> => {
    if (ticking || closing) return;
    ticking = true;
    try {
      let taken = 0;
      while (!closing && active.size < spec.concurrency) {
        const item = await spec.claim(taken > 0);
        if (!item) break;
        start(item);
        taken += 1;
      }
    } catch (error) {
      report(error);
    } finally {
      ticking = false;
    }
  };

  const timer = setInterval(() => void tick(), spec.pollMs);
  void tick();

  return {
    async close(deadlineMs = 30_000) {
      closing = true;
      clearInterval(timer);
      const all = (): Promise<unknown> => Promise.all([...active.values()].map((a) => a.promise));
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([all(), new Promise((resolve) => (timeout = setTimeout(resolve, deadlineMs)))]);
      clearTimeout(timeout);
      if (active.size === 0) return;
      // Past the deadline: abort what still runs, give it a moment to stop writing, and give it
      // back to the queue (the next worker resumes it; finished stages are kept).
      const left = [...active.values()];
      for (const run of left) run.handBack();
      await Promise.race([all(), new Promise((resolve) => (timeout = setTimeout(resolve, 5000)))]);
      clearTimeout(timeout);
      for (const run of left) await Promise.resolve(spec.handBack(run.item)).catch(report);
    },
  };
}
