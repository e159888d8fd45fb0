/**
 * A local benchmark of the controller's hot path (not wired to a cluster):
 * HTTP/1.1 keep-alive requests per second straight to a pod, then through the
 * controller to the same pod, in one run, on 127.0.0.1.
 *
 *   load (worker thread) ──────────────────────────────▶ pod (worker thread)
 *   load (worker thread) ──▶ controller (this thread) ──▶ pod (worker thread)
 *
 * The load generator is a minimal raw-socket client (one request in flight
 * per connection) so that it costs little next to what is measured.
 *
 *   npx tsx -e "import('./packages/workloads/src/ingress/bench.ts').then(m => m.benchIngress()).then(console.log)"
 */
import { Worker } from 'node:worker_threads';
import type { EndpointSlice, Ingress, Service } from '@kubemu/api';
import { StaticCache } from '../kube/index.js';
import { bufferedAccessLog } from './access-log.js';
import { IngressController, type Cached, type ControllerCaches } from './controller.js';

// "static": a fixed 23-byte answer (the cheapest pod there is); "echo": what kubemu/echo answers (JSON of the request).
const POD = `
const { createServer } = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const body = Buffer.from('You have hit bench-pod\\n');
const s = createServer({ keepAliveTimeout: 60000 }, (req, res) => {
  req.resume();
  if (workerData.pod === 'echo') {
    const b = JSON.stringify({ pod: 'bench-pod', podIP: '127.0.0.1', node: '', clientIP: req.socket.remoteAddress, method: req.method, path: req.url, headers: req.headers }) + '\\n';
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) });
    return res.end(b);
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
s.listen(0, '127.0.0.1', () => parentPort.postMessage(s.address().port));
`;

const LOAD = `
const { connect } = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
const { port, connections, durationMs } = workerData;
const req = Buffer.from('GET /bench HTTP/1.1\\r\\nHost: bench.example\\r\\n\\r\\n');
let done = 0, errors = 0, stop = false;
function one() {
  const s = connect(port, '127.0.0.1');
  s.setNoDelay(true);
  let buf = '';
  s.on('connect', () => s.write(req));
  s.on('data', (d) => {
    buf += d.toString('latin1');
    for (;;) {
      const h = buf.indexOf('\\r\\n\\r\\n');
      if (h < 0) return;
      const m = /content-length: *(\\d+)/i.exec(buf.slice(0, h));
      const len = m ? Number(m[1]) : 0;
      if (buf.length < h + 4 + len) return;
      buf = buf.slice(h + 4 + len);
      done++;
      if (stop) return s.destroy();
      s.write(req);
    }
  });
  s.on('error', () => { errors++; });
}
for (let i = 0; i < connections; i++) one();
setTimeout(() => { stop = true; parentPort.postMessage({ done, errors }); }, durationMs);
`;

function startPodWorker(pod: 'static' | 'echo'): Promise<{ port: number; worker: Worker }> {
  const worker = new Worker(POD, { eval: true, workerData: { pod } });
  return new Promise((resolve, reject) => {
    worker.once('message', (port: number) => resolve({ port, worker }));
    worker.once('error', reject);
  });
}

async function load(port: number, connections: number, durationMs: number): Promise<number> {
  const worker = new Worker(LOAD, { eval: true, workerData: { port, connections, durationMs } });
  const r = await new Promise<{ done: number; errors: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  if (r.errors) throw new Error(`load generator saw ${r.errors} socket errors`);
  return (r.done * 1000) / durationMs;
}

export interface BenchResult {
  directRps: number;
  proxiedRps: number;
  /** proxied / direct */
  ratio: number;
}

/** Measures requests/s direct and through the controller; `rounds` alternates them to even out noise. */
export async function benchIngress(opts: { connections?: number; durationMs?: number; rounds?: number; pod?: 'static' | 'echo' } = {}): Promise<BenchResult> {
  const connections = opts.connections ?? 32;
  const durationMs = opts.durationMs ?? 3000;
  const rounds = opts.rounds ?? 2;
  const pod = await startPodWorker(opts.pod ?? 'static');
  const objects = {
    ingresses: new StaticCache<Cached<Ingress>>([
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'bench', namespace: 'default' },
        spec: { rules: [{ host: 'bench.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'bench', port: { number: 80 } } } }] } }] },
      },
    ]),
    ingressClasses: new StaticCache(),
    services: new StaticCache<Cached<Service>>([{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'bench', namespace: 'default' }, spec: { ports: [{ port: 80, protocol: 'TCP' }] } }]),
    endpointSlices: new StaticCache<Cached<EndpointSlice>>([
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'bench-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'bench' } },
        addressType: 'IPv4',
        ports: [{ name: '', port: pod.port, protocol: 'TCP' }],
        endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'bench-pod' } }],
      },
    ]),
    secrets: new StaticCache(),
  } as ControllerCaches;
  // The access log is written as in a pod, to a sink that costs no disk.
  const access = bufferedAccessLog('/dev/null');
  const ctl = new IngressController(objects, { host: '127.0.0.1', httpPort: 0, httpsPort: 0, accessLog: access.log });
  const { httpPort } = await ctl.start();
  try {
    await load(httpPort, connections, 500); // warm up both paths
    await load(pod.port, connections, 500);
    let direct = 0;
    let proxied = 0;
    for (let i = 0; i < rounds; i++) {
      direct += await load(pod.port, connections, durationMs);
      proxied += await load(httpPort, connections, durationMs);
    }
    return { directRps: Math.round(direct / rounds), proxiedRps: Math.round(proxied / rounds), ratio: Math.round((proxied / direct) * 100) / 100 };
  } finally {
    await ctl.stop();
    access.close();
    await pod.worker.terminate();
  }
}
