/**
 * The userspace data plane of the load balancer: this process listens on
 * each frontend (the external address is on the LB's eth0) and relays every
 * connection to a node's node port, with kube-proxy's userspace pieces: a
 * round robin per frontend (ClientIP affinity keeps a client on one node),
 * dial retries on the next node, per-connection accounting. Nodes see the
 * LB's address as the client (a relay cannot keep it). Source ranges are
 * enforced by the kernel (the firewall part of table kubemu-lb), so a client
 * outside them is dropped, not reset.
 */
import type { Logger } from 'pino';
import { ConnLog, RoundRobin, TcpProxy, UdpProxy, nftRunner, type ConnFanout, type ConnRecord, type NftRunner } from '@kubemu/kube-proxy';
import type { Frontend, LbDataPlane } from '../frontend.js';
import { LB_TABLE, lbModel, lbScript, type LbModel } from '../nftables/lb-rules.js';

interface Listener {
  frontend: Frontend;
  rr: RoundRobin;
  relay: TcpProxy | UdpProxy;
}

const listenKey = (f: Frontend) => `${f.key} ${f.protocol} ${f.ip}:${f.port}`;

export class UserspaceLb implements LbDataPlane {
  readonly mode = 'userspace' as const;
  readonly #log: Logger;
  readonly #runner: () => Promise<NftRunner>;
  readonly #listeners = new Map<string, Listener>();
  readonly #connLog: ConnLog;
  readonly #udpIdleMs: number;
  #firewall?: LbModel;

  readonly #onFrontendError?: (f: Frontend, message: string) => void;

  /** `onFrontendError`: a frontend that cannot be served (its address:port taken); the others still are. */
  /** `events`: the live connection stream the relays report opens and closes to while watched. */
  constructor(opts: { log: Logger; runner?: () => Promise<NftRunner>; udpIdleMs?: number; onFrontendError?: (f: Frontend, message: string) => void; events?: ConnFanout }) {
    this.#log = opts.log;
    this.#connLog = new ConnLog(4096, opts.events);
    this.#onFrontendError = opts.onFrontendError;
    this.#runner = opts.runner ?? nftRunner;
    this.#udpIdleMs = opts.udpIdleMs ?? 30_000;
  }

  async sync(frontends: Frontend[]): Promise<void> {
    const model = lbModel(frontends.map((f) => ({ ...f, backends: [] })));
    const r = await (await this.#runner()).run(lbScript(model, this.#firewall));
    if (r.code !== 0) {
      this.#firewall = undefined;
      throw new Error(`nft rejected the load balancer's firewall rules: ${r.stderr.trim().split('\n')[0]}`);
    }
    this.#firewall = model;

    // A frontend without a healthy node has no listener: its clients are refused at once, as in nftables mode.
    const want = new Map(frontends.filter((f) => f.backends.length > 0).map((f) => [listenKey(f), f]));
    for (const [k, l] of this.#listeners) {
      if (want.has(k)) continue;
      l.relay.close();
      this.#listeners.delete(k);
    }
    const failures: string[] = [];
    for (const [k, f] of want) {
      let l = this.#listeners.get(k);
      if (!l) {
        const rr = new RoundRobin();
        const common = {
          host: f.ip,
          port: f.port,
          service: f.key,
          via: 'load-balancer',
          node: 'load-balancer',
          log: this.#log,
          connLog: this.#connLog,
          pick: (clientIP: string, attempt: number) => rr.next(clientIP, Date.now(), attempt > 0),
        };
        const relay = f.protocol === 'UDP' ? new UdpProxy({ ...common, idleMs: this.#udpIdleMs }) : new TcpProxy(common);
        try {
          await relay.listen();
        } catch (e) {
          const msg = `cannot listen on ${f.ip}:${f.port}/${f.protocol}: ${(e as Error).message}`;
          if (this.#onFrontendError) this.#onFrontendError(f, msg);
          else failures.push(msg);
          continue;
        }
        l = { frontend: f, rr, relay };
        this.#listeners.set(k, l);
      }
      l.frontend = f;
      l.rr.setAffinity(f.affinitySeconds);
      l.rr.setEndpoints(f.backends.map((b) => `${b.ip}:${b.port}`));
    }
    if (failures.length) throw new Error(failures.join('; '));
  }

  async connections(limit: number): Promise<{ total: number; items: ConnRecord[] }> {
    return { total: this.#connLog.total, items: this.#connLog.recent(limit) };
  }

  async stop(): Promise<void> {
    for (const l of this.#listeners.values()) l.relay.close();
    this.#listeners.clear();
    await (await this.#runner()).run(`table ip ${LB_TABLE} {}\ndelete table ip ${LB_TABLE}\n`);
  }
}
