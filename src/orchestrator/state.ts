import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { StorageError } from '../contracts/index.js';
import { writeFileAtomic } from '../storage/index.js';
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

/** The single writer of a run's state files. */
export class RunStateWriter {
  private state: RunState;
  private seq = 0;
  private handle: FileHandle | null = null;
  private chain: Promise<void> = Promise.resolve();
  private lastCheckpoint = 0;

  constructor(
    private readonly runDir: string,
    runId: string,
    private readonly processorOf: (stage: string) => string,
  ) {
    this.state = initialState(runId);
  }

  /**
   * The writer of a run's state: a new run starts from nothing; a resumed run continues the
   * interrupted one's event log — rebuilt from the events alone (the checkpoint may be behind) —
   * with the next sequence number.
   */
  static async open(
    runDir: string,
    runId: string,
    processorOf: (stage: string) => string,
  ): Promise<RunStateWriter> {
    const writer = new RunStateWriter(runDir, runId, processorOf);
    const rebuilt = await rebuildState(runDir, processorOf);
    if (rebuilt) {
      // A torn final line (the process died mid-append) would end up in the middle of the log once
      // we append after it: cut it off first.
      await truncateTornTail(join(runDir, EVENTS_FILE));
      writer.state = { ...rebuilt, run_id: runId };
      writer.seq = rebuilt.last_seq;
    }
    return writer;
  }

  get current(): RunState {
    return this.state;
  }

  /** Appends (and fsyncs) the event, then checkpoints on stage boundaries and at most once a second otherwise. */
  record(event: RunEvent): Promise<void> {
    const stamped: StateEvent = { ...event, seq: (this.seq += 1), at: new Date().toISOString() };
    this.chain = this.chain.then(async () => {
      try {
        this.handle ??= await open(join(this.runDir, EVENTS_FILE), 'a');
        await this.handle.write(`${JSON.stringify(stamped)}\n`);
        await this.handle.datasync();
      } catch (error) {
        throw new StorageError(`cannot append to ${EVENTS_FILE}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      this.state = reduceState(this.state, stamped, this.processorOf);
      const boundary = event.type !== 'stage_progress';
      if (boundary || Date.now() - this.lastCheckpoint >= 1000) await this.checkpoint();
    });
    return this.chain;
  }

  /** Writes run_state.json and the per-processor files atomically from the current state. */
  async checkpoint(): Promise<void> {
    this.lastCheckpoint = Date.now();
    await writeFileAtomic(join(this.runDir, RUN_STATE_FILE), `${JSON.stringify(this.state, null, 2)}\n`);
    await mkdir(join(this.runDir, STATE_DIR), { recursive: true });
    for (const [processor, sections] of Object.entries(processorStates(this.state))) {
      await writeFileAtomic(
        join(this.runDir, STATE_DIR, `${processor}.json`),
        `${JSON.stringify({ processor, components: sections }, null, 2)}\n`,
      );
    }
  }

  /** Waits for every pending append and checkpoint, then closes the event log. */
  async close(): Promise<void> {
    await this.chain;
    await this.handle?.close();
    this.handle = null;
  }
}

async function truncateTornTail(path: string): Promise<void> {
  const text = await readFile(path);
  if (text.length === 0 || text[text.length - 1] === 0x0a) return;
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(text.lastIndexOf(0x0a) + 1);
    await handle.sync();
  } finally {
    await handle.close();
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
