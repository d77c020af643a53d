// The one way the service opens a connection on a user's behalf (webhooks, `video_url`): the
// URL is checked by the SSRF guard first, the socket goes to the checked address only, redirects
// are answers (never followed), and bodies are size-capped.
import { createWriteStream } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { DataProcessorError } from '../../contracts/index.js';
import type { CheckedTarget, SsrfGuard } from './ssrf.js';

export interface OutboundOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Whole request, connect to last byte. @defaultValue 10000 */
  timeoutMs?: number;
}

/** Connects to `target.address` whatever the host name resolves to now (no DNS rebinding). */
function pinnedLookup(target: CheckedTarget): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  }) as unknown as LookupFunction;
}

/** Sends one request to a checked target; the caller reads (or discards) the response. */
export function sendGuarded(target: CheckedTarget, options: OutboundOptions = {}): Promise<IncomingMessage> {
  const request = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target.url,
      {
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        lookup: pinnedLookup(target),
        timeout: options.timeoutMs ?? 10_000,
      },
      resolve,
    );
    req.on('timeout', () =>
      req.destroy(new DataProcessorError('TIMEOUT', 'the remote host did not answer in time')),
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Downloads `url` to `destination` (R-SVC-2 `video_url`): guard first, no redirects, at most
 * `maxBytes`. INPUT_INVALID for a refused URL, a redirect, a non-2xx answer or a too-large body.
 */
export async function downloadGuarded(
  guard: SsrfGuard,
  url: string,
  destination: string,
  options: { maxBytes: number; timeoutMs?: number },
): Promise<number> {
  const target = await guard.check(url);
  const response = await sendGuarded(target, { timeoutMs: options.timeoutMs ?? 60_000 });
  const status = response.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    response.resume();
    throw new DataProcessorError(
      'INPUT_INVALID',
      status >= 300 && status < 400
        ? `video_url answered with a redirect (${status}); redirects are not followed`
        : `video_url answered HTTP ${status}`,
    );
  }
  let bytes = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > options.maxBytes)
        callback(
          new DataProcessorError('INPUT_INVALID', `video_url is larger than ${options.maxBytes} bytes`),
        );
      else callback(null, chunk);
    },
  });
  await pipeline(response, cap, createWriteStream(destination));
  return bytes;
}
