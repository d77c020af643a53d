// One run: its status (and, on error, the code, message and the code's hint), per-component progress
// followed live, the timeline of the manifest (Gantt of start/end, cache hits marked), the models
// it loaded with their digests, its artifacts (download through the API) and the plots of its
// signals, read from the NPZ artifacts in the browser with the project's own NPZ reader.
import {
  ERROR_CODES,
  decodeNpz,
  type ErrorCode,
  type Manifest,
  type ManifestComponent,
  type ModelUsed,
} from '../../contracts/index.js';
import { ApiError, FINAL_STATES, api, followRun, type ArtifactEntry, type RunStatus } from './api.js';
import { h, replace } from './dom.js';
import { elapsedMs, formatBytes, formatDurationMs, formatTime } from './format.js';
import { drawLinePlot, drawMatrix } from './plots.js';
import { stateBadge } from './runs-page.js';
import { SIGNALS, type SignalSpec } from './signals.js';
import { shotThumbnails } from './thumbnails.js';

export function hintOf(code: string | null): string | null {
  if (code === null || !(code in ERROR_CODES)) return null;
  return ERROR_CODES[code as ErrorCode].hint;
}

export function runPage(main: HTMLElement, runId: string): () => void {
  document.title = `${runId} · DataProcessor`;
  const controller = new AbortController();
  const header = h('section', { id: 'run-summary', 'aria-labelledby': 'run-title' });
  const progress = h('section', { id: 'progress', 'aria-labelledby': 'progress-title' });
  const timeline = h('section', { id: 'timeline', 'aria-labelledby': 'timeline-title' });
  const models = h('section', { id: 'models', 'aria-labelledby': 'models-title' });
  const artifacts = h('section', { id: 'artifacts', 'aria-labelledby': 'artifacts-title' });
  const signals = h('section', { id: 'signals', 'aria-labelledby': 'signals-title' });
  replace(
    main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, '← Runs')),
    header,
    progress,
    timeline,
    signals,
    models,
    artifacts,
  );
  let resultsShown = false;

  const onStatus = (status: RunStatus): void => {
    renderSummary(header, status);
    renderProgress(progress, status);
    if (FINAL_STATES.has(status.state) && !resultsShown) {
      resultsShown = true;
      void showResults(runId, { timeline, models, artifacts, signals }, controller.signal);
    }
  };

  api
    .run(runId)
    .then(async (status) => {
      if (controller.signal.aborted) return;
      onStatus(status);
      if (!FINAL_STATES.has(status.state)) await followRun(runId, onStatus, controller.signal);
    })
    .catch((error: unknown) => {
      if (controller.signal.aborted) return;
      const notFound = error instanceof ApiError && error.status === 404;
      replace(
        header,
        h('h1', { id: 'run-title' }, runId),
        h(
          'p',
          { class: 'error', role: 'alert' },
          notFound ? 'No such run.' : `Could not load the run: ${(error as Error).message}`,
        ),
      );
    });
  return () => controller.abort();
}

function renderSummary(section: HTMLElement, status: RunStatus): void {
  const hint = hintOf(status.error_code);
  replace(
    section,
    h(
      'h1',
      { id: 'run-title' },
      'Run ',
      h('span', { class: 'mono' }, status.run_id),
      ' ',
      stateBadge(status.state),
    ),
    h(
      'dl',
      { class: 'facts' },
      fact('Profile', status.profile),
      fact('Video', status.video_id ?? '—'),
      fact('Platform', status.platform_id),
      fact('Created', formatTime(status.created_at)),
      fact('Started', formatTime(status.started_at)),
      fact('Finished', formatTime(status.finished_at)),
      fact('Duration', formatDurationMs(elapsedMs(status.started_at, status.finished_at))),
      fact('Attempts', String(status.attempts)),
    ),
    status.error_code
      ? h(
          'div',
          { class: 'run-error', role: 'alert', id: 'run-error' },
          h('p', {}, h('strong', { class: 'error-code' }, status.error_code), ' ', status.error ?? ''),
          hint ? h('p', { class: 'hint' }, hint) : null,
        )
      : null,
  );
}

function fact(term: string, value: string): HTMLElement {
  return h('div', {}, h('dt', {}, term), h('dd', {}, value));
}

function renderProgress(section: HTMLElement, status: RunStatus): void {
  const entries = Object.entries(status.components);
  replace(
    section,
    h('h2', { id: 'progress-title' }, 'Components'),
    entries.length === 0
      ? h(
          'p',
          { class: 'empty' },
          status.state === 'queued' ? 'Waiting for a worker.' : 'No component has reported yet.',
        )
      : h(
          'div',
          { class: 'table-scroll' },
          h(
            'table',
            { class: 'progress' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...['Component', 'Status', 'Progress', 'Duration', 'Cache', 'Error'].map((t) =>
                  h('th', { scope: 'col' }, t),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              ...entries.map(([name, p]) =>
                h(
                  'tr',
                  { 'data-component': name, 'data-status': p.status },
                  h('th', { scope: 'row' }, name),
                  h('td', {}, stateBadge(p.status)),
                  h(
                    'td',
                    {},
                    h('progress', {
                      max: Math.max(1, p.total),
                      value: p.done,
                      'aria-label': `${name} progress`,
                    }),
                    ` ${p.done}/${p.total}`,
                  ),
                  h('td', {}, formatDurationMs(p.duration_ms)),
                  h('td', {}, p.cache_hit ? 'hit' : ''),
                  h(
                    'td',
                    {},
                    p.error_code
                      ? h('span', { class: 'error-code', title: hintOf(p.error_code) ?? '' }, p.error_code)
                      : '',
                  ),
                ),
              ),
            ),
          ),
        ),
  );
}

interface ResultSections {
  timeline: HTMLElement;
  models: HTMLElement;
  artifacts: HTMLElement;
  signals: HTMLElement;
}

async function showResults(runId: string, sections: ResultSections, signal: AbortSignal): Promise<void> {
  let manifest: Manifest;
  let listing: ArtifactEntry[];
  try {
    [manifest, { artifacts: listing }] = await Promise.all([api.manifest(runId), api.artifacts(runId)]);
  } catch (error) {
    if (signal.aborted) return;
    const message =
      error instanceof ApiError && error.status === 404
        ? 'This run wrote no results.'
        : `Could not load the results: ${(error as Error).message}`;
    for (const [name, section] of Object.entries(sections) as [string, HTMLElement][])
      replace(section, h('h2', { id: `${name}-title` }, titleOf(name)), h('p', { class: 'empty' }, message));
    return;
  }
  if (signal.aborted) return;
  renderTimeline(sections.timeline, manifest.components);
  renderModels(sections.models, manifest);
  renderArtifacts(sections.artifacts, runId, listing);
  await renderSignals(sections.signals, runId, manifest, signal);
}

function titleOf(section: string): string {
  return (
    { timeline: 'Timeline', models: 'Models', artifacts: 'Artifacts', signals: 'Signals' }[section] ?? section
  );
}

/** Bars of the components' [started_at, finished_at], relative to the first start. */
export function renderTimeline(section: HTMLElement, components: readonly ManifestComponent[]): void {
  const timed = components.filter((c) => c.started_at !== null && c.finished_at !== null);
  const heading = h('h2', { id: 'timeline-title' }, 'Timeline');
  if (timed.length === 0) {
    replace(section, heading, h('p', { class: 'empty' }, 'No component has started and finished.'));
    return;
  }
  const start = Math.min(...timed.map((c) => Date.parse(c.started_at as string)));
  const end = Math.max(...timed.map((c) => Date.parse(c.finished_at as string)));
  const span = Math.max(1, end - start);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) =>
    h('span', { class: 'tick', style: `left:${f * 100}%` }, formatDurationMs(f * span)),
  );
  replace(
    section,
    heading,
    h(
      'p',
      { class: 'muted' },
      `Wall time ${formatDurationMs(span)}; hatched bars are cache hits (reused artifacts).`,
    ),
    h(
      'ol',
      { class: 'gantt', 'aria-label': 'Component timeline' },
      ...components.map((c) => {
        if (c.started_at === null || c.finished_at === null)
          return h(
            'li',
            { 'data-component': c.name, class: 'gantt-row' },
            h('span', { class: 'gantt-name' }, c.name),
            h('span', { class: 'gantt-track' }, h('span', { class: 'muted' }, `${c.status} (not run)`)),
          );
        const from = Date.parse(c.started_at) - start;
        const to = Date.parse(c.finished_at) - start;
        const label = `${c.name}: ${c.status}${c.cache_hit ? ', cache hit' : ''}, from ${formatDurationMs(from)} to ${formatDurationMs(to)} (${formatDurationMs(c.duration_ms ?? to - from)})`;
        return h(
          'li',
          {
            'data-component': c.name,
            'data-start-ms': from,
            'data-end-ms': to,
            'data-cache-hit': c.cache_hit,
            class: 'gantt-row',
            tabindex: '0',
            'aria-label': label,
            title: label,
          },
          h('span', { class: 'gantt-name' }, c.name),
          h(
            'span',
            { class: 'gantt-track' },
            h(
              'span',
              {
                class: `gantt-bar status-${c.status}${c.cache_hit ? ' cache-hit' : ''}`,
                style: `left:${(from / span) * 100}%;width:max(3px, ${((to - from) / span) * 100}%)`,
              },
              c.cache_hit ? 'cache' : '',
            ),
          ),
        );
      }),
    ),
    h('div', { class: 'gantt-axis', 'aria-hidden': 'true' }, ...ticks),
  );
}

function renderModels(section: HTMLElement, manifest: Manifest): void {
  const rows: [string, ModelUsed][] = manifest.components.flatMap((c) =>
    c.models_used.map((m): [string, ModelUsed] => [c.name, m]),
  );
  replace(
    section,
    h('h2', { id: 'models-title' }, 'Models'),
    rows.length === 0
      ? h('p', { class: 'empty' }, 'This run loaded no model.')
      : h(
          'div',
          { class: 'table-scroll' },
          h(
            'table',
            { class: 'models' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...['Component', 'Model', 'Version', 'Engine', 'Precision', 'Device', 'Weights digest'].map(
                  (t) => h('th', { scope: 'col' }, t),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              ...rows.map(([component, m]) =>
                h(
                  'tr',
                  {},
                  h('td', {}, component),
                  h('td', {}, m.model_name),
                  h('td', {}, m.model_version),
                  h('td', {}, `${m.engine} (${m.runtime})`),
                  h('td', {}, m.precision),
                  h('td', {}, m.device),
                  h('td', { class: 'mono digest' }, m.weights_digest),
                ),
              ),
            ),
          ),
        ),
  );
}

function renderArtifacts(section: HTMLElement, runId: string, listing: readonly ArtifactEntry[]): void {
  const total = listing.reduce((a, b) => a + b.bytes, 0);
  replace(
    section,
    h('h2', { id: 'artifacts-title' }, 'Artifacts'),
    listing.length === 0
      ? h('p', { class: 'empty' }, 'No artifacts.')
      : h(
          'div',
          { class: 'table-scroll' },
          h(
            'table',
            { class: 'artifacts' },
            h('caption', {}, `${listing.length} files, ${formatBytes(total)}`),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...['Component', 'File', 'Type', 'Size', 'sha256', ''].map((t) =>
                  h('th', { scope: 'col' }, t),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              ...listing.map((a) =>
                h(
                  'tr',
                  { 'data-path': a.path },
                  h('td', {}, a.component),
                  h('td', { class: 'mono' }, a.path),
                  h('td', {}, a.type),
                  h('td', { 'data-bytes': a.bytes }, formatBytes(a.bytes)),
                  h('td', { class: 'mono digest', title: a.sha256 }, `${a.sha256.slice(0, 12)}…`),
                  h('td', {}, downloadButton(runId, a)),
                ),
              ),
            ),
          ),
        ),
  );
}

/** Downloads go through fetch (the key is a header, not a cookie), then a blob link. */
function downloadButton(runId: string, artifact: ArtifactEntry): HTMLElement {
  const button = h(
    'button',
    { type: 'button', class: 'download', 'aria-label': `Download ${artifact.path}` },
    'Download',
  );
  button.addEventListener('click', () => {
    button.disabled = true;
    api
      .artifact(runId, artifact.path)
      .then((bytes) => {
        const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
        const link = h('a', { href: url, download: artifact.path.split('/').pop() ?? 'artifact' });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      })
      .catch((error: unknown) => {
        button.textContent = `Failed: ${(error as Error).message}`;
      })
      .finally(() => {
        button.disabled = false;
      });
  });
  return button;
}

async function renderSignals(
  section: HTMLElement,
  runId: string,
  manifest: Manifest,
  signal: AbortSignal,
): Promise<void> {
  const list = h('div', { class: 'plots' });
  replace(section, h('h2', { id: 'signals-title' }, 'Signals'), list);
  const known = manifest.components.filter((c) => c.name in SIGNALS);
  if (known.length === 0) {
    list.append(h('p', { class: 'empty' }, 'This run has no component with plotted signals.'));
    return;
  }
  for (const component of known) {
    const figure = h('figure', { class: 'plot', 'data-component': component.name });
    list.append(figure);
    const npzRef = component.artifacts.find((a) => a.type === 'npz');
    if (component.status === 'error' || component.status === 'skipped' || !npzRef) {
      replace(
        figure,
        h('figcaption', {}, h('h3', {}, component.name)),
        h(
          'p',
          { class: 'empty' },
          component.status === 'error'
            ? `Failed: ${component.error_code ?? ''} ${component.error ?? ''}`
            : `No artifact (${component.status}).`,
        ),
      );
      continue;
    }
    let specs: SignalSpec[];
    let npz;
    try {
      npz = decodeNpz(await api.artifact(runId, npzRef.path));
      specs = SIGNALS[component.name]?.(npz) ?? [];
    } catch (error) {
      if (signal.aborted) return;
      replace(
        figure,
        h('figcaption', {}, h('h3', {}, component.name)),
        h('p', { class: 'error' }, `Could not read ${npzRef.path}: ${(error as Error).message}`),
      );
      continue;
    }
    if (signal.aborted) return;
    figure.replaceChildren();
    for (const spec of specs) drawSpec(figure, spec);
    if (component.name === 'cut_detection' && specs.some((s) => s.kind === 'line'))
      await shotThumbnails(figure, runId, manifest, npz, signal);
  }
}

function drawSpec(figure: HTMLElement, spec: SignalSpec): void {
  figure.id = `plot-${spec.id}`;
  figure.append(
    h(
      'figcaption',
      {},
      h('h3', {}, spec.title),
      spec.kind !== 'empty' && spec.summary ? h('p', { class: 'muted summary' }, spec.summary) : null,
    ),
  );
  if (spec.kind === 'empty') {
    figure.append(h('p', { class: 'empty', 'data-empty': spec.id }, spec.message));
    return;
  }
  const holder = h('div', {
    class: 'plot-canvas',
    tabindex: '0',
    role: 'group',
    'aria-label': `${spec.title}: use the arrow keys to read values`,
  });
  figure.append(holder);
  if (spec.kind === 'line') drawLinePlot(spec, holder);
  else drawMatrix(spec, holder);
}
