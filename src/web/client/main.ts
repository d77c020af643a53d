// The dashboard's entry: the login form until a key is stored, then the runs page (`#/`) and run
// pages (`#/runs/<run_id>`). Hash routes keep the server to static files: any page reloads from `/`.
import { forgetKey, storedKey, whenUnauthorized } from './api.js';
import { h } from './dom.js';
import { loginPage } from './login.js';
import { clearPlots } from './plots.js';
import { runPage } from './run-page.js';
import { runsPage } from './runs-page.js';

const root = document.getElementById('app') as HTMLElement;
let leave: (() => void) | null = null;

function layout(): HTMLElement {
  const main = h('main', { id: 'main', tabindex: '-1' });
  const logout = h('button', { type: 'button', class: 'link', id: 'logout' }, 'Sign out');
  logout.addEventListener('click', () => {
    forgetKey();
    route();
  });
  root.replaceChildren(
    h('a', { class: 'skip', href: '#main', onclick: skipToMain }, 'Skip to content'),
    h(
      'header',
      { class: 'top' },
      h('a', { href: '#/', class: 'brand' }, 'DataProcessor'),
      h('nav', { 'aria-label': 'main' }, h('a', { href: '#/' }, 'Runs')),
      logout,
    ),
    main,
  );
  return main;
}

function skipToMain(event: Event): void {
  event.preventDefault();
  document.getElementById('main')?.focus();
}

function route(): void {
  leave?.();
  leave = null;
  clearPlots();
  if (!storedKey()) {
    document.title = 'Sign in · DataProcessor';
    loginPage(root, route);
    return;
  }
  const main = layout();
  const match = /^#\/runs\/([^/?]+)/.exec(location.hash);
  leave = match ? runPage(main, decodeURIComponent(match[1] ?? '')) : runsPage(main);
}

whenUnauthorized(route);
window.addEventListener('hashchange', route);
route();
