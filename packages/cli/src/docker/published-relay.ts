/**
 * Docker Desktop has no route from the host to the cluster network, only
 * published ports, and a published port reaches a container's own address.
 * The load-balancer container therefore relays its own :80 and :443 to the
 * Ingress controller's LoadBalancer address (the same ports), so
 * `curl -H 'Host: kubia.example.com' http://127.0.0.1:8080/` works there. The
 * relayed connection enters the load balancer's data plane like any client's
 * (from this container's address, so the client address is not kept).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface RelayTarget {
  listenHost: string;
  listenPort: number;
  targetHost: string;
  targetPort: number;
}

export class PublishedRelay {
  readonly #servers: Server[] = [];
  readonly #sockets = new Set<Socket>();
  readonly #log: (line: string) => void;

  constructor(log: (line: string) => void) {
    this.#log = log;
  }

  async listen(t: RelayTarget): Promise<void> {
    // Half-open on both sides: a client that shuts down its sending side still gets the whole answer.
    const server = createServer({ allowHalfOpen: true }, (client) => this.#relay(client, t));
    server.on('error', (e) => this.#log(`relay ${t.listenHost}:${t.listenPort}: ${e.message}`));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(t.listenPort, t.listenHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#servers.push(server);
    this.#log(`relaying ${t.listenHost}:${t.listenPort} → ${t.targetHost}:${t.targetPort}`);
  }

  close(): void {
    for (const s of this.#servers) s.close();
    for (const s of this.#sockets) s.destroy();
  }

  #relay(client: Socket, t: RelayTarget): void {
    const upstream = connect({ host: t.targetHost, port: t.targetPort, allowHalfOpen: true });
    for (const s of [client, upstream]) {
      this.#sockets.add(s);
      s.setNoDelay(true);
      s.once('close', () => this.#sockets.delete(s));
    }
    // An error on either side ends both: a refused upstream resets the client, as the target would.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.resetAndDestroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
