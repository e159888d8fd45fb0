/**
 * Writing a JSON response, for every HTTP handler (REST, logs, errors). A
 * leaf module: anything that answers HTTP may use it without pulling in
 * the resource handler.
 */
import type { ServerResponse } from 'node:http';

export function sendJSON(res: ServerResponse, code: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': data.length, 'Cache-Control': 'no-cache, private' });
  // A Buffer, not a string: Node then writes the headers as latin1, which
  // keeps the UTF-8 bytes of Warning headers (see warningHeader) intact.
  res.end(data);
}

/** Takes over HTTP upgrades it owns (the agent WebSocket); false leaves the request to the next handler. */
export interface UpgradeHandler {
  handleUpgrade(req: import('node:http').IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): boolean;
}
