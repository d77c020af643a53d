// `npm run screenshots`: the README's pictures of the dashboard, taken by Debian's headless
// Chromium from a real `dataprocessor serve`: a generated video is submitted through the API and
// run with the default profile, then the runs page and the run page are captured at 1280×800 and
// the run page on a narrow (390 px) window. Writes docs/screenshots/*.png.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  apiJson,
  createKey,
  launchChromium,
  makeVideo,
  startServe,
  type PageGlobals,
} from '../test/support/dashboard.js';

const OUT = resolve(import.meta.dirname, '..', 'docs', 'screenshots');

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const service = await startServe();
  const context = await launchChromium();
  try {
    const key = createKey(service.db, 'demo', 'admin');
    const video = makeVideo(join(service.inputs, 'sample.mp4'));
    const submitted = await apiJson<{ run_id: string }>(service, key, '/api/runs', {
      method: 'POST',
      body: { video_path: video, run_id: 'sample-run' },
    });
    if (submitted.status !== 202) throw new Error(`submission answered ${submitted.status}`);
    const runId = submitted.body.run_id;
    const page = await context.newPage();
    await page.goto(service.url);
    await page.fill('#api-key', key);
    await page.click('form.login button[type=submit]');
    console.log(`screenshots: waiting for run ${runId} (default profile)…`);
    await page.waitForSelector(`tr[data-run-id="${runId}"][data-state="ok"]`, { timeout: 600_000 });
    await page.screenshot({ path: join(OUT, 'runs.png') });
    await page.click(`a.run-link`);
    await page.waitForSelector('#shot-thumbnails li.thumbnail', { timeout: 60_000 });
    await page.waitForFunction(
      () => Object.keys((globalThis as unknown as PageGlobals).dataprocessorDashboard.plots).length >= 4,
    );
    await page.screenshot({ path: join(OUT, 'run.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 800 });
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(OUT, 'run-narrow.png') });
    console.log(`screenshots: ${OUT}/{runs,run,run-narrow}.png`);
  } finally {
    await context.close();
    await service.stop();
  }
}

await main();
