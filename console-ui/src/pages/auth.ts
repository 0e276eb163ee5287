// First-run password setup, login, logout and password change.
import { ApiError, get, post } from '../api';
import { clearErrors, field, formError, h, showErrors } from '../dom';
import { navigate } from '../router';

function submitting(form: HTMLFormElement, run: () => Promise<void>): void {
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const button = form.querySelector('button[type=submit]') as HTMLButtonElement;
    button.disabled = true;
    run()
      .catch((e) => showErrors(form, e instanceof ApiError ? e.message : String(e)))
      .finally(() => (button.disabled = false));
  });
}

const value = (form: HTMLElement, name: string) =>
  (form.querySelector(`[name="${name}"]`) as HTMLInputElement).value;

/** `/init`: sets the admin password on first run. */
export async function initPage(): Promise<HTMLElement> {
  const config = await get<Record<string, unknown>>('/system/config');
  if (config?.['system.initialized'] === true) {
    queueMicrotask(() => navigate('/login', true));
  }
  const form = h(
    'form',
    { class: 'card narrow', 'aria-labelledby': 'init-h' },
    h('h1', { id: 'init-h' }, 'Set up Gantry'),
    h('p', {}, 'Choose the admin account for this gateway.'),
    formError(),
    field('User name', 'name', h('input', { value: 'admin', autocomplete: 'username', required: true })),
    field('Password', 'password', h('input', { type: 'password', autocomplete: 'new-password', required: true, autofocus: true })),
    field('Repeat password', 'confirm', h('input', { type: 'password', autocomplete: 'new-password', required: true })),
    h('button', { type: 'submit' }, 'Create account'),
  ) as HTMLFormElement;
  submitting(form, async () => {
    const name = value(form, 'name');
    const password = value(form, 'password');
    if (password !== value(form, 'confirm')) return showErrors(form, 'confirm: the passwords differ');
    await post('/system/init', { adminUser: { name, displayName: name, password } });
    await post('/session/login', { username: name, password });
    navigate('/live', true);
  });
  return h('div', { class: 'center' }, form);
}

/** `/login`. */
export function loginPage(): HTMLElement {
  const form = h(
    'form',
    { class: 'card narrow', 'aria-labelledby': 'login-h' },
    h('h1', { id: 'login-h' }, 'Log in to Gantry'),
    formError(),
    field('User name', 'username', h('input', { value: 'admin', autocomplete: 'username', required: true })),
    field('Password', 'password', h('input', { type: 'password', autocomplete: 'current-password', required: true, autofocus: true })),
    h('button', { type: 'submit' }, 'Log in'),
  ) as HTMLFormElement;
  submitting(form, async () => {
    try {
      await post('/session/login', { username: value(form, 'username'), password: value(form, 'password') });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return showErrors(form, 'password: incorrect user name or password');
      throw e;
    }
    const back = new URLSearchParams(location.search).get('redirect');
    navigate(back && back.startsWith('/') && !back.startsWith('//') ? back : '/live', true);
  });
  return h('div', { class: 'center' }, form);
}

/** Ends the session. */
export async function logout(): Promise<void> {
  await get('/session/logout').catch(() => undefined);
  navigate('/login', true);
}

/** `/account`: change the password (the server ends the session; log in again). */
export function accountPage(): HTMLElement {
  const form = h(
    'form',
    { class: 'card narrow', 'aria-labelledby': 'acct-h' },
    h('h1', { id: 'acct-h' }, 'Change password'),
    formError(),
    field('Current password', 'oldPassword', h('input', { type: 'password', autocomplete: 'current-password', required: true })),
    field('New password', 'newPassword', h('input', { type: 'password', autocomplete: 'new-password', required: true })),
    h('button', { type: 'submit' }, 'Change password'),
  ) as HTMLFormElement;
  submitting(form, async () => {
    await post('/user/changePassword', { oldPassword: value(form, 'oldPassword'), newPassword: value(form, 'newPassword') });
    navigate('/login', true);
  });
  return form;
}

export { submitting, value };
