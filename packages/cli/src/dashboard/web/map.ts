/**
 * The live map: the load balancer and its node checks on top, Ingresses,
 * Services (each with its effective endpoints: ready / serving-but-not-ready
 * / terminating, and the connections per second reaching each), and one
 * column per node holding its pods. Lines join a Service to the pods behind
 * its endpoints (all of them on a small cluster; the selected Service and
 * the ones carrying traffic on a big one).
 */
import { h, KeyedList } from './dom.js';
import { viewKey, type Store } from './store.js';
import type { EndpointView, IngressView, NodeView, PodView, ServiceView, TrafficView } from '../view.js';

/** Above this many endpoint lines, only the selected Service's and those with traffic are drawn. */
const MAX_LINES = 400;

export interface MapHandlers {
  selectService(key: string): void;
  selectPod(key: string): void;
}

export function endpointState(e: EndpointView): 'ready' | 'serving' | 'terminating' | 'unready' {
  if (e.ready) return 'ready';
  if (e.terminating) return e.serving ? 'serving' : 'terminating';
  return 'unready';
}

export class ClusterMap {
  readonly #services: KeyedList<ServiceItem>;
  readonly #ingresses: KeyedList<IngressView>;
  readonly #nodes: KeyedList<{ node: NodeView; healthy?: boolean }>;
  readonly #nodePods = new Map<string, KeyedList<PodView>>();
  readonly #svg: SVGSVGElement;
  selected = '';

  constructor(
    readonly root: HTMLElement,
    readonly store: Store,
    readonly on: MapHandlers,
  ) {
    const ing = h('div', { class: 'row ingresses', 'data-section': 'ingresses' });
    const svcs = h('div', { class: 'row services', 'data-section': 'services' });
    const nodes = h('div', { class: 'row nodes', 'data-section': 'nodes' });
    this.#svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    this.#svg.setAttribute('class', 'lines');
    root.replaceChildren(this.#svg, h('h3', {}, 'Ingresses'), ing, h('h3', {}, 'Services'), svcs, h('h3', {}, 'Nodes and pods'), nodes);
    // Anything that changes a row's size moves what the lines join: redraw them (once a frame).
    let pending = 0;
    const redraw = new ResizeObserver(() => {
      if (!pending) pending = requestAnimationFrame(() => ((pending = 0), this.drawLines()));
    });
    for (const row of [ing, svcs, nodes]) redraw.observe(row);
    this.#ingresses = new KeyedList<IngressView>(ing, viewKey, (i) => this.#ingressCard(i));
    this.#services = new KeyedList<ServiceItem>(
      svcs,
      (x) => viewKey(x.svc),
      (x) => this.#serviceCard(x),
      (a, b) => a.svc !== b.svc || a.rev !== b.rev || a.traffic !== b.traffic || a.selected !== b.selected,
    );
    this.#nodes = new KeyedList<{ node: NodeView; healthy?: boolean }>(
      nodes,
      (x) => x.node.name,
      (x) => this.#nodeColumn(x.node, x.healthy),
      (a, b) => a.node !== b.node || a.healthy !== b.healthy,
    );
  }

  /** Redraws the sections whose data changed (`dirty`: the store's dirty set; all when omitted). */
  render(dirty?: ReadonlySet<string>): void {
    const s = this.store;
    const all = !dirty;
    const has = (...k: string[]) => all || k.some((x) => dirty!.has(x));
    const byName = (a: { namespace: string; name: string }, b: { namespace: string; name: string }) => viewKey(a).localeCompare(viewKey(b), undefined, { numeric: true });
    if (has('ingresses')) this.#ingresses.update([...s.objects.ingresses.values()].sort(byName));
    if (has('services', 'slices', 'traffic', 'selected')) this.#renderServices(byName);
    if (has('nodes', 'pods', 'probes')) this.#renderNodes(byName);
    this.drawLines();
  }

  readonly #trafficSig = new Map<string, string>();
  readonly #trafficOf = new Map<string, TrafficView[]>();

  #renderServices(byName: (a: ServiceView, b: ServiceView) => number): void {
    const s = this.store;
    const eps = new Map<string, Map<string, EndpointView>>();
    for (const sl of s.objects.slices.values()) {
      const k = `${sl.namespace}/${sl.service}`;
      let m = eps.get(k);
      if (!m) eps.set(k, (m = new Map()));
      for (const e of sl.endpoints) if (!m.has(e.ip)) m.set(e.ip, e);
    }
    // Traffic lists are kept as the same array while their numbers do not change, so unchanged cards are not redrawn.
    const traffic = new Map<string, TrafficView[]>();
    for (const t of s.traffic) (traffic.get(t.service) ?? traffic.set(t.service, []).get(t.service)!).push(t);
    for (const [k, list] of traffic) {
      const sig = JSON.stringify(list);
      if (this.#trafficSig.get(k) !== sig) {
        this.#trafficSig.set(k, sig);
        this.#trafficOf.set(k, list);
      }
    }
    for (const k of [...this.#trafficOf.keys()]) if (!traffic.has(k)) (this.#trafficOf.delete(k), this.#trafficSig.delete(k));
    const services = [...s.objects.services.values()].sort(byName);
    this.#services.update(
      services.map((svc) => {
        const k = viewKey(svc);
        return {
          svc,
          rev: s.sliceRev.get(k) ?? 0,
          eps: [...(eps.get(k)?.values() ?? [])].sort((a, b) => a.ip.localeCompare(b.ip, undefined, { numeric: true })),
          traffic: this.#trafficOf.get(k) ?? NO_TRAFFIC,
          selected: this.selected === k,
        };
      }),
    );
  }

  #renderNodes(byName: (a: PodView, b: PodView) => number): void {
    const s = this.store;
    const podsByNode = new Map<string, PodView[]>();
    for (const p of s.objects.pods.values()) (podsByNode.get(p.node) ?? podsByNode.set(p.node, []).get(p.node)!).push(p);
    const health = new Map<string, boolean>();
    for (const n of s.lb?.nodes ?? []) if (n.key.endsWith(' proxy')) health.set(n.node, n.healthy);
    const nodes = [...s.objects.nodes.values()].sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
    if (podsByNode.has('')) nodes.push(this.#unscheduled);
    this.#nodes.update(nodes.map((node) => ({ node, healthy: health.get(node.name) })));
    for (const node of nodes) {
      const col = this.#nodes.element(node.name);
      if (!col) continue;
      let list = this.#nodePods.get(node.name);
      const holder = col.querySelector<HTMLElement>('.pods')!;
      if (!list || list.parent !== holder) {
        list = new KeyedList<PodView>(holder, viewKey, (p) => this.#podChip(p));
        this.#nodePods.set(node.name, list);
      }
      list.update((podsByNode.get(node.name) ?? []).sort(byName));
    }
    for (const name of [...this.#nodePods.keys()]) if (!s.objects.nodes.has(name) && !(name === '' && podsByNode.has(''))) this.#nodePods.delete(name);
  }

  readonly #unscheduled: NodeView = { name: '', ip: '', ready: false, reason: 'not scheduled', podCIDR: '' };

  /** Lines from each Service's endpoints to the pods behind them. */
  drawLines(): void {
    const svg = this.#svg;
    const box = this.root.getBoundingClientRect();
    svg.setAttribute('width', String(this.root.scrollWidth));
    svg.setAttribute('height', String(this.root.scrollHeight));
    const lines: { svc: string; pod: string; state: string; cps: number }[] = [];
    const cps = new Map(this.store.traffic.map((t) => [`${t.service}\t${t.endpoint.split(':')[0]}`, t.cps]));
    for (const sl of this.store.objects.slices.values()) {
      const svc = `${sl.namespace}/${sl.service}`;
      for (const e of sl.endpoints) if (e.pod) lines.push({ svc, pod: e.pod, state: endpointState(e), cps: cps.get(`${svc}\t${e.ip}`) ?? 0 });
    }
    const shown = lines.length <= MAX_LINES ? lines : lines.filter((l) => l.svc === this.selected || l.cps > 0);
    const parts: string[] = [];
    const ox = box.left - this.root.scrollLeft;
    const oy = box.top - this.root.scrollTop;
    /** A curve from the bottom middle of `a` to the top middle of `b`, in the map's coordinates. */
    const curve = (a: Element, b: Element, cls: string, key: string, width: number) => {
      const ra = a.getBoundingClientRect();
      const rb = b.getBoundingClientRect();
      const [x1, y1, x2, y2] = [ra.left + ra.width / 2 - ox, ra.bottom - oy, rb.left + rb.width / 2 - ox, rb.top - oy].map((v) => v.toFixed(1));
      const my = ((Number(y1) + Number(y2)) / 2).toFixed(1);
      parts.push(`<path class="${cls}" data-line="${escapeAttr(key)}" stroke-width="${width.toFixed(1)}" d="M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}"/>`);
    };
    for (const l of shown) {
      const a = this.#services.element(l.svc)?.querySelector(`[data-endpoint-pod="${CSS.escape(l.pod)}"]`) ?? this.#services.element(l.svc);
      const b = this.#podElement(l.pod);
      if (!a || !b) continue;
      const cls = `line ${l.state}${l.cps > 0 ? ' busy' : ''}${l.svc === this.selected ? ' selected' : ''}`;
      curve(a, b, cls, `${l.svc}>${l.pod}`, l.cps > 0 ? Math.min(6, 1.5 + Math.log2(1 + l.cps)) : 1.2);
    }
    // Ingress rules → the Services they send to.
    for (const i of this.store.objects.ingresses.values()) {
      const from = this.#ingresses.element(viewKey(i));
      if (!from) continue;
      for (const svc of new Set(i.rules.map((r) => r.service).filter((x) => x && !x.includes('/')))) {
        const to = this.#services.element(`${i.namespace}/${svc}`);
        if (to) curve(from, to, 'line ingress', `${viewKey(i)}>${i.namespace}/${svc}`, 1.5);
      }
    }
    svg.innerHTML = parts.join('');
  }

  #podElement(key: string): HTMLElement | undefined {
    const p = this.store.objects.pods.get(key);
    return p ? this.#nodePods.get(p.node)?.element(key) : undefined;
  }

  #ingressCard(i: IngressView): HTMLElement {
    return h(
      'div',
      { class: 'card ingress', 'data-ingress': viewKey(i) },
      h('div', { class: 'title' }, h('b', {}, i.name), ` ${i.namespace}`, h('span', { class: 'tag' }, i.className || 'no class')),
      h('div', { class: 'addr' }, i.lbIPs.length ? i.lbIPs.join(', ') : 'no address yet'),
      ...i.rules.map((r) => h('div', { class: 'rule' }, `${r.host}${r.path} (${r.pathType}) → ${r.service}:${r.port}`)),
      i.defaultBackend ? h('div', { class: 'rule' }, `default → ${i.defaultBackend}`) : undefined,
      ...i.tls.map((t) => h('div', { class: 'rule tls' }, `TLS ${t.hosts.join(', ') || '*'} from Secret ${t.secretName}`)),
    );
  }

  #serviceCard({ svc, eps, traffic }: ServiceItem): HTMLElement {
    const key = viewKey(svc);
    const rate = new Map(traffic.map((t) => [t.endpoint.split(':')[0], t]));
    const total = traffic.reduce((n, t) => n + t.cps, 0);
    const ports = svc.ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol}${p.targetPort !== String(p.port) ? `→${p.targetPort}` : ''}`).join(' ');
    const ready = eps.filter((e) => e.ready).length;
    return h(
      'div',
      {
        class: `card service${this.selected === key ? ' selected' : ''}${eps.length && ready === 0 ? ' broken' : ''}${!eps.length && svc.selector ? ' broken' : ''}`,
        'data-service': key,
        'data-ready-endpoints': ready,
        onclick: () => this.on.selectService(key),
        title: 'click: explain this Service',
      },
      h('div', { class: 'title' }, h('b', {}, svc.name), ` ${svc.namespace}`, h('span', { class: `tag ${svc.type}` }, svc.type)),
      h('div', { class: 'addr' }, `${svc.clusterIP || 'None'} ${ports}`),
      svc.type === 'LoadBalancer' ? h('div', { class: `addr lb${svc.lbPending ? ' pending' : ''}` }, svc.lbPending ? 'EXTERNAL-IP <pending>' : `LB ${svc.lbIPs.join(', ')}`) : undefined,
      svc.externalTrafficPolicy === 'Local' || svc.sessionAffinity === 'ClientIP'
        ? h('div', { class: 'addr' }, [svc.externalTrafficPolicy === 'Local' ? `Local policy (hc :${svc.healthCheckNodePort ?? '?'})` : '', svc.sessionAffinity === 'ClientIP' ? `ClientIP affinity ${svc.affinitySeconds}s` : ''].filter(Boolean).join(' · '))
        : undefined,
      h(
        'div',
        { class: 'endpoints' },
        ...(eps.length
          ? eps.map((e) => {
              const t = rate.get(e.ip);
              const st = endpointState(e);
              return h(
                'span',
                { class: `ep ${st}`, 'data-endpoint': e.ip, 'data-endpoint-pod': e.pod, 'data-state': st, title: `${e.ip} on ${e.node || '?'}: ${st}` },
                e.pod ? e.pod.split('/')[1]! : e.ip,
                t && t.cps > 0 ? h('span', { class: 'cps' }, `${t.cps}/s`) : undefined,
              );
            })
          : [h('span', { class: 'none' }, svc.selector ? 'no endpoints' : 'no selector: Endpoints by hand')]),
      ),
      total > 0 ? h('div', { class: 'rate' }, `${Math.round(total * 10) / 10} conn/s`) : undefined,
    );
  }

  #nodeColumn(node: NodeView, healthy: boolean | undefined): HTMLElement {
    return h(
      'div',
      { class: `node${node.ready ? '' : ' down'}`, 'data-node': node.name || '(unscheduled)', 'data-ready': node.ready },
      h(
        'div',
        { class: 'title' },
        h('b', {}, node.name || 'not scheduled'),
        ` ${node.ip}`,
        node.name ? h('span', { class: `tag ${node.ready ? 'ok' : 'bad'}` }, node.ready ? 'Ready' : node.reason || 'NotReady') : undefined,
        healthy === undefined ? undefined : h('span', { class: `tag ${healthy ? 'ok' : 'bad'}`, title: 'as the load balancer sees it' }, healthy ? 'LB ✔' : 'LB ✘'),
      ),
      h('div', { class: 'pods' }),
    );
  }

  #podChip(p: PodView): HTMLElement {
    const state = p.terminating ? 'terminating' : p.ready ? 'ready' : p.phase === 'Running' ? 'unready' : p.phase.toLowerCase();
    return h(
      'div',
      { class: `pod ${state}`, 'data-pod': viewKey(p), 'data-ready': p.ready, 'data-phase': p.phase, onclick: () => this.on.selectPod(viewKey(p)), title: `${viewKey(p)} ${p.ip} ${p.phase}${p.owner ? ` (${p.owner})` : ''}` },
      h('span', { class: 'dot' }),
      h('span', { class: 'name' }, p.name),
      h('span', { class: 'ip' }, p.ip || '—'),
      p.restarts ? h('span', { class: 'restarts', title: 'restarts' }, `↻${p.restarts}`) : undefined,
      p.terminating ? h('span', { class: 'tag bad' }, 'Terminating') : undefined,
    );
  }
}

interface ServiceItem {
  svc: ServiceView;
  /** The store's slice revision for this Service: changes when any of its EndpointSlices does. */
  rev: number;
  eps: EndpointView[];
  traffic: TrafficView[];
  selected: boolean;
}

const NO_TRAFFIC: TrafficView[] = [];

function escapeAttr(s: string): string {
  return s.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);
}
