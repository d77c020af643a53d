// The process-wide cache of opened model sessions (R-MOD, issue 11 item 6). Loading a model costs
// seconds and its weights should exist once per process, so sessions are shared by every access;
// but a long-lived worker that runs many profiles must not keep every model it ever loaded. The
// cache is an LRU bounded by bytes: each session is charged the size of its model files (the
// weights ONNX Runtime and TFJS hold; an estimate, not a measurement), and opening one that does
// not fit first disposes the least recently used idle sessions. A session in use (an `infer` in
// flight) is never disposed under its caller: it is disposed when the call ends. `release(key)` and
// `releaseAll()` free sessions explicitly (a service between profiles, tests).
import { totalmem } from 'node:os';
import type { EngineSession } from './runtimes/types.js';

/** Options of the session cache; every field has a default. */
export interface SessionCacheOptions {
  /**
   * Upper bound of the bytes charged to open sessions. One model larger than the bound is still
   * opened (alone). @defaultValue `$DATAPROCESSOR_MODEL_CACHE_MIB` MiB, else a quarter of the
   * machine's memory, at most 4 GiB
   */
  maxBytes?: number;
}

/** What the cache holds now and has done (observability, tests). */
export interface SessionCacheStats {
  sessions: number;
  bytes: number;
  maxBytes: number;
  opened: number;
  evicted: number;
  released: number;
}

interface Entry {
  readonly key: string;
  readonly bytes: number;
  readonly session: Promise<EngineSession>;
  inUse: number;
  /** Out of the cache (evicted or released): disposed once `inUse` reaches 0. */
  dropped: boolean;
  disposal: Promise<void> | null;
}

/** The default bound: `$DATAPROCESSOR_MODEL_CACHE_MIB`, else min(total memory / 4, 4 GiB). */
export function defaultSessionCacheBytes(env: NodeJS.ProcessEnv = process.env): number {
  const mib = env.DATAPROCESSOR_MODEL_CACHE_MIB;
  if (mib !== undefined && /^\d+$/.test(mib.trim())) return Number(mib) * 1024 * 1024;
  return Math.min(Math.floor(totalmem() / 4), 4 * 1024 ** 3);
}

/** A memory-bounded LRU of engine sessions, keyed by (runtime, model, version, device, precision, weights). */
export class SessionCache {
  // Map order is recency order: a hit moves its entry to the end; eviction takes from the front.
  readonly #entries = new Map<string, Entry>();
  #maxBytes: number;
  #opened = 0;
  #evicted = 0;
  #released = 0;

  constructor(options: SessionCacheOptions = {}) {
    this.#maxBytes = options.maxBytes ?? defaultSessionCacheBytes();
  }

  /** Changes the bound; sessions beyond the new bound are disposed now (idle ones, oldest first). */
  async configure(options: SessionCacheOptions): Promise<void> {
    if (options.maxBytes !== undefined) this.#maxBytes = options.maxBytes;
    await this.#evict(this.#mostRecent());
  }

  stats(): SessionCacheStats {
    return {
      sessions: this.#entries.size,
      bytes: this.#bytes(),
      maxBytes: this.#maxBytes,
      opened: this.#opened,
      evicted: this.#evicted,
      released: this.#released,
    };
  }

  get size(): number {
    return this.#entries.size;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /**
   * Runs `use` with the session of `key`, opening it with `open` (charged `bytes`) when it is not
   * cached. The session stays alive until `use` settles, whatever is evicted meanwhile. A failed
   * open is not cached: the next call tries again.
   */
  async use<T>(
    key: string,
    bytes: number,
    open: () => Promise<EngineSession>,
    use: (session: EngineSession) => Promise<T>,
  ): Promise<T> {
    const entry = await this.#acquire(key, bytes, open);
    try {
      return await use(await entry.session);
    } finally {
      entry.inUse -= 1;
      // Evictions deferred while sessions were busy happen now, in recency order (taken when a
      // call starts); the most recent session stays even when it alone exceeds the bound.
      if (entry.dropped) await this.#disposeWhenIdle(entry);
      else await this.#evict(this.#mostRecent());
    }
  }

  /** Opens (or finds) the session of `key` without using it: a load that fails fails here. */
  async open(key: string, bytes: number, open: () => Promise<EngineSession>): Promise<void> {
    await this.use(key, bytes, open, () => Promise.resolve());
  }

  /** Takes `key` out of the cache and disposes its session (after calls in flight end). */
  async release(key: string): Promise<void> {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#drop(entry);
    this.#released += 1;
    await this.#disposeWhenIdle(entry);
  }

  /** Releases every session. */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.#entries.keys()].map((key) => this.release(key)));
  }

  /** Keys in recency order, least recently used first. */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  async #acquire(key: string, bytes: number, open: () => Promise<EngineSession>): Promise<Entry> {
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      hit.inUse += 1;
      return hit;
    }
    const entry: Entry = { key, bytes, session: open(), inUse: 1, dropped: false, disposal: null };
    this.#entries.set(key, entry);
    this.#opened += 1;
    try {
      await entry.session;
    } catch (error) {
      entry.inUse -= 1;
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
      throw error;
    }
    // Make room after the open succeeded, so a failed load never costs a working session.
    await this.#evict(entry);
    return entry;
  }

  #mostRecent(): Entry | null {
    let last: Entry | null = null;
    for (const entry of this.#entries.values()) last = entry;
    return last;
  }

  #bytes(): number {
    let sum = 0;
    for (const entry of this.#entries.values()) sum += entry.bytes;
    return sum;
  }

  /** Disposes idle sessions, least recently used first, until the cache fits (never `keep`). */
  async #evict(keep: Entry | null): Promise<void> {
    const victims: Entry[] = [];
    let bytes = this.#bytes();
    for (const entry of this.#entries.values()) {
      if (bytes <= this.#maxBytes) break;
      if (entry === keep || entry.inUse > 0) continue;
      victims.push(entry);
      bytes -= entry.bytes;
    }
    for (const entry of victims) {
      this.#drop(entry);
      this.#evicted += 1;
    }
    await Promise.all(victims.map((entry) => this.#disposeWhenIdle(entry)));
  }

  #drop(entry: Entry): void {
    entry.dropped = true;
    if (this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key);
  }

  async #disposeWhenIdle(entry: Entry): Promise<void> {
    if (entry.inUse > 0 || entry.disposal !== null) return;
    entry.disposal = entry.session.then(
      (session) => session.dispose(),
      () => undefined,
    );
    await entry.disposal;
  }
}
