/**
 * The panels beside the map: details of what was clicked (a Service's
 * explain checklist, a pod, a connection's hops), the load balancer's node
 * checks, Local Services' healthCheckNodePort answers and the client address
 * their pods see, ClientIP affinity held by each proxy, the latest
 * connections, the rollout timeline and the Events.
 */
import { ago, clear, clock, h } from './dom.js';
import type { Store } from './store.js';
import type { ConnectionView } from '../view.js';

/** One line of `kubemu explain service` (its JSON form). */
export interface ExplainCheck {
  id?: string;
  status: 'ok' | 'fail' | 'skip';
  text: string;
  details?: string[];
  fix?: string;
}

function section(title: string, ...body: (Node | string | undefined)[]): HTMLElement {
  return h('section', {}, h('h3', {}, title), ...body);
}

function table(head: string[], rows: (string | Node)[][], attrs: Record<string, string> = {}): HTMLElement {
  return h('table', attrs, h('thead', {}, h('tr', {}, ...head.map((c) => h('th', {}, c)))), h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))));
}

export function renderProbes(el: HTMLElement, s: Store): void {
  const lb = s.lb;
  const parts: HTMLElement[] = [];
  if (lb) {
    parts.push(
      section(
        `Load balancer ${lb.ip}${lb.mode ? ` (${lb.mode})` : ''}`,
        lb.reachable ? undefined : h('p', { class: 'bad' }, `not answering: ${lb.error ?? ''}`),
        lb.nodes.length
          ? table(
              ['check', 'healthy', 'detail'],
              lb.nodes.map((n) => [n.key, h('span', { class: n.healthy ? 'ok' : 'bad' }, n.healthy ? '✔' : '✘'), n.detail]),
              { 'data-panel': 'lb-health' },
            )
          : undefined,
        lb.frontends.length ? table(['frontend', 'Service', 'nodes used'], lb.frontends.map((f) => [`${f.ip}:${f.port}/${f.protocol}`, f.service, f.backends.join(', ') || h('span', { class: 'bad' }, 'none: refused')])) : undefined,
      ),
    );
  }
  const services = [...s.objects.services.values()].filter((x) => x.type === 'NodePort' || x.type === 'LoadBalancer');
  if (services.length) {
    parts.push(
      section(
        'Client address the pods see',
        table(
          ['Service', 'policy', 'from outside, a pod sees'],
          services.map((x) => [`${x.namespace}/${x.name}`, x.externalTrafficPolicy, x.externalTrafficPolicy === 'Local' ? "the client's own address (only nodes with a local endpoint answer)" : 'the address of the node (or LB) that forwarded it (SNAT)']),
        ),
      ),
    );
  }
  if (s.healthChecks.length) {
    parts.push(
      section(
        'healthCheckNodePort answers',
        table(
          ['Service', 'node', 'answer', 'local endpoints'],
          s.healthChecks.map((c) => [c.service, c.node, h('span', { class: c.status === 200 ? 'ok' : 'bad' }, c.status ? String(c.status) : (c.error ?? 'no answer')), String(c.localEndpoints)]),
          { 'data-panel': 'health-checks' },
        ),
      ),
    );
  }
  if (s.affinity.length || [...s.objects.services.values()].some((x) => x.sessionAffinity === 'ClientIP')) {
    parts.push(
      section(
        'ClientIP affinity',
        s.affinity.length
          ? table(['proxy', 'Service', 'client', 'endpoint', 'time left'], s.affinity.map((a) => [a.seenOn, a.service, a.client, a.endpoint, `${a.secondsLeft}s`]), { 'data-panel': 'affinity' })
          : h('p', { class: 'muted' }, 'no client is held to an endpoint right now'),
      ),
    );
  }
  if (s.cookies.length || s.objects.ingresses.size) {
    parts.push(
      section(
        'Ingress affinity cookies',
        s.cookies.length
          ? table(
              ['Ingress', 'cookie', 'pins pod', 'state', 'requests'],
              s.cookies.slice(0, 20).map((c) => [`${c.ingress} (${c.host})`, `${c.cookie}=${c.value.length > 14 ? `${c.value.slice(0, 12)}…` : c.value}`, c.pod.split('/')[1] ?? c.pod, c.state, String(c.requests)]),
              { 'data-panel': 'cookies' },
            )
          : h('p', { class: 'muted' }, 'no cookie affinity seen (an Ingress with nginx.ingress.kubernetes.io/affinity: cookie, and requests through it)'),
      ),
    );
  }
  clear(el, ...parts);
}

export function renderConnections(el: HTMLElement, s: Store, onClick: (c: ConnectionView) => void): void {
  const rows = [...s.connections].reverse().slice(0, 30);
  clear(
    el,
    section(
      'Connections',
      rows.length
        ? h(
            'div',
            { class: 'conns', 'data-panel': 'connections' },
            ...rows.map((c) =>
              h(
                'div',
                { class: `conn ${c.result && c.result !== 'ok' ? 'bad' : ''}`, 'data-connection': c.id, onclick: () => onClick(c) },
                `${clock(c.start || Date.now())} ${c.seenOn} ${c.type} ${c.client} → ${c.service} (${c.via}) → ${c.endpoint || '—'} ${c.type === 'close' ? `${c.result} ${c.bytesOut}B` : ''}`,
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'no connections seen yet (send some traffic)'),
    ),
  );
}

/** A connection's path, from the records the LB and the node made of it. */
export function renderTrace(el: HTMLElement, s: Store, c: ConnectionView): void {
  const podOf = (ip: string) => [...s.objects.pods.values()].find((p) => p.ip === ip);
  const nodeOf = (ip: string) => [...s.objects.nodes.values()].find((n) => n.ip === ip);
  const hops: HTMLElement[] = [];
  const epIP = c.endpoint.split(':')[0] ?? '';
  if (c.seenOn === 'load-balancer') {
    const n = nodeOf(epIP);
    hops.push(h('li', {}, `client ${c.client} → load balancer (${c.via}) → ${n ? n.name : epIP} at ${c.endpoint}`));
    const later = s.connections.find((x) => x.seenOn === n?.name && Math.abs(x.start - c.start) < 2000 && x.service === c.service);
    if (later) hops.push(...nodeHops(later));
  } else {
    const lbFirst = s.connections.find((x) => x.seenOn === 'load-balancer' && x.service === c.service && Math.abs(x.start - c.start) < 2000 && x.endpoint.startsWith(`${nodeOf(c.client)?.ip ?? '#'}:`));
    if (lbFirst) hops.push(h('li', {}, `client ${lbFirst.client} → load balancer → ${c.seenOn}`));
    hops.push(...nodeHops(c));
  }
  function nodeHops(x: ConnectionView): HTMLElement[] {
    const p = podOf(x.endpoint.split(':')[0] ?? '');
    return [
      h('li', {}, `${x.seenOn} kube-proxy: ${x.client} → ${x.service} (${x.via}) → endpoint ${x.endpoint || 'none'}`),
      h('li', {}, p ? `pod ${p.namespace}/${p.name} on ${p.node}` : x.endpoint ? `endpoint ${x.endpoint}` : 'no endpoint: the connection was refused'),
      h('li', {}, x.type === 'close' ? `${x.result}, ${x.bytesUnknown ? 'bytes not read (too many closing at once)' : `${x.bytesIn} B in / ${x.bytesOut} B out`}, ${x.durationMs} ms` : 'still open'),
    ];
  }
  clear(el, section(`Connection ${c.id}`, h('ol', { class: 'trace', 'data-panel': 'trace' }, ...hops)));
}

export function renderExplain(el: HTMLElement, title: string, e: { reachable?: boolean; checks: ExplainCheck[]; reminders?: string[] } | { error: string }): void {
  if ('error' in e) return clear(el, section(title, h('p', { class: 'bad' }, e.error)));
  const mark = { ok: '✔', fail: '✘', skip: '–' } as const;
  clear(
    el,
    section(
      title,
      h('p', { class: e.reachable ? 'ok' : 'bad', 'data-reachable': String(!!e.reachable) }, e.reachable ? 'reachable' : 'not reachable'),
      h(
        'ul',
        { class: 'checks', 'data-panel': 'explain' },
        ...e.checks.map((c) =>
          h(
            'li',
            { class: c.status, 'data-check': c.status, 'data-check-id': c.id },
            h('span', { class: 'mark' }, mark[c.status]),
            ` ${c.text}`,
            ...(c.details ?? []).map((x) => h('div', { class: 'evidence' }, x)),
            c.fix ? h('div', { class: 'fix' }, `fix: ${c.fix}`) : undefined,
          ),
        ),
      ),
      ...(e.reminders ?? []).map((r) => h('p', { class: 'muted' }, `note: ${r}`)),
    ),
  );
}

export function renderPod(el: HTMLElement, s: Store, key: string): void {
  const p = s.objects.pods.get(key);
  if (!p) return clear(el, section(key, h('p', {}, 'gone')));
  const services = [...s.objects.services.values()].filter((x) => x.namespace === p.namespace && x.selector && Object.entries(x.selector).every(([k, v]) => p.labels[k] === v));
  clear(
    el,
    section(
      `Pod ${key}`,
      table(
        ['', ''],
        [
          ['node', p.node || 'not scheduled'],
          ['IP', p.ip || '—'],
          ['phase', p.phase],
          ['ready', p.ready ? '✔' : '✘'],
          ['restarts', String(p.restarts)],
          ['owner', p.owner || '—'],
          ['labels', Object.entries(p.labels).map(([k, v]) => `${k}=${v}`).join(' ') || '—'],
          ['selected by', services.map((x) => x.name).join(', ') || 'no Service'],
        ],
      ),
    ),
  );
}

export function renderTimeline(el: HTMLElement, s: Store): void {
  const rows = [...s.timeline].sort((a, b) => a.time - b.time).slice(-60).reverse();
  clear(
    el,
    section(
      'Rollout timeline',
      rows.length
        ? h('div', { class: 'timeline', 'data-panel': 'timeline' }, ...rows.map((t) => h('div', { class: `tl ${t.what}`, 'data-what': t.what }, h('span', { class: 'time' }, clock(t.time)), ` ${t.subject} `, h('b', {}, t.what.replace('-', ' ')), ` ${t.detail}`)))
        : h('p', { class: 'muted' }, 'scale or roll out a Deployment to see pods, endpoints and proxies change in order'),
    ),
  );
}

export function renderEvents(el: HTMLElement, s: Store): void {
  const now = Date.now();
  const rows = [...s.events].slice(-80).reverse();
  clear(el, section('Events', h('div', { class: 'events', 'data-panel': 'events' }, ...rows.map((e) => h('div', { class: `event ${e.type}` }, h('span', { class: 'time' }, ago(e.time, now)), ` ${e.type} ${e.reason} ${e.object}: ${e.message}${e.count > 1 ? ` (×${e.count})` : ''}`)))));
}
