// The dashboard reads everything through the service's HTTP API (R-SVC-5), with the API key the
// user typed into the login form. The key lives in sessionStorage: it is gone when the tab closes
// and is never written to a cookie, a URL or localStorage. Server-sent events are read with fetch
// (the browser's EventSource cannot send an Authorization header) and parsed by eventsource-parser.
import { EventSourceParserStream } from 'eventsource-parser/stream';
import type { Manifest } from '../../contracts/index.js';

const KEY_STORAGE = 'dataprocessor.apiKey';

/** Run states of the service (src/service/contracts.ts JOB_STATES). */
export const RUN_STATES = ['queued', 'running', 'ok', 'error', 'cancelled'] as const;
export type RunState = (typeof RUN_STATES)[number];
export const FINAL_STATES: ReadonlySet<string> = new Set(['ok', 'error', 'cancelled']);

/** Progress of one stage (`components` of a run status). */
export interface StageProgress {
  status: 'waiting' | 'running' | 'ok' | 'empty' | 'error' | 'skipped';
  done: number;
  total: number;
  duration_ms: number | null;
  cache_hit: boolean;
  error_code: string | null;
}

/** `GET /api/runs/{run_id}` (runStatusSchema of src/service/contracts.ts). */
export interface RunStatus {
  run_id: string;
  platform_id: string;
  video_id: string | null;
  profile: string;
  state: RunState;
  priority: number;
  attempts: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  components: Record<string, StageProgress>;
  error_code: string | null;
  error: string | null;
}

export interface ArtifactEntry {
  component: string;
  path: string;
  type: string;
  sha256: string;
  bytes: number;
}

/** An API answer other than 2xx, with the API's `error_code`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const storedKey = (): string | null => sessionStorage.getItem(KEY_STORAGE);
export const storeKey = (key: string): void => sessionStorage.setItem(KEY_STORAGE, key);
export const forgetKey = (): void => sessionStorage.removeItem(KEY_STORAGE);

/** Called when the API answers 401: the key is forgotten and the login form shown. */
let onUnauthorized: () => void = () => undefined;
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

/** `candidate`: a key being checked at login (a 401 then is an answer, not a lost session). */
async function request(path: string, init: RequestInit = {}, candidate?: string): Promise<Response> {
  const key = candidate ?? storedKey();
  const headers = new Headers(init.headers);
  if (key) headers.set('authorization', `Bearer ${key}`);
  const response = await fetch(path, { ...init, headers, cache: 'no-store' });
  if (response.ok) return response;
  let code = 'HTTP_ERROR';
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { error_code?: string; message?: string };
    code = body.error_code ?? code;
    message = body.message ?? message;
  } catch {
    // Not a JSON error body (a proxy's page): the status line is the message.
    code = `HTTP_${response.status}`;
  }
  if (response.status === 401 && candidate === undefined) {
    forgetKey();
    onUnauthorized();
  }
  throw new ApiError(response.status, code, message);
}

export async function getJson<T>(path: string): Promise<T> {
  return (await (await request(path)).json()) as T;
}

export async function getBytes(path: string): Promise<Uint8Array> {
  return new Uint8Array(await (await request(path)).arrayBuffer());
}

/** Checks a key before it is stored: true when the API accepts it. */
export async function checkKey(key: string): Promise<boolean> {
  try {
    await request('/api/runs?limit=1', {}, key);
    return true;
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return false;
    throw error;
  }
}

/** `GET /api/queue` (the service's `queueSummarySchema`). */
export interface QueueSummary {
  queued: number;
  running: number;
  workers: number;
  slots: number;
}

const runPath = (runId: string): string => `/api/runs/${encodeURIComponent(runId)}`;

export const api = {
  listRuns: (state?: string): Promise<{ runs: RunStatus[]; next: string | null }> =>
    getJson(`/api/runs?limit=200${state ? `&state=${encodeURIComponent(state)}` : ''}`),
  run: (runId: string): Promise<RunStatus> => getJson(runPath(runId)),
  manifest: (runId: string): Promise<Manifest> => getJson(`${runPath(runId)}/manifest`),
  artifacts: (runId: string): Promise<{ artifacts: ArtifactEntry[] }> =>
    getJson(`${runPath(runId)}/artifacts`),
  artifactUrl: (runId: string, path: string): string =>
    `${runPath(runId)}/artifacts/${path.split('/').map(encodeURIComponent).join('/')}`,
  artifact: (runId: string, path: string): Promise<Uint8Array> => getBytes(api.artifactUrl(runId, path)),
  /** `GET /api/queue`: queued and running jobs of all tenants, live workers and their slots. */
  queue: (): Promise<QueueSummary> => getJson('/api/queue'),
};

/**
 * Follows a run's `status` events until the stream ends (a final state) or `signal` aborts.
 * Resolves when the stream ends; rejects on a network or API error.
 */
export async function followRun(
  runId: string,
  onStatus: (status: RunStatus) => void,
  signal: AbortSignal,
): Promise<void> {
  const response = await request(`${runPath(runId)}/events`, {
    signal,
    headers: { accept: 'text/event-stream' },
  });
  if (!response.body) return;
  const events = response.body
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream());
  const reader = events.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      if (value.event === 'status') onStatus(JSON.parse(value.data) as RunStatus);
    }
  } finally {
    reader.releaseLock();
  }
}
