// Public surface of the service (R-SVC, R-SEC-3..5, R-BAT-4): HTTP API, queue adapters, API keys,
// webhooks (sender, verifier, SSRF guard), health, metrics, cross-video batching.
export { startService, startWorker, openQueue, type ServiceOptions, type RunningService } from './server.js';
export { buildApi, type ApiOptions } from './api.js';
export { ApiKeyStore, ROLES, roleAllows, type ApiKeyInfo, type Role } from './auth.js';
export {
  JOB_STATES,
  submitRunSchema,
  runStatusSchema,
  queueSummarySchema,
  webhookBodySchema,
  type JobRecord,
  type JobState,
  type RunStatus,
  type QueueSummary,
  type SubmitRun,
  type WebhookBody,
} from './contracts.js';
export type { RunExecutor, CompiledRun, RunSubmission, ExecutionResult } from './executor.js';
export { orchestratorExecutor } from './orchestrator-executor.js';
export { ServiceMetrics } from './metrics.js';
export { runHealthChecks, type HealthCheck, type HealthReport } from './health.js';
export { createLogger } from './logging.js';
export { SqliteJobQueue } from './queue/sqlite.js';
export {
  jobIdOf,
  backoffMs,
  type JobQueue,
  type JobHandler,
  type WorkerHandle,
  type WorkerInfo,
} from './queue/port.js';
export { SsrfGuard, unmapIpv4, type SsrfGuardOptions } from './webhooks/ssrf.js';
export {
  signWebhook,
  verifyWebhook,
  ReplayGuard,
  WebhookVerificationError,
  SIGNATURE_HEADER,
  EVENT_ID_HEADER,
} from './webhooks/signature.js';
export { webhookSender } from './webhooks/sender.js';
