// What is live: store state, the route table as compiled (match order), and every
// rejected or stale resource with its file / data id, field and message. Refreshes itself.
import { Diagnostic, get, RouteTable, Status } from '../api';
import { h } from '../dom';
import { page, table } from './common';

function destinations(r: RouteTable['routes'] extends (infer T)[] | null ? T : never): string {
  if (r.action.type === 'redirect') return `redirect ${r.action.code} → ${r.action.to}`;
  return r.action.destinations
    .map((d) => `${d.name} (${d.weight})${d.endpoints.length ? ` → ${d.endpoints.join(', ')}` : ' → no endpoints'}`)
    .join('; ');
}

function diagnosticRows(ds: Diagnostic[]): string[][] {
  return ds.map((d) => [d.severity, d.source, d.resource ? `${d.resource[0]} ${d.resource[1]}` : '—', d.field ?? '—', d.message]);
}

async function content(): Promise<HTMLElement[]> {
  const [status, routeTable] = await Promise.all([get<Status>('/v1/gantry/status'), get<RouteTable>('/v1/gantry/route-table')]);
  const ok = status.storeState.state === 'ok';
  const errors = status.diagnostics.filter((d) => d.severity === 'error');
  const warnings = status.diagnostics.filter((d) => d.severity !== 'error');
  const store = h(
    'dl',
    { class: 'facts' },
    h('dt', {}, 'Store'),
    h('dd', {}, status.store),
    h('dt', {}, 'State'),
    h('dd', { class: ok ? 'good' : 'bad' }, ok ? 'connected' : `unreachable: ${status.storeState.message ?? ''}`),
    h('dt', {}, 'Revision'),
    h('dd', {}, `${status.revision}${status.appliedRevision != null ? ` (gateway serves ${status.appliedRevision})` : ''}`),
    h('dt', {}, 'Routes live'),
    h('dd', {}, String(status.routes)),
    status.restoredFrom ? [h('dt', {}, 'Started from'), h('dd', { class: 'bad' }, status.restoredFrom)] : null,
  );
  const routes = routeTable.routes
    ? table(
        'Route table, in match order',
        ['#', 'Host', 'Match', 'Path', 'Conditions', 'Ingress', 'Upstream'],
        routeTable.routes.map((r, i) => [String(i + 1), r.host, r.match_type + (r.ignore_case ? ' (any case)' : ''), r.path, (r.conditions ?? []).join(', ') || '—', r.ingress, destinations(r)]),
        'The route table is empty: no request matches a route.',
      )
    : h('p', { class: 'empty' }, 'The gateway does not report its route table.');
  return [
    h('h2', {}, 'Store'),
    store,
    h('h2', { id: 'rejected' }, `Rejected resources (${errors.length})`),
    table('Rejected resources', ['Severity', 'File / data id', 'Resource', 'Field', 'Message'], diagnosticRows(errors), 'Nothing rejected: every resource in the store is live.'),
    status.stale.length
      ? table('Served at their last good version', ['Kind', 'Name', 'Broken source'], status.stale.map((s) => [s.kind, s.name, s.source]), '')
      : null,
    warnings.length ? [h('h2', {}, `Warnings (${warnings.length})`), table('Warnings', ['Severity', 'File / data id', 'Resource', 'Field', 'Message'], diagnosticRows(warnings), '')] : null,
    h('h2', {}, 'Route table'),
    routes,
  ].flat().filter(Boolean) as HTMLElement[];
}

/** `/live`. Re-reads every 3 s while shown. */
export async function liveView(): Promise<HTMLElement> {
  const body = h('div', { class: 'live' }, await content());
  const stamp = h('small', { class: 'stamp', 'aria-live': 'off' }, `updated ${new Date().toLocaleTimeString()}`);
  const refresh = async () => {
    if (!body.isConnected) return clearInterval(timer);
    try {
      body.replaceChildren(...(await content()));
      stamp.textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      stamp.textContent = `update failed: ${(e as Error).message}`;
    }
  };
  const timer = setInterval(() => void refresh(), 3000);
  return page('Live', [stamp, h('button', { type: 'button', class: 'secondary', onclick: () => void refresh() }, 'Refresh')], body);
}
