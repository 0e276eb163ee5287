// Routes: list, create and edit (domains, path match, methods, weighted services). Fields
// this form does not show are kept as loaded, so an edit never drops them.
import { ApiError, del, Domain, get, post, put, Route, seg, UpstreamService } from '../api';
import { clearErrors, field, formError, h, showErrors } from '../dom';
import { navigate } from '../router';
import { conflictNotice, page, table } from './common';

const MATCH = [
  ['PRE', 'prefix'],
  ['EQUAL', 'exact'],
  ['REGULAR', 'regex'],
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];

const describePath = (r: Route) =>
  r.path ? `${MATCH.find((m) => m[0] === r.path!.matchType)?.[1] ?? r.path.matchType} ${r.path.matchValue}` : '—';
const describeServices = (r: Route) =>
  (r.services ?? []).map((s) => `${s.name}${s.port ? `:${s.port}` : ''}${s.weight != null ? ` (${s.weight}%)` : ''}`).join(', ');

/** `/routes`. */
export async function routesPage(): Promise<HTMLElement> {
  const routes = ((await get<Route[]>('/v1/routes')) ?? []).filter((r) => !r.name.endsWith('.internal'));
  const rows = routes.map((r) => [
    h('a', { href: `/routes/${seg(r.name)}` }, r.name),
    (r.domains ?? []).join(', ') || '(all)',
    describePath(r),
    describeServices(r),
    h(
      'button',
      {
        type: 'button',
        class: 'link danger',
        'aria-label': `Delete route ${r.name}`,
        onclick: async () => {
          if (!confirm(`Delete route ${r.name}?`)) return;
          await del(`/v1/routes/${seg(r.name)}`).catch((e) => alert(e.message));
          navigate('/routes', true);
        },
      },
      'Delete',
    ),
  ]);
  return page(
    'Routes',
    [h('a', { class: 'button', href: '/routes/new' }, 'New route')],
    table('Routes', ['Name', 'Domains', 'Path', 'Services', ''], rows, 'No routes yet.'),
  );
}

function serviceRow(list: HTMLElement, s: UpstreamService, i: number): HTMLElement {
  const row = h(
    'fieldset',
    { class: 'row service' },
    h('legend', {}, `Service ${i + 1}`),
    field('Service name', `services[${i}].name`, h('input', { value: s.name ?? '', list: 'known-services', required: true, autocomplete: 'off', 'data-k': 'name' })),
    field('Port', `services[${i}].port`, h('input', { type: 'number', min: '1', max: '65535', value: s.port ?? '', 'data-k': 'port' })),
    field('Weight %', `services[${i}].weight`, h('input', { type: 'number', min: '0', max: '100', value: s.weight ?? '', 'data-k': 'weight' })),
  );
  row.append(
    h(
      'button',
      { type: 'button', class: 'link danger', 'aria-label': `Remove service ${i + 1}`, onclick: () => row.remove() },
      'Remove',
    ),
  );
  list.append(row);
  return row;
}

/** Rows of header or query-parameter matches (`headers` / `urlParams`). */
function predicateList(kind: 'headers' | 'urlParams', label: string, items: { key?: string; matchType: string; matchValue: string }[]): HTMLElement {
  const list = h('div', { class: 'predicates', 'data-kind': kind });
  const add = (p: { key?: string; matchType: string; matchValue: string }) => {
    const i = list.children.length;
    const row = h(
      'div',
      { class: 'row predicate' },
      field(`${label} ${i + 1} name`, `${kind}[${i}].key`, h('input', { value: p.key ?? '', autocomplete: 'off', 'data-k': 'key' })),
      field('Match', `${kind}[${i}].matchType`, h('select', { 'data-k': 'matchType' }, MATCH.map(([v, l]) => h('option', { value: v, selected: p.matchType === v }, l)))),
      field('Value', `${kind}[${i}].matchValue`, h('input', { value: p.matchValue ?? '', autocomplete: 'off', 'data-k': 'matchValue' })),
    );
    row.append(h('button', { type: 'button', class: 'link danger', 'aria-label': `Remove ${label.toLowerCase()} ${i + 1}`, onclick: () => row.remove() }, 'Remove'));
    list.append(row);
    return row;
  };
  items.forEach(add);
  return h(
    'fieldset',
    {},
    h('legend', {}, `${label} matches`),
    h('div', { 'data-error-for': kind, class: 'err', role: 'alert' }),
    list,
    h('button', { type: 'button', class: 'secondary', onclick: () => add({ matchType: 'EQUAL', matchValue: '' }).querySelector('input')?.focus() }, `Add ${label.toLowerCase()} match`),
  );
}

function predicatesOf(form: HTMLElement, kind: string) {
  return [...form.querySelectorAll(`.predicates[data-kind="${kind}"] .predicate`)]
    .map((row) => {
      const v = (k: string) => (row.querySelector(`[data-k="${k}"]`) as HTMLInputElement).value;
      return { key: v('key').trim(), matchType: v('matchType'), matchValue: v('matchValue'), caseSensitive: null };
    })
    .filter((p) => p.key || p.matchValue);
}

/** `/routes/new` (name null) and `/routes/<name>`. */
export async function routeEditor(name: string | null): Promise<HTMLElement> {
  const [domains, services, loaded] = await Promise.all([
    get<Domain[]>('/v1/domains').then((d) => d ?? []),
    get<{ name: string; port?: number }[]>('/v1/services').then((s) => s ?? []).catch(() => []),
    name ? get<Route>(`/v1/routes/${seg(name)}`) : Promise.resolve(null),
  ]);
  const route: Route = loaded ?? { name: '', domains: [], path: { matchType: 'PRE', matchValue: '/' }, services: [{ name: '', port: null, weight: 100 }] };
  const chosen = new Set(route.domains ?? []);
  const methods = new Set(route.methods ?? []);
  const svcList = h('div', { class: 'services' });
  (route.services?.length ? route.services : [{ name: '' }]).forEach((s, i) => serviceRow(svcList, s, i));
  const notice = h('div', { class: 'notice-slot' });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'route-h', novalidate: true },
    formError(),
    field('Name', 'name', h('input', { value: route.name, required: true, readonly: !!name, autocomplete: 'off', autofocus: !name })),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Domains (none: every domain)'),
      h('div', { 'data-error-for': 'domains', class: 'err', role: 'alert' }),
      domains.length
        ? domains.map((d) =>
            h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'domain', value: d.name, checked: chosen.has(d.name) }), d.name),
          )
        : h('p', { class: 'empty' }, 'No domains defined; the route serves every host.'),
    ),
    h(
      'div',
      { class: 'row' },
      field('Path match', 'path.matchType', h('select', {}, MATCH.map(([v, l]) => h('option', { value: v, selected: route.path?.matchType === v }, l)))),
      field('Path', 'path.matchValue', h('input', { value: route.path?.matchValue ?? '/', required: true, autocomplete: 'off' })),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'path.caseSensitive', checked: route.path?.caseSensitive !== false }), 'Case sensitive'),
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Methods (none: any)'),
      h('div', { 'data-error-for': 'methods', class: 'err', role: 'alert' }),
      METHODS.map((m) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'method', value: m, checked: methods.has(m) }), m)),
    ),
    predicateList('headers', 'Header', route.headers ?? []),
    predicateList('urlParams', 'Query parameter', route.urlParams ?? []),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Services (weights sum to 100 when more than one)'),
      h('div', { 'data-error-for': 'services', class: 'err', role: 'alert' }),
      svcList,
      h('button', { type: 'button', class: 'secondary', onclick: () => serviceRow(svcList, { name: '' }, svcList.children.length).querySelector('input')?.focus() }, 'Add service'),
      h('datalist', { id: 'known-services' }, services.map((s) => h('option', { value: s.name }))),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, name ? 'Save route' : 'Create route'), h('a', { href: '/routes', class: 'button secondary' }, 'Cancel')),
  ) as HTMLFormElement;

  const collect = (): Route => {
    const q = (n: string) => form.querySelector(`[name="${n}"]`) as HTMLInputElement;
    const checked = (n: string) => [...form.querySelectorAll<HTMLInputElement>(`input[name="${n}"]:checked`)].map((c) => c.value);
    const svcs = [...svcList.querySelectorAll('fieldset.service')].map((fs) => {
      const v = (k: string) => (fs.querySelector(`[data-k="${k}"]`) as HTMLInputElement).value.trim();
      return { name: v('name'), port: v('port') ? Number(v('port')) : null, weight: v('weight') ? Number(v('weight')) : null, version: null };
    });
    return {
      ...route,
      name: q('name').value.trim(),
      domains: checked('domain'),
      path: { matchType: q('path.matchType').value, matchValue: q('path.matchValue').value, caseSensitive: q('path.caseSensitive').checked },
      methods: checked('method'),
      headers: predicatesOf(form, 'headers'),
      urlParams: predicatesOf(form, 'urlParams'),
      services: svcs,
    };
  };

  const save = async (body: Route) => {
    clearErrors(form);
    notice.replaceChildren();
    try {
      if (name) await put(`/v1/routes/${seg(name)}`, body);
      else await post('/v1/routes', body);
      navigate('/routes', true);
    } catch (e) {
      if (e instanceof ApiError && e.conflict && name) {
        const n = conflictNotice(
          e,
          () => navigate(`/routes/${seg(name)}`, true),
          async () => {
            const current = await get<Route>(`/v1/routes/${seg(name)}`);
            await save({ ...body, version: current.version });
          },
        );
        notice.replaceChildren(n);
        n.focus();
      } else if (e instanceof ApiError && e.conflict) {
        showErrors(form, `name: ${e.message}`);
      } else showErrors(form, e instanceof ApiError ? e.message : String(e));
    }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void save(collect());
  });
  return page(name ? `Route ${name}` : 'New route', [], route.readonly ? h('p', { class: 'warn' }, 'This route was not written by the console; saving rewrites it in the console\u2019s shape.') : null, notice, form);
}
