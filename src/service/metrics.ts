// Prometheus metrics (R-SVC-4) through prom-client. Labels are closed sets only — component names,
// statuses, error codes, outcomes — never run/video ids, URLs or text (R-SEC-5), so cardinality
// stays bounded and nothing private leaks into a scrape.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RunEvent } from '../orchestrator/index.js';
import { JOB_STATES } from './contracts.js';
import type { JobQueue } from './queue/port.js';

export interface StageFigures {
  name: string;
  batchSize: number | null;
  oomRetries: number;
}

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly queueLength: Gauge<'state'>;
  readonly componentDuration: Histogram<'component'>;
  readonly runsTotal: Counter<'status'>;
  readonly errorsTotal: Counter<'error_code'>;
  readonly cacheHitsTotal: Counter<'component'>;
  readonly batchSize: Histogram<'component' | 'scope'>;
  readonly batchVideos: Histogram<'component'>;
  readonly oomRetriesTotal: Counter<'component'>;
  readonly webhookDeliveriesTotal: Counter<'outcome'>;

  constructor(options: { queue?: JobQueue; defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const queue = options.queue;
    this.queueLength = new Gauge({
      name: 'queue_length',
      help: 'Jobs in the queue by state (queued includes jobs in the batch buffer window).',
      labelNames: ['state'],
      registers,
      async collect() {
        if (!queue) return;
        const counts = await queue.counts();
        for (const state of JOB_STATES) this.set({ state }, counts[state]);
      },
    });
    this.componentDuration = new Histogram({
      name: 'component_duration_seconds',
      help: 'Wall time of computed stages (cache hits excluded), by component.',
      labelNames: ['component'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    });
    this.runsTotal = new Counter({
      name: 'runs_total',
      help: 'Runs that reached a final state, by status.',
      labelNames: ['status'],
      registers,
    });
    this.errorsTotal = new Counter({
      name: 'errors_total',
      help: 'Errors by stable error_code (failed stages and failed runs).',
      labelNames: ['error_code'],
      registers,
    });
    this.cacheHitsTotal = new Counter({
      name: 'cache_hits_total',
      help: 'Stages served from the idempotency cache or kept on resume, by component.',
      labelNames: ['component'],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'batch_size',
      help: 'Batch sizes: per component run (scope="video") and per cross-video batch (scope="cross_video").',
      labelNames: ['component', 'scope'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    });
    this.batchVideos = new Histogram({
      name: 'batch_videos',
      help: 'Distinct videos in each cross-video model batch (R-BAT-4; capped by --max-videos-per-batch).',
      labelNames: ['component'],
      buckets: [1, 2, 3, 4, 6, 8, 16],
      registers,
    });
    this.oomRetriesTotal = new Counter({
      name: 'oom_retries_total',
      help: 'Batch retries after an out-of-memory error, by component.',
      labelNames: ['component'],
      registers,
    });
    this.webhookDeliveriesTotal = new Counter({
      name: 'webhook_deliveries_total',
      help: 'Webhook attempts and final outcomes: attempt_ok, attempt_retry, delivered, failed, rejected.',
      labelNames: ['outcome'],
      registers,
    });
  }

  /** Feeds a run's event into the metrics. */
  observeRunEvent(event: RunEvent): void {
    if (event.type !== 'stage_finished') return;
    if (event.cache_hit) this.cacheHitsTotal.inc({ component: event.stage });
    else if (event.status !== 'skipped')
      this.componentDuration.observe({ component: event.stage }, event.duration_ms / 1000);
    if (event.error_code) this.errorsTotal.inc({ error_code: event.error_code });
  }

  /** Per-stage figures known when a run ends (from its manifest). */
  observeStages(stages: readonly StageFigures[]): void {
    for (const stage of stages) {
      if (stage.batchSize !== null)
        this.batchSize.observe({ component: stage.name, scope: 'video' }, stage.batchSize);
      if (stage.oomRetries > 0) this.oomRetriesTotal.inc({ component: stage.name }, stage.oomRetries);
    }
  }

  /** A merged cross-video model batch (R-BAT-4): its units and its distinct videos. */
  observeCrossVideoBatch(batch: { component: string; videos: number; units: number }): void {
    this.batchSize.observe({ component: batch.component, scope: 'cross_video' }, batch.units);
    this.batchVideos.observe({ component: batch.component }, batch.videos);
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
