// Dashboard plot speed in Debian's headless Chromium: uPlot drawing a 10k-point series (and two
// series), whole and after our display downsampling, against drawing the same series as a plain
// canvas polyline measured in the same page (the floor any chart library sits on).
// `npx tsx bench/dashboard.ts` (needs /usr/bin/chromium and node_modules/uplot).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { displayIndices } from '../src/web/client/index.js';
import { launchChromium } from '../test/support/dashboard.js';

const UPLOT = join(import.meta.dirname, '..', 'node_modules', 'uplot', 'dist');
const N = 10_000;
const REPEATS = 15;

const context = await launchChromium();
try {
  const page = await context.newPage();
  await page.setContent(
    `<!doctype html><style>${readFileSync(join(UPLOT, 'uPlot.min.css'), 'utf8')}</style><div id="plot"></div>`,
  );
  await page.addScriptTag({ content: readFileSync(join(UPLOT, 'uPlot.iife.min.js'), 'utf8') });
  const y = Array.from({ length: N }, (_, i) => Math.sin(i / 50) * 10 + ((i * 7919) % 13) / 13);
  const kept = displayIndices(N, [y]);
  const cases = {
    'uPlot 10k points': N,
    [`uPlot downsampled (${kept?.length ?? N} points)`]: kept?.length ?? N,
  };
  // Runs in the page (plain JS): times creating + drawing a uPlot, and a raw canvas polyline.
  // uPlot draws in a microtask after construction: the time runs to its draw hook.
  const measure = `async (n, repeats) => {
    const x = Array.from({ length: n }, (_, i) => i / 10);
    const y = Array.from({ length: n }, (_, i) => Math.sin(i / 50) * 10 + ((i * 7919) % 13) / 13);
    const holder = document.getElementById('plot');
    const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
    const times = [];
    for (let r = 0; r < repeats; r += 1) {
      let drawnAt = 0;
      const opts = {
        width: 1200, height: 220, scales: { x: { time: false } }, series: [{}, { stroke: 'blue' }],
        hooks: { draw: [() => (drawnAt = performance.now())] },
      };
      const t0 = performance.now();
      const plot = new uPlot(opts, [x, y], holder);
      for (let k = 0; k < 1000 && drawnAt === 0; k += 1) await Promise.resolve();
      if (drawnAt === 0) await new Promise((r) => setTimeout(r, 0));
      plot.ctx.getImageData(0, 0, 1, 1);
      times.push(Math.max(drawnAt, performance.now()) - t0);
      plot.destroy();
    }
    const canvas = document.createElement('canvas');
    canvas.width = 1200;
    canvas.height = 220;
    const ctx = canvas.getContext('2d');
    const raw = [];
    for (let r = 0; r < repeats; r += 1) {
      const t0 = performance.now();
      ctx.clearRect(0, 0, 1200, 220);
      ctx.beginPath();
      for (let i = 0; i < n; i += 1) ctx.lineTo((i / n) * 1200, 110 - y[i] * 9);
      ctx.stroke();
      ctx.getImageData(0, 0, 1, 1);
      raw.push(performance.now() - t0);
    }
    return { uplot: median(times), raw: median(raw) };
  }`;
  for (const [name, n] of Object.entries(cases)) {
    const result = await page.evaluate<{ uplot: number; raw: number }>(`(${measure})(${n}, ${REPEATS})`);
    console.log(
      `${name}: ${result.uplot.toFixed(1)} ms per plot (create + draw, median of ${REPEATS}); ` +
        `raw canvas polyline ${result.raw.toFixed(1)} ms; ratio ${(result.uplot / result.raw).toFixed(1)}×`,
    );
  }
  const t0 = performance.now();
  const long = Array.from({ length: 10 }, () => y).flat();
  for (let r = 0; r < REPEATS; r += 1) displayIndices(long.length, [long]);
  console.log(`displayIndices on 100k points: ${((performance.now() - t0) / REPEATS).toFixed(1)} ms`);
} finally {
  await context.close();
}
