import { availableParallelism, totalmem } from 'node:os';
import { z } from 'zod';

/**
 * How the orchestrator runs (R-ORC-1/3/5/6). None of these change results, so none is part of the
 * effective config or `config_hash`: two runs that differ only here give the same artifacts.
 */
export const orchestratorConfigSchema = z
  .object({
    /**
     * R-ORC-3: an artifact computed longer ago than this is not reused from the cache.
     * @defaultValue 3
     */
    cache_ttl_days: z.number().nonnegative().default(3),
    /**
     * At most this many components run at once.
     * @defaultValue the machine's available parallelism
     */
    max_parallel_components: z
      .number()
      .int()
      .positive()
      .default(() => availableParallelism()),
    /**
     * Components running at once declare at most this much memory (MiB) between them.
     * @defaultValue half the machine's memory
     */
    memory_budget_mb: z
      .number()
      .int()
      .positive()
      .default(() => Math.floor(totalmem() / 2 / 2 ** 20)),
    /**
     * Cores the run plans its engines for (one CPU budget: TFJS workers, ONNX Runtime intra-op
     * threads, ffmpeg threads; see src/models/cpu-budget.ts); the scheduler keeps at most this many
     * threads busy, a component that runs models on the CPU counting as all of them.
     * @defaultValue the machine's available parallelism
     */
    cpu_threads: z
      .number()
      .int()
      .positive()
      .default(() => availableParallelism()),
    /**
     * false leaves every engine at its own defaults (TFJS on the event loop, ONNX Runtime's
     * spinning per-core threads) and the scheduler without a CPU limit: the behaviour before the
     * CPU budget, kept for comparison in bench/e2e.ts. Results are the same either way.
     * @defaultValue true
     */
    plan_cpu: z.boolean().default(true),
    /**
     * R-ORC-6: retries of a component after a transient (retryable) error, with backoff.
     * @defaultValue 2
     */
    max_retries: z.number().int().nonnegative().max(10).default(2),
    /**
     * R-ORC-5: how long another run is expected to need for an artifact it is computing, before
     * the wait for it gives up (plus `dependency_grace_sec`) with DEPENDENCY_TIMEOUT.
     * @defaultValue 600
     */
    dependency_expected_sec: z.number().positive().default(600),
    /**
     * R-ORC-5 grace after the expected time.
     * @defaultValue 10
     */
    dependency_grace_sec: z.number().nonnegative().default(10),
  })
  .strict();
/** Effective orchestrator settings. */
export type OrchestratorConfig = z.infer<typeof orchestratorConfigSchema>;
