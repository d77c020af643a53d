// Webhooks (R-SVC-3, R-SEC-4): the SSRF guard's decisions (taken before any connection; names go
// through a stub resolver, so nothing but loopback is ever contacted), no redirects, signatures
// checked by the receivers' helper (tampered body, stale timestamp, replay, key rotation),
// retries with backoff that survive a restart, and the deliveries of a real run.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProfileStore, type Profile } from '../src/orchestrator/index.js';
import {
  ApiKeyStore,
  ReplayGuard,
  SqliteJobQueue,
  SsrfGuard,
  WebhookVerificationError,
  createLogger,
  signWebhook,
  startService,
  verifyWebhook,
  type RunningService,
} from '../src/service/index.js';
import { webhookSender } from '../src/service/index.js';
import { makeShotVideo, makeTempDir } from './support/media.js';
import { waitFor } from './support/service.js';

const SECRET = 'whsec_current_0123456789abcdef';
const OLD_SECRET = 'whsec_previous_fedcba9876543210';
const CANARY = 'CANARY-webhook-5d1c0e';

interface Received {
  body: string;
  signature: string | undefined;
  eventId: string | undefined;
}

/** A loopback receiver answering with the statuses given in turn (then 200). */
async function receiver(
  statuses: number[] = [],
): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        body: Buffer.concat(chunks).toString('utf8'),
        signature: req.headers['dataprocessor-signature'] as string | undefined,
        eventId: req.headers['dataprocessor-event-id'] as string | undefined,
      });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

describe('SSRF guard', () => {
  // Names resolve through this stub only: the test never asks DNS and never connects.
  const names: Record<string, string[]> = {
    'loopback.example': ['127.0.0.1'],
    'mixed.example': ['93.184.216.34', '10.1.2.3'],
    'public.example': ['93.184.216.34'],
    'mapped.example': ['::ffff:192.168.0.10'],
  };
  const resolve = (host: string): Promise<{ address: string; family: number }[]> =>
    Promise.resolve(
      (names[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  const guard = new SsrfGuard({ resolve });
  const refused = async (url: string): Promise<string> => {
    try {
      await guard.check(url);
      return 'allowed';
    } catch (error) {
      return (error as { code?: string }).code ?? 'thrown';
    }
  };

  it('refuses private, loopback, link-local, IPv4-mapped and numeric-encoded addresses', async () => {
    for (const url of [
      'http://127.0.0.1/hook',
      'http://10.0.0.1/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://[::ffff:7f00:1]/hook',
      'http://2130706433/hook',
      'http://0x7f.1/hook',
      'http://017700000001/hook',
      'http://127.1/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://192.168.1.20/',
      'http://172.16.5.4/',
      'http://100.64.0.1/',
      'http://0.0.0.0/',
      'http://[::1]/',
      'http://[fe80::1]/',
      'http://[fd00::1]/',
      'http://loopback.example/',
      'http://mixed.example/',
      'http://mapped.example/',
      'http://unknown.example/',
      'ftp://public.example/',
      'http://user:pass@public.example/',
    ])
      expect(await refused(url), url).toBe('INPUT_INVALID');
  });

  it('allows public addresses, and private ones only when allow-listed', async () => {
    expect(await refused('https://public.example/hook')).toBe('allowed');
    expect(await refused('http://93.184.216.34/hook')).toBe('allowed');
    const target = await guard.check('https://public.example/hook');
    expect(target.address).toBe('93.184.216.34');
    const allowing = new SsrfGuard({ resolve, allow: ['127.0.0.1', '10.0.0.0/8'] });
    expect((await allowing.check('http://2130706433/hook')).address).toBe('127.0.0.1');
    expect((await allowing.check('http://[::ffff:127.0.0.1]/hook')).address).toBe('127.0.0.1');
    expect((await allowing.check('http://10.0.0.1/hook')).address).toBe('10.0.0.1');
    await expect(allowing.check('http://192.168.0.1/')).rejects.toThrow(/refused/);
  });

  it('never follows a redirect, even to an allow-listed loopback address', async () => {
    const target = await receiver();
    const redirector = createServer((_req, res) => res.writeHead(302, { location: target.url }).end());
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    const send = webhookSender({ guard: new SsrfGuard({ allow: ['127.0.0.1'] }), secrets: [SECRET] });
    const url = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/`;
    expect(await send({ id: 'evt_r', jobId: 'j', url, body: '{"id":"evt_r"}', attempts: 1 })).toBe(
      'rejected',
    );
    expect(target.received).toHaveLength(0);
    // Without the allow-list the loopback receiver is not even connected to.
    const strict = webhookSender({ guard: new SsrfGuard(), secrets: [SECRET] });
    expect(
      await strict({ id: 'evt_s', jobId: 'j', url: target.url, body: '{"id":"evt_s"}', attempts: 1 }),
    ).toBe('rejected');
    expect(target.received).toHaveLength(0);
    await close(redirector);
    await close(target.server);
  });
});

describe('webhook signatures', () => {
  const body = JSON.stringify({ id: 'evt_1', type: 'run.ok', data: { run_id: 'r' } });
  const now = 1_800_000_000;

  it('verifies a signed body and rejects a tampered body, a stale timestamp and a replay', () => {
    const header = signWebhook(body, [SECRET], now);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    const replay = new ReplayGuard();
    expect(
      verifyWebhook({ rawBody: body, signatureHeader: header, secrets: [SECRET], nowSec: now, replay }).id,
    ).toBe('evt_1');
    const reason = (fn: () => unknown): string => {
      try {
        fn();
        return 'accepted';
      } catch (error) {
        return (error as WebhookVerificationError).reason;
      }
    };
    expect(
      reason(() =>
        verifyWebhook({ rawBody: body, signatureHeader: header, secrets: [SECRET], nowSec: now, replay }),
      ),
    ).toBe('replay');
    expect(
      reason(() =>
        verifyWebhook({
          rawBody: body.replace('run.ok', 'run.error'),
          signatureHeader: header,
          secrets: [SECRET],
          nowSec: now,
        }),
      ),
    ).toBe('signature');
    expect(
      reason(() =>
        verifyWebhook({ rawBody: body, signatureHeader: header, secrets: [SECRET], nowSec: now + 301 }),
      ),
    ).toBe('timestamp');
    expect(
      reason(() =>
        verifyWebhook({ rawBody: body, signatureHeader: header, secrets: [SECRET], nowSec: now - 301 }),
      ),
    ).toBe('timestamp');
    expect(
      reason(() =>
        verifyWebhook({ rawBody: body, signatureHeader: header, secrets: [SECRET], nowSec: now + 299 }),
      ),
    ).toBe('accepted');
    expect(
      reason(() =>
        verifyWebhook({ rawBody: body, signatureHeader: undefined, secrets: [SECRET], nowSec: now }),
      ),
    ).toBe('malformed');
    // A signature for another timestamp does not verify with this one.
    const moved = header.replace('t=1800000000', `t=${now + 10}`);
    expect(
      reason(() => verifyWebhook({ rawBody: body, signatureHeader: moved, secrets: [SECRET], nowSec: now })),
    ).toBe('signature');
  });

  it('accepts either of two secrets during a rotation', () => {
    const header = signWebhook(body, [SECRET, OLD_SECRET], now);
    expect(header.split(',')).toHaveLength(3);
    for (const secrets of [[SECRET], [OLD_SECRET], ['other', OLD_SECRET]])
      expect(verifyWebhook({ rawBody: body, signatureHeader: header, secrets, nowSec: now }).id).toBe(
        'evt_1',
      );
    expect(() =>
      verifyWebhook({ rawBody: body, signatureHeader: header, secrets: ['other'], nowSec: now }),
    ).toThrow(WebhookVerificationError);
  });
});

describe('webhook deliveries', () => {
  const dir = makeTempDir('webhooks');

  it('retries with backoff (same event id) and survives a restart of the queue', async () => {
    const db = join(dir, 'retry.sqlite');
    const hook = await receiver([500, 503]);
    const guard = new SsrfGuard({ allow: ['127.0.0.1'] });
    let queue = SqliteJobQueue.open(db);
    await queue.enqueueDelivery({ id: 'evt_retry', jobId: 'j1', url: hook.url, body: '{"id":"evt_retry"}' });
    const outcomes: string[] = [];
    const options = {
      baseDelayMs: 200,
      maxAttempts: 5,
      pollMs: 50,
      onOutcome: (o: string) => outcomes.push(o),
    };
    let worker = queue.processDeliveries(webhookSender({ guard, secrets: [SECRET] }), options);
    await waitFor(
      'two failed attempts',
      () => Promise.resolve(hook.received.length >= 2 ? true : null),
      10_000,
    );
    // "Restart": the process stops between attempts; the next one reads the schedule from the database.
    await worker.close(1000);
    await queue.close();
    queue = SqliteJobQueue.open(db);
    expect(queue.deliveryStates()).toEqual({ pending: 1 });
    worker = queue.processDeliveries(webhookSender({ guard, secrets: [SECRET] }), options);
    await waitFor('delivery', () => Promise.resolve(outcomes.length > 0 ? true : null), 10_000);
    await worker.close(1000);
    expect(outcomes).toEqual(['delivered']);
    expect(hook.received).toHaveLength(3);
    expect(new Set(hook.received.map((r) => r.eventId))).toEqual(new Set(['evt_retry']));
    for (const r of hook.received)
      expect(verifyWebhook({ rawBody: r.body, signatureHeader: r.signature, secrets: [SECRET] }).id).toBe(
        'evt_retry',
      );
    expect(queue.deliveryStates()).toEqual({ delivered: 1 });
    await queue.close();
    await close(hook.server);
  });

  it('gives up after the attempts are used up', async () => {
    const queue = SqliteJobQueue.open(join(dir, 'fail.sqlite'));
    const hook = await receiver([500, 500, 500, 500]);
    const outcomes: string[] = [];
    await queue.enqueueDelivery({ id: 'evt_fail', jobId: 'j2', url: hook.url, body: '{"id":"evt_fail"}' });
    const worker = queue.processDeliveries(
      webhookSender({ guard: new SsrfGuard({ allow: ['127.0.0.1'] }), secrets: [SECRET] }),
      { baseDelayMs: 20, maxAttempts: 3, pollMs: 20, onOutcome: (o) => outcomes.push(o) },
    );
    await waitFor('final outcome', () => Promise.resolve(outcomes.length > 0 ? true : null), 10_000);
    await worker.close(1000);
    expect(outcomes).toEqual(['failed']);
    expect(hook.received).toHaveLength(3);
    await queue.close();
    await close(hook.server);
  });
});

describe('webhooks of a real run', () => {
  const dir = makeTempDir('webhook-run');
  const db = join(dir, 'service.sqlite');
  const video = join(dir, 'clip.mp4');
  const profile: Profile = {
    name: 'webhook-signals',
    description: 'fast signal components',
    generation: 'baseline',
    components: [{ name: 'loudness_extractor', required: true }],
  };
  let service: RunningService;
  let key: string;
  let hook: Awaited<ReturnType<typeof receiver>>;

  beforeAll(async () => {
    makeShotVideo(video, { width: 160, height: 90, shotSeconds: [6], toneDbfs: -20 });
    const profiles = ProfileStore.open(db);
    profiles.saveUserProfile(profile);
    profiles.close();
    const keys = ApiKeyStore.open(db);
    key = keys.create({ name: 'k', platformId: 'acme', role: 'admin' }).key;
    keys.close();
    hook = await receiver();
    service = await startService({
      databasePath: db,
      storeRoot: join(dir, 'store'),
      port: 0,
      allowedRoots: [dir],
      webhookSecrets: [SECRET, OLD_SECRET],
      outboundAllow: ['127.0.0.1'],
      bufferWindowMs: 0,
      logger: createLogger({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    await service?.close();
    if (hook) await close(hook.server);
  });

  const post = (body: Record<string, unknown>): Promise<Response> =>
    fetch(`${service.url}/api/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('refuses a callback_url naming a non-allow-listed private address at registration', async () => {
    for (const callback of ['http://10.0.0.1/hook', 'http://[::1]/hook', 'http://169.254.169.254/']) {
      const response = await post({ video_path: video, profile: profile.name, callback_url: callback });
      expect(response.status, callback).toBe(400);
      expect(((await response.json()) as { error_code: string }).error_code).toBe('INPUT_INVALID');
    }
    const list = await fetch(`${service.url}/api/runs`, { headers: { authorization: `Bearer ${key}` } });
    expect(((await list.json()) as { runs: unknown[] }).runs).toEqual([]);
  });

  it('sends signed running and ok events with ids and codes only', async () => {
    const response = await post({
      video_path: video,
      profile: profile.name,
      run_id: 'hooked',
      callback_url: hook.url,
      document: { comments: [{ text: CANARY }] },
    });
    expect(response.status).toBe(202);
    const events = await waitFor(
      'the ok webhook',
      () => {
        const parsed = hook.received.map(
          (r) => JSON.parse(r.body) as { type: string; data: { run_id: string } },
        );
        return Promise.resolve(
          parsed.some((e) => e.type === 'run.ok' && e.data.run_id === 'hooked') ? parsed : null,
        );
      },
      90_000,
    );
    const mine = events.filter((e) => e.data.run_id === 'hooked').map((e) => e.type);
    expect(mine).toEqual(['run.running', 'run.ok']);
    const replay = new ReplayGuard();
    for (const r of hook.received) {
      expect(r.body).not.toContain(CANARY);
      expect(r.body).not.toContain(dir);
      // Receivers holding only the previous secret still verify during the rotation.
      const parsed = verifyWebhook({
        rawBody: r.body,
        signatureHeader: r.signature,
        secrets: [OLD_SECRET],
        replay,
      });
      expect(parsed.id).toBe(r.eventId);
    }
    const metrics = await service.metrics.text();
    expect(metrics).toMatch(/^webhook_deliveries_total\{outcome="delivered"\} [1-9]/m);
    expect(metrics).not.toContain('127.0.0.1');
  });
});
