// Helpers of the dashboard tests and `npm run screenshots`: Debian's Chromium driven by
// playwright-core (no browser is ever downloaded), `dataprocessor serve` as a child process on a
// free loopback port (stopped by its pid), and a short generated video with a hard cut and a tone.
// Keys and ports come from the service tests' helpers (./service.ts).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { BIN, createKey, freePort } from './service.js';

export { createKey };

export const CHROMIUM = '/usr/bin/chromium';

/** Chromium headless with a fresh, empty profile; nothing reaches the network but loopback. */
export async function launchChromium(viewport = { width: 1280, height: 800 }): Promise<BrowserContext> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'dp-chromium-'));
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface Service {
  url: string;
  db: string;
  storeRoot: string;
  /** Directory `video_path` submissions may point into. */
  inputs: string;
  proc: ChildProcess;
  logs: string[];
  stop(): Promise<void>;
}

/** Starts `dataprocessor serve` (embedded queue, one in-process worker) in a fresh directory. */
export async function startServe(): Promise<Service> {
  const dir = mkdtempSync(join(tmpdir(), 'dp-dashboard-'));
  const db = join(dir, 'service.sqlite');
  const storeRoot = join(dir, 'store');
  const inputs = join(dir, 'inputs');
  mkdirSync(inputs);
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--db',
      db,
      '--out',
      storeRoot,
      '--port',
      String(port),
      '--allow-root',
      inputs,
      '--concurrency',
      '1',
      '--buffer-window-ms',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DATAPROCESSOR_DB: db } },
  );
  const logs: string[] = [];
  proc.stdout?.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')));
  proc.stderr?.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`serve exited (${proc.exitCode}):\n${logs.join('')}`);
    try {
      if ((await fetch(`${url}/health/live`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`serve did not start:\n${logs.join('')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    db,
    storeRoot,
    inputs,
    proc,
    logs,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid as number, 'SIGTERM');
      await exited;
    },
  };
}

/**
 * A 6 s video at 5 fps: 3 s of testsrc2, a hard cut to 3 s of plain red, and a 440 Hz tone
 * (loudness and tempo have a signal; faces and objects have none: their empty states show).
 */
export function makeVideo(path: string): string {
  execFileSync('ffmpeg', [
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=320x240:rate=5:duration=3',
    '-f',
    'lavfi',
    '-i',
    'color=c=red:size=320x240:rate=5:duration=3',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:duration=6:sample_rate=48000',
    '-filter_complex',
    '[0:v][1:v]concat=n=2:v=1[v]',
    '-map',
    '[v]',
    '-map',
    '2:a',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    path,
  ]);
  return path;
}

/** JSON request to the API with a key. */
export async function apiJson<T>(
  service: Service,
  key: string | null,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const response = await fetch(`${service.url}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

/**
 * What the tests read inside the page. The root tsconfig has no DOM lib (Node code must not see
 * one), so callbacks passed to `page.evaluate` cast `globalThis` to this.
 */
export interface PageGlobals {
  sessionStorage: { getItem(key: string): string | null; readonly length: number };
  document: { activeElement: { id: string } | null; documentElement: { scrollWidth: number } };
  innerWidth: number;
  notReloaded?: boolean;
  dataprocessorDashboard: {
    plots: Record<
      string,
      {
        kind: string;
        sources: string[];
        indices: number[] | null;
        markers?: number[];
        bands?: [number, number][];
        uplot?: { data: ArrayLike<number | null>[]; width: number };
      }
    >;
  };
}

/** A canvas as the tests read it. */
export interface PageCanvas {
  width: number;
  height: number;
  getContext(
    kind: '2d',
  ): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}
