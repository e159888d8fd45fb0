/**
 * A controller on 127.0.0.1 fed by StaticCaches, in front of real backend
 * servers ("pods") on their own ports, for the ingress tests.
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse, Agent } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { EndpointSlice, Ingress, IngressClass, Secret, Service } from '@kubemu/api';
import { StaticCache } from '../../kube/index.js';
import type { AccessRecord } from '../access-log.js';
import { IngressController, type Cached, type ControllerCaches, type ControllerOptions } from '../controller.js';
import type { IngressEvent, IngressRef } from '../events.js';
import type { IngressAddress } from '../status.js';
import { makeDefaultCertificate, type KeyPair } from '../certs.js';
import { slice } from './fixtures.js';

export interface Pod {
  name: string;
  port: number;
  server: Server;
  /** TCP connections the pod accepted. */
  connections: number;
  requests: { method: string; url: string; headers: IncomingHttpHeaders }[];
}

export type PodHandler = (pod: Pod, req: IncomingMessage, res: ServerResponse) => void;

/** Answers `<pod name>` and echoes the request as JSON (headers included). */
export const echoHandler: PodHandler = (pod, req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.stringify({ pod: pod.name, method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
    res.writeHead(200, { 'content-type': 'application/json', 'x-pod': pod.name });
    res.end(body);
  });
};

export async function startPod(name: string, handler: PodHandler = echoHandler): Promise<Pod> {
  const pod: Pod = { name, port: 0, server: createServer(), connections: 0, requests: [] };
  pod.server.on('connection', () => pod.connections++);
  pod.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    pod.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(pod, req, res);
  });
  await new Promise<void>((r) => pod.server.listen(0, '127.0.0.1', r));
  pod.port = (pod.server.address() as AddressInfo).port;
  return pod;
}

export function stopPod(pod: Pod): Promise<void> {
  pod.server.closeAllConnections();
  return new Promise((r) => pod.server.close(() => r()));
}

/** One slice per pod (each pod listens on its own port, as pods whose named port resolves differently). */
export function podSlices(svc: string, portName: string, pods: readonly Pod[], namespace = 'default'): EndpointSlice[] {
  return pods.map((p) => slice(svc, [{ name: portName, port: p.port }], [{ ip: '127.0.0.1', pod: p.name }], namespace, `${svc}-${p.name}`));
}

export interface TestCluster {
  ingresses: StaticCache<Cached<Ingress>>;
  ingressClasses: StaticCache<Cached<IngressClass>>;
  services: StaticCache<Cached<Service>>;
  endpointSlices: StaticCache<Cached<EndpointSlice>>;
  secrets: StaticCache<Cached<Secret>>;
}

export interface Started {
  ctl: IngressController;
  cluster: TestCluster;
  httpPort: number;
  httpsPort: number;
  events: IngressEvent[];
  access: AccessRecord[];
  statusWrites: { ref: IngressRef; addresses: IngressAddress[] }[];
  stop(): Promise<void>;
}

let defaultCert: Promise<KeyPair> | undefined;

export async function startController(
  objs: { ingresses?: Ingress[]; ingressClasses?: IngressClass[]; services?: Service[]; slices?: EndpointSlice[]; secrets?: Secret[] },
  opts: Partial<ControllerOptions> = {},
): Promise<Started> {
  const cast = <T>(xs: T[] | undefined) => (xs ?? []) as Cached<T>[];
  const cluster: TestCluster = {
    ingresses: new StaticCache(cast(objs.ingresses)),
    ingressClasses: new StaticCache(cast(objs.ingressClasses)),
    services: new StaticCache(cast(objs.services)),
    endpointSlices: new StaticCache(cast(objs.slices)),
    secrets: new StaticCache(cast(objs.secrets)),
  };
  const events: IngressEvent[] = [];
  const access: AccessRecord[] = [];
  const statusWrites: Started['statusWrites'] = [];
  defaultCert ??= makeDefaultCertificate();
  const ctl = new IngressController(cluster as ControllerCaches, {
    host: '127.0.0.1',
    httpPort: 0,
    httpsPort: 0,
    defaultCert: await defaultCert,
    onEvent: (e) => events.push(e),
    accessLog: (r) => access.push(r),
    writeStatus: async (ref, addresses) => void statusWrites.push({ ref, addresses }),
    ...opts,
  });
  const ports = await ctl.start();
  return { ctl, cluster, ...ports, events, access, statusWrites, stop: () => ctl.stop() };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  socket: Socket;
}

/** One HTTP/1.1 request to the controller; `host` sets the Host header. */
export function get(port: number, path: string, o: { host?: string; headers?: Record<string, string>; agent?: Agent | false; method?: string; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(o.host ? { host: o.host } : {}), ...o.headers };
    const req = request({ host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers, agent: o.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), socket: res.socket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

/** Waits until `fn` returns true (polling), or fails after `ms`. */
export async function eventually(fn: () => boolean | Promise<boolean>, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not met in time');
}

/** Lets a coalesced rebuild run. */
export const tick = () => new Promise((r) => setImmediate(r));
