// The runs page: this tenant's runs with state, profile, video, duration and error code; filters
// by state and text; live updates through each active run's server-sent events, and a list refresh
// every few seconds for runs submitted meanwhile; the queue of all tenants (queued, running) and
// the live workers from `GET /api/queue`.
import { FINAL_STATES, RUN_STATES, api, followRun, type QueueSummary, type RunStatus } from './api.js';
import { h, replace } from './dom.js';
import { elapsedMs, formatDurationMs, formatTime } from './format.js';

const REFRESH_MS = 4000;

export function stateBadge(state: string): HTMLElement {
  return h('span', { class: `badge state-${state}`, 'data-state': state }, state);
}

/** The queue line: `Queue (all tenants): 2 queued · 1 running · 2 workers (3 slots)`. */
export function queueText(q: QueueSummary): string {
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `Queue (all tenants): ${q.queued} queued · ${q.running} running · ${plural(q.workers, 'worker')} (${plural(q.slots, 'slot')})`;
}

export function runsPage(main: HTMLElement): () => void {
  document.title = 'Runs · DataProcessor';
  const runs = new Map<string, RunStatus>();
  const following = new Map<string, AbortController>();
  let stopped = false;

  const stateFilter = h(
    'select',
    { id: 'state-filter', name: 'state' },
    h('option', { value: '' }, 'all states'),
    ...RUN_STATES.map((s) => h('option', { value: s }, s)),
  );
  const textFilter = h('input', {
    id: 'text-filter',
    type: 'search',
    placeholder: 'run, video, profile or error code  ( / )',
    'aria-label': 'Filter runs by text',
  });
  const summary = h('p', { id: 'runs-summary', class: 'summary', 'aria-live': 'polite' });
  const queue = h('p', { id: 'queue', class: 'muted' });
  const body = h('tbody');
  const problem = h('p', { class: 'error', role: 'alert', hidden: true });
  const table = h(
    'table',
    { id: 'runs', class: 'runs' },
    h('caption', { class: 'visually-hidden' }, 'Runs of this tenant, newest first'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Run', 'State', 'Profile', 'Video', 'Created', 'Duration', 'Error'].map((t) =>
          h('th', { scope: 'col' }, t),
        ),
      ),
    ),
    body,
  );
  const empty = h('p', { id: 'runs-empty', class: 'empty', hidden: true });

  replace(
    main,
    h('h1', {}, 'Runs'),
    h(
      'div',
      { class: 'toolbar', role: 'search' },
      h('label', { for: 'state-filter' }, 'State '),
      stateFilter,
      textFilter,
    ),
    summary,
    queue,
    problem,
    h('div', { class: 'table-scroll' }, table),
    empty,
  );

  const render = (): void => {
    const wanted = stateFilter.value;
    const text = textFilter.value.trim().toLowerCase();
    const sorted = [...runs.values()].sort(
      (a, b) => b.created_at.localeCompare(a.created_at) || a.run_id.localeCompare(b.run_id),
    );
    const shown = sorted.filter(
      (r) =>
        (wanted === '' || r.state === wanted) &&
        (text === '' ||
          [r.run_id, r.video_id ?? '', r.profile, r.error_code ?? ''].some((v) =>
            v.toLowerCase().includes(text),
          )),
    );
    const counts = RUN_STATES.map((s) => `${sorted.filter((r) => r.state === s).length} ${s}`);
    summary.textContent = `${sorted.length} run${sorted.length === 1 ? '' : 's'}: ${counts.join(' · ')}`;
    replace(
      body,
      ...shown.map((r) =>
        h(
          'tr',
          { 'data-run-id': r.run_id, 'data-state': r.state },
          h(
            'td',
            {},
            h('a', { href: `#/runs/${encodeURIComponent(r.run_id)}`, class: 'run-link' }, r.run_id),
          ),
          h('td', {}, stateBadge(r.state)),
          h('td', {}, r.profile),
          h('td', { class: 'mono' }, r.video_id ?? '—'),
          h('td', {}, formatTime(r.created_at)),
          h('td', {}, formatDurationMs(elapsedMs(r.started_at, r.finished_at))),
          h(
            'td',
            {},
            r.error_code ? h('span', { class: 'error-code', title: r.error ?? '' }, r.error_code) : '',
          ),
        ),
      ),
    );
    empty.hidden = shown.length > 0;
    empty.textContent =
      sorted.length === 0
        ? 'No runs yet. Submit one with POST /api/runs (see docs/SERVICE.md).'
        : 'No run matches these filters.';
  };

  const follow = (run: RunStatus): void => {
    if (FINAL_STATES.has(run.state) || following.has(run.run_id)) return;
    const controller = new AbortController();
    following.set(run.run_id, controller);
    followRun(
      run.run_id,
      (status) => {
        const before = runs.get(status.run_id)?.state;
        runs.set(status.run_id, status);
        render();
        // A run changed state: the queue line changed too (no waiting for the next refresh).
        if (before !== status.state) void showQueue();
      },
      controller.signal,
    )
      .catch(() => undefined) // the periodic refresh picks the run up again
      .finally(() => following.delete(run.run_id));
  };

  const showQueue = async (): Promise<void> => {
    const load = await api.queue().catch(() => null);
    if (stopped) return;
    if (load !== null) {
      queue.textContent = queueText(load);
      queue.dataset.queued = String(load.queued);
      queue.dataset.running = String(load.running);
      queue.dataset.workers = String(load.workers);
    } else queue.textContent = '';
  };

  const refresh = async (): Promise<void> => {
    const [list] = await Promise.all([api.listRuns(), showQueue()]);
    if (stopped) return;
    problem.hidden = true;
    for (const run of list.runs) {
      runs.set(run.run_id, run);
      follow(run);
    }
    render();
  };

  const tick = (): void => {
    refresh()
      .catch((error: unknown) => {
        if (stopped) return;
        problem.textContent = `Could not load the runs: ${(error as Error).message}`;
        problem.hidden = false;
      })
      .finally(() => {
        if (!stopped) timer = window.setTimeout(tick, REFRESH_MS);
      });
  };
  let timer = 0;
  tick();

  stateFilter.addEventListener('change', render);
  textFilter.addEventListener('input', render);
  const onKey = (event: KeyboardEvent): void => {
    const target = event.target as HTMLElement;
    if (event.key === '/' && target.tagName !== 'INPUT') {
      event.preventDefault();
      textFilter.focus();
      return;
    }
    // Up/down move between the runs' links (j/k too) when one has focus.
    if (!target.classList.contains('run-link')) return;
    const links = [...body.querySelectorAll<HTMLAnchorElement>('a.run-link')];
    const at = links.indexOf(target as HTMLAnchorElement);
    const next =
      event.key === 'ArrowDown' || event.key === 'j'
        ? at + 1
        : event.key === 'ArrowUp' || event.key === 'k'
          ? at - 1
          : -2;
    if (next === -2) return;
    event.preventDefault();
    links[Math.max(0, Math.min(links.length - 1, next))]?.focus();
  };
  document.addEventListener('keydown', onKey);

  return () => {
    stopped = true;
    window.clearTimeout(timer);
    document.removeEventListener('keydown', onKey);
    for (const controller of following.values()) controller.abort();
  };
}
