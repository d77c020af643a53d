// Draws the signal specs: line plots with uPlot (canvas; markers and spans in its draw hook) and the
// similarity matrix on a plain canvas. Every plot is registered on `window.dataprocessorDashboard`
// with the uPlot instance (its `data` is exactly what is drawn) and the spec's sources, which is how
// the browser test compares the drawn values with the NPZ arrays. Plots take keyboard focus: the
// arrow keys walk the cursor over the samples and the legend reads out their values.
import uPlot from 'uplot';
import { h } from './dom.js';
import { displayIndices, pick } from './downsample.js';
import type { LinePlotSpec, MatrixPlotSpec } from './signals.js';

const COLORS = [
  '#2563eb',
  '#dc2626',
  '#059669',
  '#d97706',
  '#7c3aed',
  '#0891b2',
  '#db2777',
  '#4b5563',
  '#65a30d',
];

export interface RegisteredPlot {
  kind: 'line' | 'matrix';
  /** The NPZ array (or derivation) of the x axis and of each series, in uPlot's series order. */
  sources: string[];
  uplot?: uPlot;
  /** Indices of the drawn samples when the series was downsampled for display; null: all drawn. */
  indices: number[] | null;
  markers?: number[];
  bands?: [number, number][];
  matrix?: { n: number; values: number[]; times: number[] };
}

declare global {
  interface Window {
    dataprocessorDashboard: { plots: Record<string, RegisteredPlot> };
  }
}
window.dataprocessorDashboard ??= { plots: {} };

function register(id: string, plot: RegisteredPlot): void {
  window.dataprocessorDashboard.plots[id] = plot;
}

export function clearPlots(): void {
  for (const plot of Object.values(window.dataprocessorDashboard.plots)) plot.uplot?.destroy();
  window.dataprocessorDashboard.plots = {};
}

const plotWidth = (container: HTMLElement): number => Math.max(280, Math.floor(container.clientWidth || 640));

/** Draws a line plot into `container` (already in the document, so it has a width). */
export function drawLinePlot(spec: LinePlotSpec, container: HTMLElement): uPlot {
  const x = spec.x.values;
  const indices = displayIndices(
    x.length,
    spec.series.map((s) => s.values),
  );
  const data: uPlot.AlignedData = [
    pick(x, indices) as number[],
    ...spec.series.map((s) => pick(s.values, indices)),
  ];
  const stepped = uPlot.paths.stepped?.({ align: 1 });
  const markers = spec.markers?.values ?? [];
  const spans = spec.bands?.spans ?? [];
  const options: uPlot.Options = {
    width: plotWidth(container),
    height: 220,
    scales: { x: { time: false }, ...(spec.yRange ? { y: { range: spec.yRange } } : {}) },
    axes: [{ label: spec.xLabel }, { label: spec.yLabel, size: 60 }],
    series: [
      { label: spec.xLabel },
      ...spec.series.map((s, i) => ({
        label: s.label,
        stroke: COLORS[i % COLORS.length] as string,
        width: 1.5,
        spanGaps: false,
        ...(s.steps && stepped ? { paths: stepped } : {}),
      })),
    ],
    cursor: { drag: { x: true, y: false } },
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx;
          const { top, height } = u.bbox;
          ctx.save();
          ctx.fillStyle = 'rgba(217, 119, 6, 0.18)';
          for (const [from, to] of spans) {
            const left = u.valToPos(from, 'x', true);
            const right = u.valToPos(to, 'x', true);
            ctx.fillRect(left, top, Math.max(2, right - left), height);
          }
          ctx.strokeStyle = 'rgba(17, 24, 39, 0.55)';
          ctx.setLineDash([4, 3]);
          ctx.lineWidth = 1;
          for (const at of markers) {
            const left = Math.round(u.valToPos(at, 'x', true)) + 0.5;
            ctx.beginPath();
            ctx.moveTo(left, top);
            ctx.lineTo(left, top + height);
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };
  const plot = new uPlot(options, data, container);
  register(spec.id, {
    kind: 'line',
    sources: [spec.x.source, ...spec.series.map((s) => s.source)],
    uplot: plot,
    indices: indices ? Array.from(indices) : null,
    markers,
    bands: spans,
  });
  keyboardCursor(container, plot);
  new ResizeObserver(() => {
    const width = plotWidth(container);
    if (width !== plot.width) plot.setSize({ width, height: 220 });
  }).observe(container);
  return plot;
}

/** Arrow keys move the cursor sample by sample (Home/End: first/last), so the legend reads values. */
function keyboardCursor(container: HTMLElement, plot: uPlot): void {
  let index = -1;
  container.addEventListener('keydown', (event) => {
    const count = plot.data[0].length;
    if (count === 0) return;
    const step = event.shiftKey ? Math.max(1, Math.round(count / 20)) : 1;
    if (event.key === 'ArrowRight') index = Math.min(count - 1, index + step);
    else if (event.key === 'ArrowLeft') index = Math.max(0, (index < 0 ? count : index) - step);
    else if (event.key === 'Home') index = 0;
    else if (event.key === 'End') index = count - 1;
    else return;
    event.preventDefault();
    const left = plot.valToPos(plot.data[0][index] as number, 'x');
    plot.setCursor({ left, top: plot.bbox.height / devicePixelRatio / 2 });
  });
}

/** Similarity values are cosines in [-1, 1]; the colour scale runs over [0, 1] where frames live. */
function heat(value: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, value));
  return [Math.round(255 * t), Math.round(80 + 100 * (1 - Math.abs(t - 0.5) * 2)), Math.round(255 * (1 - t))];
}

export function drawMatrix(spec: MatrixPlotSpec, container: HTMLElement): HTMLCanvasElement {
  const { n, values } = spec;
  const canvas = h('canvas', {
    width: n,
    height: n,
    class: 'matrix',
    role: 'img',
    'aria-label': `${spec.title}: ${n} × ${n} frames`,
  });
  const ctx = canvas.getContext('2d');
  if (ctx && n > 0) {
    const image = ctx.createImageData(n, n);
    for (let i = 0; i < n * n; i += 1) {
      const [r, g, b] = heat(values[i] as number);
      image.data.set([r, g, b, 255], i * 4);
    }
    ctx.putImageData(image, 0, 0);
  }
  const last = spec.times[spec.times.length - 1] ?? 0;
  container.append(
    canvas,
    h(
      'p',
      { class: 'axis-note' },
      `rows and columns: frames from ${(spec.times[0] ?? 0).toFixed(2)} s to ${last.toFixed(2)} s · blue 0 → red 1`,
    ),
  );
  register(spec.id, {
    kind: 'matrix',
    sources: [spec.source],
    indices: null,
    matrix: { n, values: Array.from(values), times: spec.times },
  });
  return canvas;
}
