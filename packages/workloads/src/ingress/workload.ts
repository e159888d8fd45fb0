/**
 * The `kubemu/ingress-controller` image: the controller as a pod.
 *
 *   ingress-controller --http-port 80 --https-port 443 --health-port 10254
 *                      --ingress-class kubemu
 *                      --publish-service ingress-kubemu/ingress-kubemu-controller
 *                      [--proxy-read-timeout 60] [--proxy-connect-timeout 5]
 *
 * Reads the API with the pod's service account (informers on Ingresses,
 * IngressClasses, Services, EndpointSlices, Secrets), posts Events and
 * Ingress status back, answers /healthz on the health port (200 once the
 * caches are synced and the listeners are up, 503 before).
 */
import { createServer } from 'node:http';
import { pino } from 'pino';
import { onTerminate, parseFlags } from '../http-util.js';
import { inClusterConfig, Informer, KubeClient, type KubeObjectLike } from '../kube/index.js';
import { bufferedAccessLog } from './access-log.js';
import { eventPoster, statusWriter } from './api-sinks.js';
import type { EndpointSlice, Ingress, IngressClass, Secret, Service } from '@kubemu/api';
import { IngressController, type Cached, type ControllerCaches } from './controller.js';

function num(flags: Map<string, string>, name: string, def: number): number {
  const v = flags.get(name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${name}: "${v}" is not a valid number`);
  return n;
}

export function parsePublishService(v: string | undefined): { namespace: string; name: string } | undefined {
  if (!v) return undefined;
  const [namespace, name, ...rest] = v.split('/');
  if (!namespace || !name || rest.length) throw new Error(`--publish-service: "${v}" is not <namespace>/<name>`);
  return { namespace, name };
}

export async function ingressControllerWorkload(args: string[]): Promise<void> {
  const { flags } = parseFlags(args);
  const log = pino({ base: { node: process.env.NODE_NAME, pod: process.env.HOSTNAME } }).child({ component: 'ingress' });
  const httpPort = num(flags, 'http-port', 80);
  const httpsPort = num(flags, 'https-port', 443);
  const healthPort = num(flags, 'health-port', 10254);
  const publishService = parsePublishService(flags.get('publish-service'));
  const client = new KubeClient(inClusterConfig());
  const informer = <T extends KubeObjectLike>(path: string) => new Informer<T>(client, { path, log: (m) => log.warn(m) });
  const caches = {
    ingresses: informer<Cached<Ingress>>('/apis/networking.k8s.io/v1/ingresses'),
    ingressClasses: informer<Cached<IngressClass>>('/apis/networking.k8s.io/v1/ingressclasses'),
    services: informer<Cached<Service>>('/api/v1/services'),
    endpointSlices: informer<Cached<EndpointSlice>>('/apis/discovery.k8s.io/v1/endpointslices'),
    secrets: informer<Cached<Secret>>('/api/v1/secrets'),
  } satisfies ControllerCaches;
  const all = Object.values(caches) as Informer<KubeObjectLike>[];
  let ready = false;
  const health = createServer((req, res) => {
    const ok = req.url === '/healthz' && ready;
    res.writeHead(req.url === '/healthz' ? (ok ? 200 : 503) : 404, { 'content-type': 'text/plain' });
    res.end(ok ? 'ok\n' : req.url === '/healthz' ? 'not ready\n' : 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    health.once('error', (e) => reject(new Error(`cannot listen on :${healthPort}: ${e.message}`)));
    health.listen(healthPort, '0.0.0.0', resolve);
  });
  for (const i of all) i.start();
  await Promise.all(all.map((i) => i.waitSynced()));
  const access = bufferedAccessLog(1, { node: process.env.NODE_NAME, pod: process.env.HOSTNAME });
  const ctl = new IngressController(caches, {
    ingressClass: flags.get('ingress-class') ?? 'kubemu',
    publishService,
    httpPort,
    httpsPort,
    readTimeoutMs: num(flags, 'proxy-read-timeout', 60) * 1000,
    connectTimeoutMs: num(flags, 'proxy-connect-timeout', 5) * 1000,
    log,
    accessLog: access.log,
    onEvent: eventPoster(client, (err) => log.warn({ err: err.message }, 'could not post event')),
    writeStatus: statusWriter(client),
  });
  await ctl.start();
  ready = true;
  log.info({ httpPort, httpsPort, healthPort, ingressClass: flags.get('ingress-class') ?? 'kubemu', publishService }, 'ingress controller serving');
  onTerminate(() => {
    ready = false;
    for (const i of all) i.stop();
    void ctl.stop();
    access.close();
    health.close();
    client.close();
  });
}
