// Service sources (McpBridge registries): list and create dns, static and nacos sources.
import { ApiError, del, get, post, seg, ServiceSource } from '../api';
import { field, formError, h, showErrors } from '../dom';
import { navigate } from '../router';
import { submitting, value } from './auth';
import { page, table } from './common';

const HINT: Record<string, string> = {
  dns: 'Domain names, comma-separated (a.example.com,b.example.com)',
  static: 'Addresses ip:port, comma-separated (10.0.0.1:8080,10.0.0.2:8080)',
  nacos2: 'Nacos server address (host or IP)',
  nacos: 'Nacos server address (host or IP)',
};

/** `/service-sources`. */
export async function sourcesPage(): Promise<HTMLElement> {
  const sources = (await get<ServiceSource[]>('/v1/service-sources')) ?? [];
  const hint = h('small', { id: 'domain-hint' }, HINT.dns);
  const nacosOnly = h(
    'div',
    { class: 'row', hidden: true },
    field('Nacos namespace id', 'properties.nacosNamespaceId', h('input', { autocomplete: 'off' })),
    field('Nacos groups', 'properties.nacosGroups', h('input', { value: 'DEFAULT_GROUP', autocomplete: 'off' }), 'comma-separated'),
  );
  const typeSelect = h(
    'select',
    {
      onchange: (ev: Event) => {
        const t = (ev.target as HTMLSelectElement).value;
        hint.textContent = HINT[t] ?? '';
        nacosOnly.hidden = !t.startsWith('nacos');
      },
    },
    h('option', { value: 'dns' }, 'DNS'),
    h('option', { value: 'static' }, 'static addresses'),
    h('option', { value: 'nacos2' }, 'Nacos 2.x'),
    h('option', { value: 'nacos' }, 'Nacos 1.x'),
  );
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'new-src-h' },
    h('h2', { id: 'new-src-h' }, 'Add a service source'),
    formError(),
    h(
      'div',
      { class: 'row' },
      field('Name', 'name', h('input', { required: true, autocomplete: 'off' })),
      field('Type', 'type', typeSelect),
      field('Port', 'port', h('input', { type: 'number', min: '1', max: '65535', value: '80' })),
    ),
    field('Domain / addresses', 'domain', h('input', { required: true, autocomplete: 'off' })),
    hint,
    nacosOnly,
    h('button', { type: 'submit' }, 'Add service source'),
  ) as HTMLFormElement;
  submitting(form, async () => {
    const type = value(form, 'type');
    const body: ServiceSource = {
      name: value(form, 'name').trim(),
      type,
      domain: value(form, 'domain').trim(),
      port: value(form, 'port') ? Number(value(form, 'port')) : null,
    };
    if (type.startsWith('nacos')) {
      body.properties = {
        nacosNamespaceId: value(form, 'properties.nacosNamespaceId').trim(),
        nacosGroups: value(form, 'properties.nacosGroups').split(',').map((g) => g.trim()).filter(Boolean),
      };
    }
    await post('/v1/service-sources', body);
    navigate('/service-sources', true);
  });
  const rows = sources.map((s) => [
    s.name,
    s.type,
    s.domain,
    s.port == null ? '—' : String(s.port),
    h(
      'button',
      {
        type: 'button',
        class: 'link danger',
        'aria-label': `Delete service source ${s.name}`,
        onclick: async () => {
          if (!confirm(`Delete service source ${s.name}?`)) return;
          try {
            await del(`/v1/service-sources/${seg(s.name)}`);
            navigate('/service-sources', true);
          } catch (e) {
            showErrors(form, e instanceof ApiError ? e.message : String(e));
          }
        },
      },
      'Delete',
    ),
  ]);
  return page('Service sources', [], table('Service sources', ['Name', 'Type', 'Domain / addresses', 'Port', ''], rows, 'No service sources yet.'), form);
}
