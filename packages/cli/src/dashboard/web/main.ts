/**
 * The dashboard page: connects to the server's WebSocket with the cluster's
 * token (given in the URL's fragment, kept for the tab's life), applies the
 * snapshot and the changes, and redraws what changed at most once a frame.
 */

import { ClusterMap } from './map.js';
import { renderConnections, renderEvents, renderExplain, renderPod, renderProbes, renderTimeline, renderTrace, type ExplainCheck } from './panels.js';
import { Store } from './store.js';
import type { ServerMessage } from '../view.js';

const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
if (fromHash) {
  sessionStorage.setItem('kubemu-token', fromHash);
  history.replaceState(null, '', location.pathname);
}
const token = sessionStorage.getItem('kubemu-token') ?? '';

const $ = (id: string) => document.getElementById(id)!;
const store = new Store();
const status = $('status');
const details = $('details');
let detail: { kind: 'service' | 'pod' | 'none'; key: string } = { kind: 'none', key: '' };

const map = new ClusterMap($('map'), store, {
  selectService: (key) => void explain(key),
  selectPod: (key) => {
    detail = { kind: 'pod', key };
    renderPod(details, store, key);
  },
});

async function explain(key: string): Promise<void> {
  detail = { kind: 'service', key };
  map.selected = key;
  store.dirty.add('map');
  store.dirty.add('selected');
  schedule();
  renderExplain(details, `Service ${key}`, { reachable: false, checks: [{ status: 'skip', text: 'checking…' }] });
  try {
    const res = await fetch(`/api/explain/service/${key}`, { headers: { Authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { reachable?: boolean; checks: ExplainCheck[]; reminders?: string[] } | { error: string };
    if (detail.key === key) renderExplain(details, `Service ${key}`, body);
  } catch (e) {
    renderExplain(details, `Service ${key}`, { error: (e as Error).message });
  }
}

let frame = 0;
function schedule(): void {
  if (!frame) frame = requestAnimationFrame(render);
}

/** When the page got its data and drew it (ms since navigation), for benchmarks: window.kubemuTimes. */
const times: Record<string, number> = ((window as unknown as { kubemuTimes: Record<string, number> }).kubemuTimes = {});

function render(): void {
  frame = 0;
  const t0 = performance.now();
  const d = store.dirty;
  $('cluster').textContent = store.cluster;
  if (d.has('map') || d.has('traffic')) map.render(d as ReadonlySet<string>);
  if (d.has('probes')) renderProbes($('probes'), store);
  if (d.has('traffic')) renderConnections($('connections'), store, (c) => {
    detail = { kind: 'none', key: c.id };
    renderTrace(details, store, c);
  });
  if (d.has('timeline')) renderTimeline($('timeline'), store);
  if (d.has('events')) renderEvents($('events'), store);
  if (detail.kind === 'pod' && d.has('map')) renderPod(details, store, detail.key);
  const counts = `${store.objects.nodes.size} nodes · ${store.objects.pods.size} pods · ${store.objects.services.size} services`;
  $('counts').textContent = counts;
  d.clear();
  document.body.dataset.rendered = String(Date.now());
  times.firstRender ??= performance.now();
  times.lastRenderMs = performance.now() - t0;
}

let backoff = 500;
function connect(): void {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?token=${encodeURIComponent(token)}`);
  ws.onopen = () => {
    times.wsOpen ??= performance.now();
    backoff = 500;
    status.textContent = 'live';
    status.className = 'ok';
  };
  ws.onmessage = (ev) => {
    const m = JSON.parse(String(ev.data)) as ServerMessage;
    if (m.type === 'error') {
      // An empty message: the trouble is over.
      status.textContent = m.message || 'live';
      status.className = m.message ? 'bad' : 'ok';
      return;
    }
    if (m.type === 'snapshot') times.snapshot ??= performance.now();
    store.apply(m);
    schedule();
  };
  ws.onclose = (ev) => {
    status.textContent = ev.code === 4401 ? 'wrong or missing token: open the URL kubemu dashboard printed' : 'disconnected, reconnecting…';
    status.className = 'bad';
    if (ev.code !== 4401) setTimeout(connect, (backoff = Math.min(backoff * 2, 5000)));
  };
}

if (!token) {
  status.textContent = 'no token: open the URL `kubemu dashboard` printed';
  status.className = 'bad';
} else connect();
window.addEventListener('resize', () => map.drawLines());
$('map').addEventListener('scroll', () => map.drawLines());
document.title = 'kubemu dashboard';
