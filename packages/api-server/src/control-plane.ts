/**
 * The control plane process as a class: store, registry, bootstrap objects,
 * controllers, the HTTPS API and the agent socket — started and stopped as one.
 * `main.ts` (the kubemu CLI's `control-plane` command) is a thin wrapper.
 */
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { API_SERVER_PORT, DEFAULT_SERVICE_CIDR, addressInCidr } from '@kubemu/api';
import { SqliteStore } from './store/sqlite-store.js';
import { RES, Registry } from './registry/registry.js';
import { bootstrap } from './system/bootstrap.js';
import { NamespaceController } from './system/namespace-controller.js';
import { startControllers } from './controllers/index.js';
import { ApiServer } from './http/api-server.js';
import { AgentSocket } from './agent/agent-socket.js';
import { MetricsStore } from './metrics/metrics-api.js';
import { kubeconfigYaml, loadOrCreateCredentials, type Credentials } from './security/pki.js';
import { ServiceAccountTokens } from './security/service-account-tokens.js';
import { Authenticator } from './security/authenticator.js';
import { TokenRequests } from './registry/token-requests.js';

export interface ControlPlaneOptions {
  /** Where the store, PKI and kubeconfig live. */
  dataDir: string;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Listen port (default 6443; 0 picks a free one). */
  port?: number;
  /** Address the `kubernetes` Endpoints and kubeconfig advertise (default: host, or 127.0.0.1 for 0.0.0.0). */
  advertiseAddress?: string;
  serviceCIDR?: string;
  nodePortRange?: string;
  /** Seconds without a heartbeat before a node goes NotReady (default 40). */
  nodeGracePeriodSeconds?: number;
  log?: Logger;
}

export class ControlPlane {
  readonly opts: ControlPlaneOptions;
  readonly log: Logger;
  store?: SqliteStore;
  registry?: Registry;
  credentials?: Credentials;
  #api?: ApiServer;
  #agents?: AgentSocket;
  #controllers?: { stop(): void };
  #namespaces?: NamespaceController;
  /** https://host:port once started. */
  url = '';
  kubeconfigPath = '';

  constructor(opts: ControlPlaneOptions) {
    this.opts = opts;
    this.log = opts.log ?? pino({ name: 'kubemu' });
  }

  async start(): Promise<void> {
    const { dataDir } = this.opts;
    mkdirSync(dataDir, { recursive: true });
    const host = this.opts.host ?? '127.0.0.1';
    const advertise = this.opts.advertiseAddress ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
    // Pods reach the API at the `kubernetes` Service's IP, so the certificate names it too (as kube-apiserver's does).
    const serviceIP = addressInCidr(this.opts.serviceCIDR ?? DEFAULT_SERVICE_CIDR, 1);
    this.credentials = await loadOrCreateCredentials(dataDir, [host, advertise, serviceIP]);
    this.store = new SqliteStore(join(dataDir, 'store.db'));
    this.registry = new Registry(this.store, {
      serviceCIDR: this.opts.serviceCIDR,
      nodePortRange: this.opts.nodePortRange,
      log: this.log.child({ component: 'registry' }),
      serviceAccountAdmission: true,
    });
    const creds = this.credentials;
    const reg = this.registry;
    const saTokens = ServiceAccountTokens.loadOrCreate(join(dataDir, 'pki'));
    const tokenRequests = new TokenRequests(reg, saTokens);
    const authenticator = new Authenticator({
      staticTokens: { [creds.adminToken]: { username: 'kubernetes-admin' }, [creds.agentToken]: { username: 'system:kubemu:agent' } },
      serviceAccountTokens: saTokens,
      objects: { get: (kind, ns, name) => reg.get(RES[kind]!, ns, name) },
    });
    const authenticate = async (t: string) => (await authenticator.authenticate(t)) !== undefined;
    const metrics = new MetricsStore();
    this.#agents = new AgentSocket(this.registry, this.log.child({ component: 'agent-socket' }), { isAuthorized: authenticate, tokenRequests, metrics });
    this.#api = new ApiServer(this.registry, {
      cert: creds.serverCert,
      key: creds.serverKey,
      authenticate,
      tokenRequests,
      log: this.log.child({ component: 'api-server' }),
      agents: this.#agents,
      upgrades: this.#agents,
      metrics,
    });
    const addr = await this.#api.listen(host, this.opts.port ?? API_SERVER_PORT);
    bootstrap(this.registry, { ip: advertise, port: addr.port });
    this.#namespaces = new NamespaceController(this.registry, this.log.child({ component: 'namespace-controller' }));
    this.#namespaces.start();
    // Controllers' writes are recorded in managedFields as kube-controller-manager's, as in Kubernetes.
    this.#controllers = startControllers(this.registry.withManager('kube-controller-manager'), this.log.child({ component: 'controllers' }), {
      nodeGracePeriodMs: (this.opts.nodeGracePeriodSeconds ?? 40) * 1000,
    });
    this.url = `https://${advertise.includes(':') ? `[${advertise}]` : advertise}:${addr.port}`;
    this.kubeconfigPath = join(dataDir, 'kubeconfig');
    const tmp = `${this.kubeconfigPath}.tmp`;
    writeFileSync(tmp, kubeconfigYaml(this.url, creds), { mode: 0o600 });
    renameSync(tmp, this.kubeconfigPath);
    this.log.info({ url: this.url, kubeconfig: this.kubeconfigPath, resourceVersion: this.registry.resourceVersion }, 'control plane ready');
  }

  async stop(): Promise<void> {
    this.#controllers?.stop();
    this.#namespaces?.stop();
    this.#agents?.close();
    await this.#api?.close();
    this.store?.close();
    this.log.info('control plane stopped');
  }
}
