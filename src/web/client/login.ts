// The login form: the only thing shown without a key. The key is checked against the API before it
// is kept (in sessionStorage, for this tab only).
import { checkKey, storeKey } from './api.js';
import { h } from './dom.js';

export function loginPage(root: HTMLElement, onLogin: () => void): void {
  const input = h('input', {
    id: 'api-key',
    name: 'api-key',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    placeholder: 'dpk_…',
    'aria-describedby': 'login-help',
  });
  const message = h('p', { id: 'login-error', class: 'error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'login', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'DataProcessor'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h(
      'p',
      { id: 'login-help', class: 'muted' },
      'Your key is kept in this tab only (session storage) and sent with each request. Create one with ',
      h('code', {}, 'dataprocessor keys create'),
      '.',
    ),
    message,
    submit,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    submit.disabled = true;
    message.hidden = true;
    checkKey(key)
      .then((valid) => {
        if (!valid) {
          message.textContent = 'This key is not valid (unknown, revoked or mistyped).';
          message.hidden = false;
          input.focus();
          return;
        }
        storeKey(key);
        onLogin();
      })
      .catch((error: unknown) => {
        message.textContent = `The service did not answer: ${(error as Error).message}`;
        message.hidden = false;
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  root.replaceChildren(h('main', { id: 'main', class: 'login-page' }, form));
  input.focus();
}
