// Gantry console: a small single-page app over the console API. Pages are plain functions
// that return an element; the router maps `location.pathname` to one of them.
import './style.css';
import { ApiError, get, setUnauthorizedHandler } from './api';
import { h } from './dom';
import { accountPage, initPage, loginPage, logout } from './pages/auth';
import { domainsPage } from './pages/domains';
import { liveView } from './pages/live';
import { routeEditor, routesPage } from './pages/routes';
import { sourcesPage } from './pages/sources';
import { navigate, onNavigate } from './router';

type Page = (params: string[]) => Promise<HTMLElement> | HTMLElement;

const pages: [RegExp, Page, string?][] = [
  [/^\/live$/, liveView, 'Live'],
  [/^\/routes$/, routesPage, 'Routes'],
  [/^\/routes\/new$/, () => routeEditor(null)],
  [/^\/routes\/([^/]+)$/, (p) => routeEditor(decodeURIComponent(p[0]))],
  [/^\/domains$/, domainsPage, 'Domains'],
  [/^\/service-sources$/, sourcesPage, 'Service sources'],
  [/^\/account$/, accountPage],
];

const NAV: [string, string][] = [
  ['/live', 'Live'],
  ['/routes', 'Routes'],
  ['/domains', 'Domains'],
  ['/service-sources', 'Service sources'],
];

const app = document.getElementById('app')!;

onNavigate(() => void render());

setUnauthorizedHandler(() => {
  if (!location.pathname.startsWith('/login') && !location.pathname.startsWith('/init')) {
    navigate(`/login?redirect=${encodeURIComponent(location.pathname)}`, true);
  }
});

async function initialized(): Promise<boolean> {
  const config = await get<Record<string, unknown>>('/system/config');
  return config?.['system.initialized'] === true;
}

function shell(content: HTMLElement, user: string): HTMLElement {
  const here = location.pathname;
  return h(
    'div',
    { class: 'shell' },
    h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
    h(
      'header',
      {},
      h('strong', { class: 'brand' }, 'Gantry'),
      h(
        'nav',
        { 'aria-label': 'Main' },
        NAV.map(([path, label]) =>
          h('a', { href: path, 'aria-current': here === path || here.startsWith(path + '/') ? 'page' : null }, label),
        ),
      ),
      h(
        'div',
        { class: 'user' },
        h('a', { href: '/account' }, user),
        h('button', { type: 'button', class: 'link', onclick: () => void logout() }, 'Log out'),
      ),
    ),
    h('main', { id: 'main', tabindex: '-1' }, content),
  );
}

async function render(): Promise<void> {
  const path = location.pathname.replace(/\/+$/, '') || '/';
  try {
    if (path === '/init') return mount(await initPage());
    if (path === '/login') {
      if (!(await initialized())) return navigate('/init', true);
      return mount(loginPage());
    }
    let user: { name?: string; displayName?: string } | null;
    try {
      user = await get('/user/info');
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        if (!(await initialized())) return navigate('/init', true);
        return navigate(`/login?redirect=${encodeURIComponent(path)}`, true);
      }
      throw e;
    }
    if (path === '/') return navigate('/live', true);
    for (const [re, page, title] of pages) {
      const m = path.match(re);
      if (m) {
        document.title = `${title ?? 'Gantry'} · Gantry console`;
        const content = await page(m.slice(1));
        return mount(shell(content, user?.displayName || user?.name || 'admin'), true);
      }
    }
    mount(shell(h('section', {}, h('h1', {}, 'Not found'), h('p', {}, `No page ${path}.`)), user?.name || 'admin'));
  } catch (e) {
    mount(h('section', { class: 'page' }, h('h1', {}, 'Error'), h('p', { class: 'form-error' }, String((e as Error).message))));
  }
}

function mount(el: HTMLElement, focusMain = false): void {
  app.replaceChildren(el);
  if (focusMain) el.querySelector<HTMLElement>('main h1')?.setAttribute('tabindex', '-1');
  (el.querySelector<HTMLElement>('[autofocus]') ?? (focusMain ? el.querySelector<HTMLElement>('main h1') : null))?.focus();
}

// Same-origin links navigate inside the app.
document.addEventListener('click', (ev) => {
  const a = (ev.target as HTMLElement).closest('a');
  if (!a || a.target || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.hash) return;
  ev.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', () => void render());
void render();
