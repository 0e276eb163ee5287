// Pieces the resource pages share: page header, tables, conflict notice.
import { ApiError } from '../api';
import { h } from '../dom';

/** A page section with a heading and optional actions. */
export function page(title: string, actions: HTMLElement[], ...body: (HTMLElement | null)[]): HTMLElement {
  return h('section', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', {}, title), h('div', { class: 'actions' }, actions)), body);
}

/** A table with a caption; `rows` are arrays of cells. */
export function table(caption: string, head: string[], rows: (Node | string)[][], empty: string): HTMLElement {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h(
    'div',
    { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption },
    h(
      'table',
      {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c))))),
    ),
  );
}

/** The notice for a 409 on save: someone changed the resource since it was loaded. */
export function conflictNotice(e: ApiError, reload: () => void, overwrite?: () => void): HTMLElement {
  return h(
    'div',
    { class: 'conflict', role: 'alert', tabindex: '-1' },
    h('strong', {}, 'Conflict: '),
    'this resource was changed elsewhere since you opened it, so your change was not saved. ',
    h('span', { class: 'detail' }, e.message),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', onclick: reload }, 'Reload the current version'),
      overwrite ? h('button', { type: 'button', class: 'danger', onclick: overwrite }, 'Overwrite with my version') : null,
    ),
  );
}
