// Domains: list and create (HTTP / HTTPS / force-HTTPS, certificate name).
import { ApiError, del, Domain, get, post, seg } from '../api';
import { field, formError, h, showErrors } from '../dom';
import { navigate } from '../router';
import { page, table } from './common';
import { submitting, value } from './auth';

/** `/domains`. */
export async function domainsPage(): Promise<HTMLElement> {
  const domains = (await get<Domain[]>('/v1/domains')) ?? [];
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'new-domain-h' },
    h('h2', { id: 'new-domain-h' }, 'Add a domain'),
    formError(),
    h(
      'div',
      { class: 'row' },
      field('Name', 'name', h('input', { placeholder: 'example.com', required: true, autocomplete: 'off' })),
      field(
        'HTTPS',
        'enableHttps',
        h('select', {}, h('option', { value: 'off' }, 'off (HTTP only)'), h('option', { value: 'on' }, 'on'), h('option', { value: 'force' }, 'force (redirect HTTP)')),
      ),
      field('Certificate', 'certIdentifier', h('input', { placeholder: 'TLS certificate name', autocomplete: 'off' })),
    ),
    h('button', { type: 'submit' }, 'Add domain'),
  ) as HTMLFormElement;
  submitting(form, async () => {
    const cert = value(form, 'certIdentifier').trim();
    await post('/v1/domains', { name: value(form, 'name').trim(), enableHttps: value(form, 'enableHttps'), certIdentifier: cert || null });
    navigate('/domains', true);
  });
  const rows = domains.map((d) => [
    d.name,
    d.enableHttps ?? 'off',
    d.certIdentifier ?? '—',
    h(
      'button',
      {
        type: 'button',
        class: 'link danger',
        'aria-label': `Delete domain ${d.name}`,
        onclick: async () => {
          if (!confirm(`Delete domain ${d.name}?`)) return;
          try {
            await del(`/v1/domains/${seg(d.name)}`);
            navigate('/domains', true);
          } catch (e) {
            showErrors(form, e instanceof ApiError ? e.message : String(e));
          }
        },
      },
      'Delete',
    ),
  ]);
  return page('Domains', [], table('Domains', ['Name', 'HTTPS', 'Certificate', ''], rows, 'No domains yet.'), form);
}
