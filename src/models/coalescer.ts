// Cross-video batching (R-BAT-4). A worker that runs several videos at once in one process gives
// every run's model calls to one `BatchCoalescer`. Calls of different videos whose batch group is
// equal — component, model_signature, preprocessing/analysis config and resolution bucket (the
// orchestrator builds that key), plus the same loaded session and the same non-batch input shapes
// (the coalescer adds those) — are concatenated along the batch axis, run as one model batch, and
// each caller gets exactly its own rows back. A hard cap limits the videos in one batch.
//
// Only models whose every input and output has the same symbolic leading axis (`['N', …]` on the
// card) are merged: for them row i of the output depends on row i of the input only, so splitting
// is exact. Anything else (fixed batch 1, sparse inputs) runs alone, as do calls while this
// process runs a single video (no waiting at all then). A merged batch that fails is re-run call
// by call, so each run sees the error (or the OOM that its own batch policy handles) it would
// have seen alone.
//
// Waiting is bounded: a call waits at most `gatherMs`, and stops waiting at all for a group once
// it waited twice in a row for nobody — until another video calls the same group again (then
// waiting pays: the other video is in the same component).
import type { ModelCard } from './card.js';
import { elementCount, type Tensor, type TensorData, type TensorDtype } from './tensor.js';

/** Where a model call belongs: its batch group and the video (run) it serves. */
export interface BatchGroup {
  /** Component, model_signature, config hash and resolution bucket, joined (built by the orchestrator). */
  key: string;
  /** The component's name, for metrics (closed set, no ids). */
  component: string;
  /** The run the call serves; the cap counts distinct members. */
  member: string;
}

/** One merged model batch, as reported to `onBatch` (metrics, tests). */
export interface CoalescedBatch {
  component: string;
  model: string;
  /** Distinct videos in the batch (≤ the cap). */
  videos: number;
  /** Units (rows of the leading axis) in the batch. */
  units: number;
}

export interface BatchCoalescerOptions {
  /** Hard cap on distinct videos in one model batch (1 = never merge). @defaultValue 4 */
  maxVideos?: number;
  /** How long a call waits for other videos' calls of its group before it runs. @defaultValue 25 */
  gatherMs?: number;
  /** Every batch that ran merged (more than one call). */
  onBatch?: (batch: CoalescedBatch) => void;
}

type Outputs = Record<string, Tensor>;
type Run = (inputs: Record<string, Tensor>) => Promise<Outputs>;

interface Call {
  member: string;
  inputs: Record<string, Tensor>;
  rows: number;
  resolve: (outputs: Outputs) => void;
  reject: (error: unknown) => void;
}

/** A video that waited this many times in a row for nobody runs alone until another shows up. */
const MAX_MISSES = 2;
/** Another video's call of a group this recent means it is in the same component: wait for it. */
const RECENT_MS = 2000;

interface Pending {
  calls: Call[];
  members: Set<string>;
  timer: NodeJS.Timeout | null;
  /** Its wait ended while a batch of its key ran: it runs when that one ends (or fills up). */
  deferred: boolean;
  run: Run;
  component: string;
  model: string;
  /** The group's members' last calls and misses (see `#seen`). */
  seen: Map<string, { lastMs: number; misses: number }>;
}

/** True when every input and output of the card shares one symbolic leading (batch) axis. */
export function hasSharedBatchAxis(card: Pick<ModelCard, 'inputs' | 'outputs'>): boolean {
  const leading = [...card.inputs, ...card.outputs].map((t) => t.shape[0]);
  const first = leading[0];
  return typeof first === 'string' && leading.every((d) => d === first);
}

/** Concatenates same-dtype tensors whose non-leading dims are equal along axis 0. */
function concatRows(parts: readonly Tensor[]): Tensor {
  const first = parts[0] as Tensor;
  const rows = parts.reduce((sum, t) => sum + (t.dims[0] ?? 0), 0);
  const dims = [rows, ...first.dims.slice(1)];
  const Ctor = first.data.constructor as new (n: number) => TensorData[TensorDtype];
  const data = new Ctor(elementCount(dims));
  let offset = 0;
  for (const t of parts) {
    (data as unknown as { set(a: ArrayLike<number | bigint>, o: number): void }).set(t.data, offset);
    offset += t.data.length;
  }
  return { dtype: first.dtype, dims, data };
}

/** Rows [start, start + count) of a tensor's leading axis (a copy). */
function sliceRows(t: Tensor, start: number, count: number): Tensor {
  const per = elementCount(t.dims.slice(1));
  return {
    dtype: t.dtype,
    dims: [count, ...t.dims.slice(1)],
    data: t.data.slice(start * per, (start + count) * per),
  };
}

export class BatchCoalescer {
  readonly maxVideos: number;
  readonly gatherMs: number;
  readonly #onBatch: ((batch: CoalescedBatch) => void) | undefined;
  readonly #pending = new Map<string, Pending>();
  /** Batches running per key. */
  readonly #busy = new Map<string, number>();
  /** Per group: each member's last call (ms) and its misses in a row (waited, ran alone). */
  readonly #seen = new Map<string, Map<string, { lastMs: number; misses: number }>>();
  #participants = 0;

  constructor(options: BatchCoalescerOptions = {}) {
    this.maxVideos = Math.max(1, Math.floor(options.maxVideos ?? 4));
    this.gatherMs = Math.max(0, options.gatherMs ?? 25);
    this.#onBatch = options.onBatch;
  }

  /** A run starts using the coalescer; call the returned function when it ends. */
  join(): () => void {
    this.#participants += 1;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#participants -= 1;
      // Waiting groups may now be complete (the run that left will not call again).
      for (const [key, pending] of this.#pending)
        if (pending.members.size >= this.#target()) this.#flush(key, pending);
    };
  }

  /** Runs currently joined. */
  get participants(): number {
    return this.#participants;
  }

  /** Videos a group waits for before it runs without waiting out `gatherMs`. */
  #target(): number {
    return Math.max(1, Math.min(this.maxVideos, this.#participants));
  }

  /**
   * Runs one model call, merged with other videos' calls of the same group when allowed.
   * `run` runs a batch on the model's session (inputs already checked against the card).
   */
  infer(
    group: BatchGroup,
    model: { card: ModelCard; sessionKey: string },
    inputs: Record<string, Tensor>,
    run: Run,
  ): Promise<Outputs> {
    const names = Object.keys(inputs).sort();
    const rows = inputs[names[0] ?? '']?.dims[0];
    if (
      this.maxVideos < 2 ||
      this.#participants < 2 ||
      rows === undefined ||
      rows < 1 ||
      !hasSharedBatchAxis(model.card) ||
      names.some((n) => inputs[n]?.dims[0] !== rows)
    )
      return run(inputs);
    const shapes = names.map((n) => `${n}:${inputs[n]?.dtype}[${inputs[n]?.dims.slice(1).join(',')}]`);
    const groupKey = `${group.key}\u0000${model.sessionKey}`;
    const key = [groupKey, ...shapes].join('\u0000');
    const seen = this.#seenOf(groupKey);
    const now = Date.now();
    const mine = seen.get(group.member) ?? { lastMs: now, misses: 0 };
    mine.lastMs = now;
    seen.set(group.member, mine);
    const othersActive = [...seen].some(([m, s]) => m !== group.member && now - s.lastMs < RECENT_MS);
    if (!this.#pending.has(key) && !othersActive && mine.misses >= MAX_MISSES) return run(inputs);
    return new Promise<Outputs>((resolve, reject) => {
      let pending = this.#pending.get(key);
      if (pending && !pending.members.has(group.member) && pending.members.size >= this.maxVideos) {
        this.#flush(key, pending); // the cap: this video starts the next batch
        pending = undefined;
      }
      if (!pending) {
        const fresh: Pending = {
          calls: [],
          members: new Set(),
          timer: null,
          deferred: false,
          run,
          component: group.component,
          model: model.card.name,
          seen,
        };
        fresh.timer = setTimeout(() => this.#flush(key, fresh, true), this.gatherMs);
        this.#pending.set(key, fresh);
        pending = fresh;
      }
      pending.calls.push({ member: group.member, inputs, rows, resolve, reject });
      pending.members.add(group.member);
      if (pending.members.size >= this.#target()) this.#flush(key, pending);
    });
  }

  #seenOf(groupKey: string): Map<string, { lastMs: number; misses: number }> {
    let seen = this.#seen.get(groupKey);
    if (!seen) {
      seen = new Map();
      this.#seen.set(groupKey, seen);
    }
    // Forget members long gone (finished runs), so the map stays as small as the live runs.
    const now = Date.now();
    for (const [member, entry] of seen) if (now - entry.lastMs > 60_000) seen.delete(member);
    return seen;
  }

  /**
   * Runs a pending batch. When its wait ends (`byTimer`) while a batch of the same key is still
   * running, it keeps collecting calls until that one ends: the model is busy anyway, and the
   * calls that arrive meanwhile share the next batch (dynamic batching).
   */
  #flush(key: string, pending: Pending, byTimer = false): void {
    if (byTimer && (this.#busy.get(key) ?? 0) > 0) {
      pending.timer = null;
      pending.deferred = true;
      return;
    }
    if (this.#pending.get(key) === pending) this.#pending.delete(key);
    if (pending.timer) clearTimeout(pending.timer);
    pending.timer = null;
    const { calls } = pending;
    if (calls.length === 0) return;
    // Misses: a video that waited for nobody counts one; being batched with others resets it.
    for (const member of pending.members) {
      const entry = pending.seen.get(member);
      if (entry) entry.misses = pending.members.size === 1 ? entry.misses + 1 : 0;
    }
    this.#busy.set(key, (this.#busy.get(key) ?? 0) + 1);
    const done = (): void => {
      this.#busy.set(key, (this.#busy.get(key) ?? 1) - 1);
      if ((this.#busy.get(key) ?? 0) === 0) this.#busy.delete(key);
      const next = this.#pending.get(key);
      if (next?.deferred) this.#flush(key, next);
    };
    if (calls.length === 1) {
      const only = calls[0] as Call;
      pending.run(only.inputs).then(only.resolve, only.reject).finally(done);
      return;
    }
    void this.#runMerged(pending).finally(done);
  }

  async #runMerged(pending: Pending): Promise<void> {
    const { calls } = pending;
    const units = calls.reduce((sum, c) => sum + c.rows, 0);
    const merged: Record<string, Tensor> = {};
    for (const name of Object.keys(calls[0]?.inputs ?? {}))
      merged[name] = concatRows(calls.map((c) => c.inputs[name] as Tensor));
    let outputs: Outputs | null = null;
    try {
      outputs = await pending.run(merged);
      if (Object.values(outputs).some((t) => t.dims[0] !== units)) outputs = null;
    } catch {
      // A merged batch that fails (OOM above all) is re-run call by call below: each run then
      // meets exactly the failure it would have met alone, and its own batch policy handles it.
      outputs = null;
    }
    if (outputs === null) {
      for (const call of calls) await pending.run(call.inputs).then(call.resolve, call.reject);
      return;
    }
    this.#onBatch?.({
      component: pending.component,
      model: pending.model,
      videos: pending.members.size,
      units,
    });
    let start = 0;
    for (const call of calls) {
      const own: Outputs = {};
      for (const [name, t] of Object.entries(outputs)) own[name] = sliceRows(t, start, call.rows);
      start += call.rows;
      call.resolve(own);
    }
  }
}
