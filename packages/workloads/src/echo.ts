/**
 * The echo server: tells the caller who answered and who it saw.
 *   HTTP (default 8080): JSON {pod, podIP, node, clientIP, method, path, headers};
 *                        a WebSocket upgrade on any path echoes each message back, prefixed "<pod>: " 
 *   TCP  (--tcp-port):   each line back, prefixed "<pod> <clientIP>: "
 *   UDP  (--udp-port):   each datagram back, prefixed the same way
 */
import { createSocket } from 'node:dgram';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { hostname } from 'node:os';
import { WebSocketServer } from 'ws';
import { clientIP, listen, onTerminate } from './http-util.js';

export interface EchoOptions {
  httpPort?: number | null;
  tcpPort?: number | null;
  udpPort?: number | null;
}

export async function echo(opts: EchoOptions = {}): Promise<void> {
  const pod = hostname();
  const podIP = process.env.POD_IP ?? '';
  const closers: (() => void)[] = [];
  if (opts.httpPort !== null) {
    const server = createHttpServer((req, res) => {
      const body = JSON.stringify({ pod, podIP, node: process.env.NODE_NAME ?? '', clientIP: clientIP(req.socket), method: req.method, path: req.url, headers: req.headers });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(`${body}\n`);
    });
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      socket.on('error', () => socket.destroy());
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `${pod}: ${data.toString()}`));
        ws.on('error', () => ws.terminate());
      });
    });
    await listen(server, opts.httpPort ?? 8080);
    closers.push(() => server.close(), () => wss.close());
  }
  if (opts.tcpPort) {
    const server = createTcpServer((sock) => {
      const from = clientIP(sock);
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString();
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          sock.write(`${pod} ${from}: ${buf.slice(0, nl)}\n`);
          buf = buf.slice(nl + 1);
        }
      });
      sock.on('end', () => {
        if (buf) sock.write(`${pod} ${from}: ${buf}`);
        sock.end();
      });
      sock.on('error', () => sock.destroy());
    });
    await listen(server, opts.tcpPort);
    closers.push(() => server.close());
  }
  if (opts.udpPort) {
    const sock = createSocket('udp4');
    sock.on('message', (msg, rinfo) => sock.send(`${pod} ${rinfo.address}: ${msg.toString()}`, rinfo.port, rinfo.address));
    await new Promise<void>((r) => sock.bind(opts.udpPort!, '0.0.0.0', r));
    closers.push(() => sock.close());
  }
  onTerminate(() => closers.forEach((c) => c()));
}
