// Webhook deliveries (R-SVC-3): an event is queued (it survives a restart) and delivered by the
// queue's delivery worker: signed at send time (fresh timestamp), sent to the address the SSRF
// guard checked, never following redirects. 2xx is delivered; 408, 429, 5xx and network errors
// are retried with exponential backoff and jitter; anything else (a refused URL, 3xx, 4xx) is
// rejected for good.
import { randomUUID } from 'node:crypto';
import { toDataProcessorError } from '../../contracts/index.js';
import type { JobRecord, WebhookBody } from '../contracts.js';
import type { Delivery, DeliveryResult, JobQueue } from '../queue/port.js';
import { sendGuarded } from './outbound.js';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, signWebhook } from './signature.js';
import type { SsrfGuard } from './ssrf.js';

/** Queues the webhook for a job's new state, if the job has a callback_url. */
export async function enqueueStateWebhook(
  queue: JobQueue,
  job: JobRecord,
  state: WebhookBody['data']['state'],
): Promise<void> {
  const url = job.payload.callback_url;
  if (!url || state === 'queued') return;
  const body: WebhookBody = {
    id: `evt_${randomUUID()}`,
    type: `run.${state}`,
    created_at: new Date().toISOString(),
    data: {
      run_id: job.runId,
      platform_id: job.platformId,
      video_id: job.videoId,
      state,
      error_code: state === 'error' ? (job.errorCode ?? 'INTERNAL') : null,
    },
  };
  await queue.enqueueDelivery({ id: body.id, jobId: job.id, url, body: JSON.stringify(body) });
}

export interface SenderOptions {
  guard: SsrfGuard;
  /** Current secret first; during a rotation also the previous one. */
  secrets: readonly string[];
  /** @defaultValue 10000 */
  timeoutMs?: number;
  onAttempt?: (delivery: Delivery, result: DeliveryResult, detail: string) => void;
}

/** One delivery attempt; the queue turns `retry` into a backoff. */
export function webhookSender(options: SenderOptions): (delivery: Delivery) => Promise<DeliveryResult> {
  return async (delivery) => {
    let result: DeliveryResult;
    let detail: string;
    try {
      // Checked again at connect time: DNS may have changed since registration.
      const target = await options.guard.check(delivery.url);
      const response = await sendGuarded(target, {
        method: 'POST',
        body: delivery.body,
        timeoutMs: options.timeoutMs ?? 10_000,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'dataprocessor-webhooks',
          [SIGNATURE_HEADER]: signWebhook(delivery.body, options.secrets),
          [EVENT_ID_HEADER]: delivery.id,
        },
      });
      response.resume();
      const status = response.statusCode ?? 0;
      detail = `HTTP ${status}`;
      result =
        status >= 200 && status < 300
          ? 'delivered'
          : status === 408 || status === 429 || status >= 500
            ? 'retry'
            : 'rejected';
    } catch (error) {
      const failure = toDataProcessorError(error);
      detail = failure.code;
      result = failure.code === 'INPUT_INVALID' ? 'rejected' : 'retry';
    }
    options.onAttempt?.(delivery, result, detail);
    return result;
  };
}
