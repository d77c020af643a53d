// The dashboard in a real browser (Debian's Chromium, headless, through playwright-core) against a
// real `dataprocessor serve`: the login form without a key, a generated video submitted through the
// API and followed on the runs page until `ok` without a reload, another tenant's run never listed,
// the run page's timeline, models and artifacts against the manifest, and every plot's drawn values
// against the NPZ arrays read independently by numpy. Then keyboard use and a narrow window.
import { join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/contracts/index.js';
import { runPythonJson } from './support/numpy.js';
import {
  apiJson,
  createKey,
  launchChromium,
  makeVideo,
  startServe,
  type PageCanvas,
  type PageGlobals,
  type Service,
} from './support/dashboard.js';

interface RunStatus {
  run_id: string;
  video_id: string | null;
  state: string;
}
interface Manifest {
  run: { platform_id: string; video_id: string; run_id: string };
  components: {
    name: string;
    status: string;
    started_at: string | null;
    finished_at: string | null;
    cache_hit: boolean;
    models_used: { model_name: string; weights_digest: string }[];
    artifacts: { path: string; type: string; bytes: number }[];
  }[];
}
interface DrawnPlot {
  kind: string;
  sources: string[];
  data: (number | null)[][];
  indices: number[] | null;
  markers: number[];
  bands: [number, number][];
}

let service: Service;
let context: BrowserContext;
let page: Page;
let keyA: string;
let keyB: string;
let runId: string;
let otherRunId: string;

beforeAll(async () => {
  service = await startServe();
  keyA = createKey(service.db, 'tenant-a', 'admin');
  keyB = createKey(service.db, 'tenant-b', 'submit');
  makeVideo(join(service.inputs, 'cut.mp4'));
  context = await launchChromium();
  page = await context.newPage();
}, 120_000);

afterAll(async () => {
  await context?.close();
  await service?.stop();
});

async function attributes(locator: Locator, name: string): Promise<(string | null)[]> {
  return Promise.all((await locator.all()).map((element) => element.getAttribute(name)));
}

async function login(key: string): Promise<void> {
  await page.fill('#api-key', key);
  await page.click('form.login button[type=submit]');
}

describe('dashboard in Chromium', () => {
  it('without a key shows the login form and no data; a wrong key is refused', async () => {
    const apiAnswers: number[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/api/')) apiAnswers.push(r.status());
    });
    await page.goto(service.url);
    await expect.poll(() => page.locator('#api-key').isVisible()).toBe(true);
    expect(await page.locator('#runs').count()).toBe(0);
    expect(apiAnswers).toEqual([]); // nothing asked of the API before a key is given
    expect((await apiJson(service, null, '/api/runs')).status).toBe(401);
    await login('dpk_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    await expect.poll(() => page.locator('#login-error').textContent()).toContain('not valid');
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).sessionStorage.length)).toBe(0);
    page.removeAllListeners('response');
  });

  it('follows a submitted run to ok on the runs page without a reload; another tenant’s run is not listed', async () => {
    await login(keyA);
    await expect.poll(() => page.locator('#runs-empty').textContent()).toContain('No runs yet');
    expect(
      await page.evaluate(() =>
        (globalThis as unknown as PageGlobals).sessionStorage.getItem('dataprocessor.apiKey'),
      ),
    ).toBe(keyA);
    await page.evaluate(() => ((globalThis as unknown as PageGlobals).notReloaded = true));

    const submitted = await apiJson<{ run_id: string }>(service, keyA, '/api/runs', {
      method: 'POST',
      body: { video_path: join(service.inputs, 'cut.mp4'), run_id: 'dash-a1' },
    });
    expect(submitted.status).toBe(202);
    runId = submitted.body.run_id;
    // Tenant B's run waits behind A's (one worker) and is cancelled: it exists, for B only.
    const other = await apiJson<{ run_id: string }>(service, keyB, '/api/runs', {
      method: 'POST',
      body: { video_path: join(service.inputs, 'cut.mp4'), run_id: 'dash-b1' },
    });
    expect(other.status).toBe(202);
    otherRunId = other.body.run_id;
    expect((await apiJson(service, keyB, `/api/runs/${otherRunId}`, { method: 'DELETE' })).status).toBe(200);

    const row = page.locator(`tr[data-run-id="${runId}"]`);
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(1);
    const seen = new Set<string>();
    await expect
      .poll(
        async () => {
          const state = await row.getAttribute('data-state');
          if (state) seen.add(state);
          return state;
        },
        { timeout: 420_000, interval: 500 },
      )
      .toBe('ok');
    expect([...seen].some((s) => s === 'queued' || s === 'running')).toBe(true);
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).notReloaded)).toBe(true);
    const listed = await attributes(page.locator('tr[data-run-id]'), 'data-run-id');
    expect(listed).toEqual([runId]);
    expect(listed).not.toContain(otherRunId);
    const listB = await apiJson<{ runs: RunStatus[] }>(service, keyB, '/api/runs');
    expect(listB.body.runs.map((r) => r.run_id)).toEqual([otherRunId]);
    // The queue of all tenants and the live workers, as GET /api/queue reports them (serve
    // runs one worker with one slot here; nothing is queued or running any more).
    const load = await apiJson<{ queued: number; running: number; workers: number; slots: number }>(
      service,
      keyA,
      '/api/queue',
    );
    expect(load.body).toEqual({ queued: 0, running: 0, workers: 1, slots: 1 });
    await expect
      .poll(() => page.locator('#queue').textContent())
      .toBe('Queue (all tenants): 0 queued · 0 running · 1 worker (1 slot)');
    expect(await page.locator('#queue').getAttribute('data-workers')).toBe('1');
  }, 480_000);

  it('shows the run page: timeline, models and artifacts as in the manifest', async () => {
    await page.keyboard.press('/');
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.id)).toBe(
      'text-filter',
    );
    await page.locator('a.run-link').first().focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#run-title').textContent()).toContain(runId);
    const manifest = (await apiJson<Manifest>(service, keyA, `/api/runs/${runId}/manifest`)).body;

    const rows = page.locator('ol.gantt li[data-component]');
    await expect.poll(() => rows.count()).toBe(manifest.components.length);
    const start = Math.min(...manifest.components.map((c) => Date.parse(c.started_at ?? '')));
    for (const c of manifest.components) {
      const bar = page.locator(`ol.gantt li[data-component="${c.name}"]`);
      expect(Number(await bar.getAttribute('data-start-ms'))).toBe(Date.parse(c.started_at ?? '') - start);
      expect(Number(await bar.getAttribute('data-end-ms'))).toBe(Date.parse(c.finished_at ?? '') - start);
      expect(await bar.getAttribute('data-cache-hit')).toBe(c.cache_hit ? '' : null);
    }

    const digests = await page.locator('table.models td.digest').allTextContents();
    expect(digests.sort()).toEqual(
      manifest.components.flatMap((c) => c.models_used.map((m) => m.weights_digest)).sort(),
    );
    expect(digests.length).toBeGreaterThan(0);

    const paths = await attributes(page.locator('table.artifacts tbody tr'), 'data-path');
    const bytes = await attributes(page.locator('table.artifacts tbody tr [data-bytes]'), 'data-bytes');
    expect(paths.map((path, i) => [path, Number(bytes[i])])).toEqual(
      manifest.components.flatMap((c) => c.artifacts.map((a) => [a.path, a.bytes])),
    );
  });

  it('plots the NPZ arrays as numpy reads them, and empty artifacts as sentences', async () => {
    const manifest = (await apiJson<Manifest>(service, keyA, `/api/runs/${runId}/manifest`)).body;
    const runDir = join(
      service.storeRoot,
      manifest.run.platform_id,
      manifest.run.video_id,
      manifest.run.run_id,
    );
    const npz = runPythonJson<
      Record<
        string,
        {
          meta: { status: string; empty_reason: string | null };
          arrays: Record<string, (number | null)[] | number | null>;
        }
      >
    >(
      String.raw`
import json, sys, math, os
import numpy as np
out = {}
for name in ['loudness_extractor/loudness.npz', 'cut_detection/cut_detection.npz', 'tempo_extractor/tempo.npz', 'ocr/ocr.npz', 'core_face_landmarks/face_landmarks.npz', 'core_object_detections/object_detections.npz']:
    z = np.load(os.path.join(sys.argv[1], name), allow_pickle=False)
    arrays = {}
    for k in z.files:
        if k == 'meta' or z[k].dtype.kind not in 'fiub' or z[k].ndim > 1: continue
        v = z[k].astype(np.float64)
        arrays[k] = None if v.ndim == 0 and math.isnan(v) else (float(v) if v.ndim == 0 else [None if math.isnan(x) else x for x in v.tolist()])
    out[name.split('/')[0]] = {'meta': json.loads(str(z['meta'])), 'arrays': arrays}
print(json.dumps(out))
`,
      [runDir],
    );
    await expect
      .poll(
        () =>
          page.evaluate(() =>
            Object.keys((globalThis as unknown as PageGlobals).dataprocessorDashboard.plots).sort(),
          ),
        { timeout: 30_000 },
      )
      .toEqual(['cuts', 'loudness', 'ocr', 'tempo']);
    const plots = (await page.evaluate(() =>
      Object.fromEntries(
        Object.entries((globalThis as unknown as PageGlobals).dataprocessorDashboard.plots).map(([id, p]) => [
          id,
          {
            kind: p.kind,
            sources: p.sources,
            data: p.uplot?.data.map((s) => Array.from(s)) ?? [],
            indices: p.indices,
            markers: p.markers ?? [],
            bands: p.bands ?? [],
          },
        ]),
      ),
    )) as Record<string, DrawnPlot>;
    const component: Record<string, string> = {
      loudness: 'loudness_extractor',
      cuts: 'cut_detection',
      tempo: 'tempo_extractor',
      ocr: 'ocr',
    };
    for (const [id, plot] of Object.entries(plots)) {
      const arrays = npz[component[id] ?? '']?.arrays ?? {};
      expect(plot.indices, id).toBeNull(); // short series: drawn whole
      plot.sources.forEach((source, s) => {
        const expected =
          source === 'integrated_lufs'
            ? new Array<number | null>((arrays.times_sec as number[]).length).fill(
                arrays.integrated_lufs as number,
              )
            : (arrays[source] as (number | null)[]);
        expect(expected, `${id}.${source}`).toBeDefined();
        expect(plot.data[s], `${id}.${source}`).toEqual(expected);
      });
    }
    expect(plots.loudness?.sources).toEqual([
      'times_sec',
      'momentary_lufs',
      'short_term_lufs',
      'integrated_lufs',
    ]);
    expect(plots.cuts?.markers).toEqual(npz.cut_detection?.arrays.cut_times_sec);
    expect(plots.cuts?.markers.length).toBeGreaterThanOrEqual(1); // the hard cut at 3 s
    expect(plots.tempo?.markers).toEqual(npz.tempo_extractor?.arrays.beat_times_sec);

    for (const [id, name] of [
      ['faces', 'core_face_landmarks'],
      ['objects', 'core_object_detections'],
    ] as const) {
      const meta = npz[name]?.meta;
      expect(meta?.status).toBe('empty');
      const message = await page.locator(`[data-empty="${id}"]`).textContent();
      expect(message).toBe(
        meta?.empty_reason === 'no_faces_detected' ? 'No faces detected.' : 'No objects detected.',
      );
    }

    // One thumbnail per shot; the shot after the cut is the plain red frame.
    const shots = npz.cut_detection?.arrays.source_shot_start_frame_indices as number[];
    const thumbnails = page.locator('#shot-thumbnails li.thumbnail');
    await expect.poll(() => thumbnails.count(), { timeout: 30_000 }).toBe(shots.length);
    expect((await attributes(thumbnails, 'data-source-frame')).map(Number)).toEqual(shots);
    const lastPixel = await thumbnails
      .last()
      .locator('canvas')
      .evaluate((element) => {
        const canvas = element as unknown as PageCanvas;
        const data = canvas.getContext('2d')?.getImageData(canvas.width / 2, canvas.height / 2, 1, 1).data;
        return data ? Array.from(data) : [];
      });
    expect(lastPixel[0]).toBeGreaterThan(200);
    expect(lastPixel[1]).toBeLessThan(60);
    expect(lastPixel[2]).toBeLessThan(60);
  });

  it('marks cache hits on the timeline of a second run of the same video', async () => {
    const second = await apiJson<{ run_id: string }>(service, keyA, '/api/runs', {
      method: 'POST',
      body: { video_path: join(service.inputs, 'cut.mp4'), run_id: 'dash-a2' },
    });
    expect(second.status).toBe(202);
    await page.goto(`${service.url}/#/runs/dash-a2`);
    await expect
      .poll(() => page.locator('#run-title .badge').getAttribute('data-state'), { timeout: 300_000 })
      .toBe('ok');
    const manifest = (await apiJson<Manifest>(service, keyA, '/api/runs/dash-a2/manifest')).body;
    const hits = manifest.components.filter((c) => c.cache_hit).map((c) => c.name);
    expect(hits.length).toBeGreaterThan(0);
    await expect
      .poll(() => page.locator('ol.gantt li[data-component]').count(), { timeout: 30_000 })
      .toBe(manifest.components.length);
    expect(await attributes(page.locator('ol.gantt li[data-cache-hit]'), 'data-component')).toEqual(hits);
    expect(await page.locator('ol.gantt .gantt-bar.cache-hit').count()).toBe(hits.length);
    await expect
      .poll(
        () =>
          page.evaluate(
            () => Object.keys((globalThis as unknown as PageGlobals).dataprocessorDashboard.plots).length,
          ),
        { timeout: 30_000 },
      )
      .toBe(4);
  }, 330_000);

  it('shows a failed run with its error code, message and the code’s hint', async () => {
    // The full profile needs CLIP and depth models that are not installed: MODEL_NOT_FOUND.
    const failing = await apiJson<{ run_id: string }>(service, keyA, '/api/runs', {
      method: 'POST',
      body: { video_path: join(service.inputs, 'cut.mp4'), run_id: 'dash-a3', profile: 'full' },
    });
    expect(failing.status).toBe(202);
    await page.goto(`${service.url}/#/runs/dash-a3`);
    await expect
      .poll(() => page.locator('#run-title .badge').getAttribute('data-state'), { timeout: 300_000 })
      .toBe('error');
    const status = (await apiJson<{ error_code: string; error: string }>(service, keyA, '/api/runs/dash-a3'))
      .body;
    expect(status.error_code).toBe('MODEL_NOT_FOUND');
    const shown = await page.locator('#run-error').textContent();
    expect(shown).toContain(status.error_code);
    expect(shown).toContain(status.error);
    expect(shown).toContain(ERROR_CODES.MODEL_NOT_FOUND.hint);
    await page.goto(`${service.url}/#/`);
    await expect
      .poll(() => page.locator('tr[data-run-id="dash-a3"] .error-code').textContent())
      .toBe('MODEL_NOT_FOUND');
    await page.goto(`${service.url}/#/runs/${runId}`);
    await expect.poll(() => page.locator('#plot-loudness .plot-canvas').count(), { timeout: 30_000 }).toBe(1);
  }, 330_000);

  it('reads plot values with the keyboard and fits a narrow window', async () => {
    const holder = page.locator('#plot-loudness .plot-canvas');
    await holder.focus();
    await page.keyboard.press('End');
    const legend = await page.locator('#plot-loudness .u-legend').textContent();
    const drawn = await page.evaluate(() => {
      const x = (globalThis as unknown as PageGlobals).dataprocessorDashboard.plots.loudness?.uplot?.data[0];
      return x ? x[x.length - 1] : undefined;
    });
    expect(legend).toContain(String(drawn));

    await page.setViewportSize({ width: 390, height: 800 });
    await expect
      .poll(() =>
        page.evaluate(() => {
          const page = globalThis as unknown as PageGlobals;
          return page.document.documentElement.scrollWidth <= page.innerWidth;
        }),
      )
      .toBe(true);
    await expect
      .poll(() =>
        page.evaluate(
          () =>
            (globalThis as unknown as PageGlobals).dataprocessorDashboard.plots.loudness?.uplot?.width ?? 0,
        ),
      )
      .toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('signing out forgets the key and shows the login form', async () => {
    await page.click('#logout');
    await expect.poll(() => page.locator('#api-key').isVisible()).toBe(true);
    expect(
      await page.evaluate(() =>
        (globalThis as unknown as PageGlobals).sessionStorage.getItem('dataprocessor.apiKey'),
      ),
    ).toBeNull();
  });
});
