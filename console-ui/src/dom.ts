// A tiny element builder: `h('tag', {attrs}, ...children)`, no virtual DOM.

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** Creates an element; `on*` attributes become listeners, `false`/`null` ones are skipped. */
export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
    else if (k === 'value' && 'value' in el) (el as HTMLInputElement).value = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el: HTMLElement, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

let uid = 0;

/** A labelled form field; errors for `field` show in the `<p class="err">` under it. */
export function field(
  label: string,
  name: string,
  input: HTMLElement,
  hint?: string,
): HTMLElement {
  const id = `f${++uid}`;
  input.id = id;
  input.setAttribute('name', name);
  const err = h('p', { class: 'err', id: `${id}-err`, 'data-error-for': name, role: 'alert' });
  input.setAttribute('aria-describedby', `${id}-err`);
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('small', {}, hint) : null, err);
}

/** Clears a form's inline errors. */
export function clearErrors(form: HTMLElement): void {
  form.querySelectorAll<HTMLElement>('[data-error-for]').forEach((e) => (e.textContent = ''));
  form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
  const top = form.querySelector<HTMLElement>('.form-error');
  if (top) {
    top.textContent = '';
    top.hidden = true;
  }
}

/**
 * Shows an API 400 message inline: each `; `-separated part is put under the field whose
 * name it starts with (`path.matchValue: is required` → field `path.matchValue`, or the
 * longest known prefix such as `services`), else at the top of the form. Focuses the first.
 */
export function showErrors(form: HTMLElement, message: string): void {
  clearErrors(form);
  const slots = [...form.querySelectorAll<HTMLElement>('[data-error-for]')];
  const names = slots.map((s) => s.dataset.errorFor || '').sort((a, b) => b.length - a.length);
  const rest: string[] = [];
  let first: HTMLElement | null = null;
  for (const part of message.split('; ')) {
    const text = part.replace(/^[\w.]+Exception: /, '');
    const name = names.find((n) => n && (text.startsWith(n + ':') || text.startsWith(n + '.') || text.startsWith(n + '[') || text.includes(` ${n}: `)));
    const slot = name ? slots.find((s) => s.dataset.errorFor === name) : undefined;
    if (slot) {
      slot.textContent = slot.textContent ? `${slot.textContent}; ${text}` : text;
      const input = document.getElementById(slot.id.replace(/-err$/, ''));
      input?.setAttribute('aria-invalid', 'true');
      first ??= input;
    } else rest.push(text);
  }
  const top = form.querySelector<HTMLElement>('.form-error');
  if (top && rest.length) {
    top.textContent = rest.join('\n');
    top.hidden = false;
  }
  (first ?? top)?.focus();
}

/** A top-of-form error box (hidden until used). */
export function formError(): HTMLElement {
  const e = h('div', { class: 'form-error', role: 'alert', tabindex: '-1' });
  e.hidden = true;
  return e;
}
