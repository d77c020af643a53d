// Webhook signatures (R-SEC-4): `DataProcessor-Signature: t=<unix>,v1=<hex>[,v1=<hex>]` where each
// v1 is HMAC-SHA256(secret, "<t>.<raw body>"). During a key rotation the sender signs with both
// secrets; a receiver accepts a delivery when any v1 matches any secret it holds, the timestamp is
// within the tolerance (300 s) and the event id was not seen before. Receivers import
// `verifyWebhook` and `ReplayGuard` (docs/SERVICE.md shows a complete receiver).
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'dataprocessor-signature';
export const EVENT_ID_HEADER = 'dataprocessor-event-id';
/** @defaultValue 300 s, R-SEC-4 */
export const DEFAULT_TOLERANCE_SEC = 300;

function hmacHex(secret: string, timestamp: number, rawBody: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

/** The signature header for `rawBody`, signed with every secret given (current first). */
export function signWebhook(
  rawBody: string,
  secrets: readonly string[],
  timestampSec = Math.floor(Date.now() / 1000),
): string {
  if (secrets.length === 0) throw new Error('at least one webhook secret is needed');
  return [`t=${timestampSec}`, ...secrets.map((s) => `v1=${hmacHex(s, timestampSec, rawBody)}`)].join(',');
}

export type VerificationFailure = 'malformed' | 'signature' | 'timestamp' | 'replay';

/** A rejected delivery; `reason` is stable for receivers' logs and tests. */
export class WebhookVerificationError extends Error {
  constructor(readonly reason: VerificationFailure) {
    super(`webhook rejected: ${reason}`);
    this.name = 'WebhookVerificationError';
  }
}

/** Remembers event ids for the tolerance window, so a replayed delivery is refused. */
export class ReplayGuard {
  readonly #seen = new Map<string, number>();
  constructor(private readonly windowSec = DEFAULT_TOLERANCE_SEC * 2) {}

  /** True the first time `eventId` is offered within the window. */
  firstSeen(eventId: string, nowSec = Math.floor(Date.now() / 1000)): boolean {
    for (const [id, at] of this.#seen) if (nowSec - at > this.windowSec) this.#seen.delete(id);
    if (this.#seen.has(eventId)) return false;
    this.#seen.set(eventId, nowSec);
    return true;
  }
}

export interface VerifyOptions {
  rawBody: string | Buffer;
  signatureHeader: string | undefined;
  /** One or two secrets (during a rotation both are valid). */
  secrets: readonly string[];
  toleranceSec?: number;
  nowSec?: number;
  /** When given, the body's `id` must not have been seen before. */
  replay?: ReplayGuard;
}

/**
 * Verifies a delivery and returns its parsed body; throws WebhookVerificationError. Compares in
 * constant time; checks the signature before the timestamp so a forged header learns nothing.
 */
export function verifyWebhook(options: VerifyOptions): { id: string; type: string; [key: string]: unknown } {
  const parts = (options.signatureHeader ?? '').split(',').map((p) => p.trim().split('='));
  const timestamps = parts.filter(([k]) => k === 't').map(([, v]) => Number(v));
  const signatures = parts
    .filter(([k, v]) => k === 'v1' && /^[0-9a-f]{64}$/.test(v ?? ''))
    .map(([, v]) => v as string);
  const timestamp = timestamps[0];
  if (
    timestamps.length !== 1 ||
    timestamp === undefined ||
    !Number.isInteger(timestamp) ||
    signatures.length === 0
  )
    throw new WebhookVerificationError('malformed');
  const matches = options.secrets.some((secret) => {
    const expected = Buffer.from(hmacHex(secret, timestamp, options.rawBody), 'hex');
    return signatures.some((s) => timingSafeEqual(expected, Buffer.from(s, 'hex')));
  });
  if (!matches) throw new WebhookVerificationError('signature');
  const nowSec = options.nowSec ?? Math.floor(Date.now() / 1000);
  if (Math.abs(nowSec - timestamp) > (options.toleranceSec ?? DEFAULT_TOLERANCE_SEC))
    throw new WebhookVerificationError('timestamp');
  let body: unknown;
  try {
    body = JSON.parse(options.rawBody.toString());
  } catch {
    throw new WebhookVerificationError('malformed');
  }
  const id = (body as { id?: unknown }).id;
  if (typeof id !== 'string') throw new WebhookVerificationError('malformed');
  if (options.replay && !options.replay.firstSeen(id, nowSec)) throw new WebhookVerificationError('replay');
  return body as { id: string; type: string };
}
