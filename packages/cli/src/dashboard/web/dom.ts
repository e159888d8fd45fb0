/** Tiny DOM helpers for the dashboard page: element creation and keyed lists. */

type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;

/** `h('div', {class: 'x', onclick: f}, 'text', child)`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string | undefined | false)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (k.startsWith('data-')) el.setAttribute(k, String(v));
    else if (v === false) continue;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== undefined && c !== false) el.append(c);
  return el;
}

/**
 * Keeps `parent`'s children equal to one element per item, in order, reusing
 * the element of an item whose key is kept: `render` is called only for new
 * items and items `changed` says differ from the last ones drawn (by
 * default: not the same object — the store replaces a view when it changes,
 * so identity is enough and costs nothing on 3,000 pods).
 */
export class KeyedList<T> {
  readonly #els = new Map<string, { el: HTMLElement; item: T }>();

  constructor(
    readonly parent: HTMLElement,
    readonly key: (t: T) => string,
    readonly render: (t: T) => HTMLElement,
    readonly changed: (before: T, now: T) => boolean = (a, b) => a !== b,
  ) {}

  update(items: T[]): void {
    const keep = new Set<string>();
    let prev: Element | null = null;
    for (const t of items) {
      const k = this.key(t);
      keep.add(k);
      let held = this.#els.get(k);
      if (!held || this.changed(held.item, t)) {
        const el = this.render(t);
        if (held) held.el.replaceWith(el);
        held = { el, item: t };
        this.#els.set(k, held);
      } else held.item = t;
      const want: Element | null = prev ? prev.nextElementSibling : this.parent.firstElementChild;
      if (want !== held.el) this.parent.insertBefore(held.el, want);
      prev = held.el;
    }
    for (const [k, held] of this.#els) {
      if (!keep.has(k)) {
        held.el.remove();
        this.#els.delete(k);
      }
    }
  }

  element(key: string): HTMLElement | undefined {
    return this.#els.get(key)?.el;
  }
}

export function clear(el: HTMLElement, ...children: (Node | string)[]): void {
  el.replaceChildren(...children);
}

export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

export function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}
