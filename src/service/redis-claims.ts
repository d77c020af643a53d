// Stage claims through Redis (R-ORC-5 across hosts): one computation per idempotency key at a time.
// The store's file locks exclude processes of one host only; with workers on several hosts the
// claim is a Redis key set with NX and a TTL the holder renews, so a dead holder's claim lapses
// within one TTL. Release and renewal compare the holder's token (Lua), never another's.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { StorageError, validateId } from '../contracts/index.js';
import type { ClaimPort } from '../storage/index.js';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export interface RedisClaimOptions {
  /** @defaultValue 'dataprocessor' */
  prefix?: string;
  /** A claim lapses this long after its holder stopped renewing it. @defaultValue 30000 */
  ttlMs?: number;
  /** @defaultValue 200 */
  pollMs?: number;
}

export class RedisClaims implements ClaimPort {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #pollMs: number;

  constructor(url: string, options: RedisClaimOptions = {}) {
    this.#redis = new Redis(url, { maxRetriesPerRequest: null });
    this.#redis.on('error', () => undefined);
    this.#prefix = options.prefix ?? 'dataprocessor';
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#pollMs = options.pollMs ?? 200;
  }

  async withClaim<T>(
    scope: { platformId: string; videoId: string },
    key: string,
    fn: () => Promise<T>,
    options: { timeoutMs: number },
  ): Promise<T> {
    validateId('claim key', key);
    const name = `${this.#prefix}:claim:${scope.platformId}:${scope.videoId}:${key}`;
    const token = randomBytes(16).toString('hex');
    const deadline = Date.now() + options.timeoutMs;
    while ((await this.#redis.set(name, token, 'PX', this.#ttlMs, 'NX')) !== 'OK') {
      if (Date.now() > deadline)
        throw new StorageError(
          `stage ${key.slice(0, 12)}… is claimed by another worker (waited ${options.timeoutMs} ms)`,
        );
      await new Promise((resolve) => setTimeout(resolve, this.#pollMs));
    }
    const renew = setInterval(
      () => {
        void this.#redis.eval(RENEW, 1, name, token, String(this.#ttlMs)).catch(() => undefined);
      },
      Math.max(50, Math.floor(this.#ttlMs / 3)),
    );
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      await this.#redis.eval(RELEASE, 1, name, token).catch(() => undefined);
    }
  }

  close(): void {
    this.#redis.disconnect();
  }
}
