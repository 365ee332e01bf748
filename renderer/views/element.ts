/** Tiny DOM helpers for the views (no framework). Text always goes through textContent, never innerHTML. */

export interface ElementOptions {
  class?: string;
  text?: string;
  attrs?: Record<string, string>;
  hidden?: boolean;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  opts: ElementOptions = {},
  children: ReadonlyArray<Node | string> = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (opts.class) node.className = opts.class;
  if (opts.text !== undefined) node.textContent = opts.text;
  if (opts.hidden) node.hidden = true;
  for (const [k, v] of Object.entries(opts.attrs ?? {})) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

/** Sets text only when it changed (keeps layout and selection stable under frequent updates). */
export function setText(node: Node, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

export function setAttr(node: Element, name: string, value: string): void {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

export function button(text: string, opts: { class?: string; attrs?: Record<string, string>; hidden?: boolean } = {}): HTMLButtonElement {
  return el('button', { class: `btn${opts.class ? ' ' + opts.class : ''}`, text, hidden: opts.hidden, attrs: { type: 'button', ...(opts.attrs ?? {}) } });
}

/** A labelled form control with an optional hint under it. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLLabelElement {
  const children: Array<Node | string> = [el('span', { class: 'field-label', text: label }), control];
  if (hint) children.push(el('span', { class: 'field-hint', text: hint }));
  return el('label', { class: 'field' }, children);
}

/** A <select> with (value, label) options. */
export function select(name: string, options: ReadonlyArray<readonly [string, string]>): HTMLSelectElement {
  return el('select', { attrs: { name } }, options.map(([value, label]) => el('option', { text: label, attrs: { value } })));
}
