/**
 * luksa/kubia and luksa/kubia-unhealthy, as in the book: HTTP on 8080 answering
 * "You've hit <hostname>"; the unhealthy one answers 500 after five requests.
 */
import { createServer } from 'node:http';
import { hostname } from 'node:os';
import { clientIP, listen, onTerminate } from './http-util.js';

export async function kubia(opts: { unhealthy?: boolean; port?: number } = {}): Promise<void> {
  let requests = 0;
  console.log('Kubia server starting...');
  const server = createServer((req, res) => {
    console.log(`Received request from ${clientIP(req.socket)}`);
    requests++;
    if (opts.unhealthy && requests > 5) {
      res.writeHead(500);
      res.end("I'm not well. Please restart me!\n");
      return;
    }
    res.writeHead(200);
    res.end(`You've hit ${hostname()}\n`);
  });
  onTerminate(() => server.close());
  await listen(server, opts.port ?? 8080);
}
