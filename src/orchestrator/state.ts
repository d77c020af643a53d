import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { StorageError } from '../contracts/index.js';
import type { AppendLog, ResultStore } from '../storage/index.js';
import type { RunEvent } from './events.js';

/**
 * Run state (R-ORC-4): every event is appended to `state_events.jsonl` and fsynced before anything
 * else sees it; `run_state.json` (run level) and `_state/<processor>.json` (one section per
 * component) are checkpoints rebuilt from the events and written atomically. One writer per run:
 * the orchestrator's `RunStateWriter`. After a crash the state is rebuilt from the events
 * (`rebuildState`), ignoring a torn last line.
 */

export const EVENTS_FILE = 'state_events.jsonl';
export const RUN_STATE_FILE = 'run_state.json';
export const STATE_DIR = '_state';

const stageStateSchema = z
  .object({
    processor: z.string(),
    status: z.enum(['pending', 'running', 'ok', 'empty', 'error', 'skipped']),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    done: z.number(),
    total: z.number(),
    duration_ms: z.number().nullable(),
    error_code: z.string().nullable(),
  })
  .strict();
export type StageState = z.infer<typeof stageStateSchema>;

export const runStateSchema = z
  .object({
    run_id: z.string(),
    status: z.enum(['running', 'ok', 'error', 'skipped']),
    last_seq: z.number().int().nonnegative(),
    updated_at: z.string(),
    stages: z.record(z.string(), stageStateSchema),
  })
  .strict();
export type RunState = z.infer<typeof runStateSchema>;

export type StateEvent = RunEvent & { seq: number; at: string };

/** Folds one event into the state (pure). */
export function reduceState(
  state: RunState,
  event: StateEvent,
  processorOf: (stage: string) => string,
): RunState {
  const next: RunState = { ...state, last_seq: event.seq, updated_at: event.at, stages: { ...state.stages } };
  const stage = (name: string): StageState =>
    next.stages[name] ?? {
      processor: processorOf(name),
      status: 'pending',
      started_at: null,
      finished_at: null,
      done: 0,
      total: 0,
      duration_ms: null,
      error_code: null,
    };
  switch (event.type) {
    case 'run_started':
      for (const name of event.stages) next.stages[name] = stage(name);
      next.status = 'running';
      break;
    case 'stage_started':
      next.stages[event.stage] = { ...stage(event.stage), status: 'running', started_at: event.at };
      break;
    case 'stage_progress':
      next.stages[event.stage] = { ...stage(event.stage), done: event.done, total: event.total };
      break;
    case 'stage_finished':
      next.stages[event.stage] = {
        ...stage(event.stage),
        status: event.status,
        finished_at: event.at,
        duration_ms: event.duration_ms,
        error_code: event.error_code,
      };
      break;
    case 'run_finished':
      next.status = event.status;
      break;
  }
  return next;
}

function initialState(runId: string): RunState {
  return { run_id: runId, status: 'running', last_seq: 0, updated_at: new Date(0).toISOString(), stages: {} };
}

/** Splits a run state into per-processor files: `{ processor: { component: section } }`. */
export function processorStates(state: RunState): Record<string, Record<string, StageState>> {
  const out: Record<string, Record<string, StageState>> = {};
  for (const [name, stage] of Object.entries(state.stages)) (out[stage.processor] ??= {})[name] = stage;
  return out;
}

/** The single writer of a run's state files, through the result store port. */
export class RunStateWriter {
  private state: RunState;
  private seq = 0;
  private log: AppendLog | null = null;
  private chain: Promise<void> = Promise.resolve();
  private lastCheckpoint = 0;

  private constructor(
    private readonly store: ResultStore,
    private readonly runDir: string,
    runId: string,
    private readonly processorOf: (stage: string) => string,
  ) {
    this.state = initialState(runId);
  }

  /**
   * The writer of a run's state: a new run starts from nothing; a resumed run continues the
   * interrupted one's event log — rebuilt from the events alone (the checkpoint may be behind) —
   * with the next sequence number (the store cuts a torn final line before appending).
   */
  static async open(
    store: ResultStore,
    runDir: string,
    runId: string,
    processorOf: (stage: string) => string,
  ): Promise<RunStateWriter> {
    const writer = new RunStateWriter(store, runDir, runId, processorOf);
    const bytes = await store.readFile(runDir, EVENTS_FILE);
    const rebuilt =
      bytes === null ? null : rebuildStateFrom(Buffer.from(bytes).toString('utf8'), processorOf);
    if (rebuilt) {
      writer.state = { ...rebuilt, run_id: runId };
      writer.seq = rebuilt.last_seq;
    }
    writer.log = await store.openAppendLog(runDir, EVENTS_FILE);
    return writer;
  }

  get current(): RunState {
    return this.state;
  }

  /** Appends (durably) the event, then checkpoints on stage boundaries and at most once a second otherwise. */
  record(event: RunEvent): Promise<void> {
    const stamped: StateEvent = { ...event, seq: (this.seq += 1), at: new Date().toISOString() };
    this.chain = this.chain.then(async () => {
      if (!this.log) throw new StorageError(`${EVENTS_FILE} is closed`);
      await this.log.append(JSON.stringify(stamped));
      this.state = reduceState(this.state, stamped, this.processorOf);
      const boundary = event.type !== 'stage_progress';
      if (boundary || Date.now() - this.lastCheckpoint >= 1000) await this.checkpoint();
    });
    return this.chain;
  }

  /** Writes run_state.json and the per-processor files atomically from the current state. */
  async checkpoint(): Promise<void> {
    this.lastCheckpoint = Date.now();
    const json = (value: unknown): Uint8Array => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
    await this.store.writeArtifact(this.runDir, RUN_STATE_FILE, json(this.state));
    for (const [processor, sections] of Object.entries(processorStates(this.state))) {
      await this.store.writeArtifact(
        this.runDir,
        `${STATE_DIR}/${processor}.json`,
        json({ processor, components: sections }),
      );
    }
  }

  /** Waits for every pending append and checkpoint, then closes the event log. */
  async close(): Promise<void> {
    await this.chain;
    await this.log?.close();
    this.log = null;
  }
}

/**
 * Rebuilds the state from `state_events.jsonl` alone (after a crash). A torn last line — the
 * process died mid-append — is ignored; a bad line anywhere else is corruption (STORAGE_IO).
 */
export async function rebuildState(
  runDir: string,
  processorOf: (stage: string) => string,
): Promise<RunState | null> {
  let text: string;
  try {
    text = await readFile(join(runDir, EVENTS_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StorageError(`cannot read ${EVENTS_FILE}: ${(error as Error).message}`, { cause: error });
  }
  return rebuildStateFrom(text, processorOf);
}

/** {@link rebuildState} from the event log's text. */
export function rebuildStateFrom(text: string, processorOf: (stage: string) => string): RunState | null {
  const lines = text.split('\n');
  let state: RunState | null = null;
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let event: StateEvent;
    try {
      event = JSON.parse(line) as StateEvent;
    } catch (error) {
      if (i === lines.length - 1) return; // torn final append
      throw new StorageError(`${EVENTS_FILE} line ${i + 1} is corrupt`, { cause: error });
    }
    state ??= initialState(event.type === 'run_started' ? event.run_id : '');
    state = reduceState(state, event, processorOf);
  });
  return state;
}
