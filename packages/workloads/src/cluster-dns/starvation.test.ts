/**
 * One client floods the server from a worker thread (as fast as it can
 * send, never waiting for replies); another client, asking one question at
 * a time from another address (127.0.0.2; the flood comes from 127.0.0.1),
 * must still get its answers promptly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import * as dnsPacket from 'dns-packet';
import { query, startTestServer, udpExchange } from './testing/client.js';

const FLOODER = `
const { createSocket } = require('node:dgram');
const { workerData, parentPort } = require('node:worker_threads');
const sock = createSocket('udp4');
const msg = Buffer.from(workerData.msg, 'hex');
let sent = 0, stop = false;
parentPort.on('message', () => { stop = true; });
sock.bind(0, '127.0.0.1', () => {
  parentPort.postMessage('started');
  const t0 = performance.now();
  const burst = () => {
    if (stop) { sock.close(); parentPort.postMessage(sent); return; }
    // Paced at workerData.rate packets/s: more than the server can answer, less than it can read.
    const due = Math.floor((performance.now() - t0) * workerData.rate / 1000);
    for (; sent < due; sent++) sock.send(msg, workerData.port, '127.0.0.1');
    setImmediate(burst);
  };
  burst();
});
`;

/** Packets per second from the flooder. */
const FLOOD_RATE = 60_000;

let env: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  env = await startTestServer();
});
afterAll(() => env.server.close());

describe('cluster DNS fairness', () => {
  it('answers a quiet client while another floods', async () => {
    // The flood asks for a large answer, so the server is the bottleneck.
    const flood = query({ name: '_http._tcp.kubia-headless.default.svc.cluster.local', type: 'SRV', edns: 4096 });
    const worker = new Worker(FLOODER, { eval: true, workerData: { msg: flood.toString('hex'), port: env.port, rate: FLOOD_RATE } });
    await new Promise((r) => worker.once('message', r));
    await new Promise((r) => setTimeout(r, 200));
    let answered = 0;
    const latencies: number[] = [];
    const asks = 40;
    const floodStart = performance.now();
    for (let i = 0; i < asks; i++) {
      await new Promise((r) => setTimeout(r, 25));
      const t0 = performance.now();
      const reply = await udpExchange(env.port, query({ id: 5000 + i, name: 'kubia.default.svc.cluster.local' }), 500, '127.0.0.2');
      if (reply && dnsPacket.decode(reply).id === 5000 + i) {
        answered++;
        latencies.push(performance.now() - t0);
      }
    }
    const floodSeconds = (performance.now() - floodStart) / 1000 + 0.2;
    worker.postMessage('stop');
    const sent = await new Promise<number>((r) => worker.once('message', r));
    await worker.terminate();
    latencies.sort((a, b) => a - b);
    const p50 = latencies[Math.floor(latencies.length / 2)] ?? Infinity;
    expect(sent, 'the flood really flooded').toBeGreaterThan(FLOOD_RATE * floodSeconds * 0.5);
    expect(answered, `answered ${answered}/${asks}, p50 ${p50.toFixed(1)} ms, flood ${sent} packets`).toBeGreaterThanOrEqual(asks - 2);
    expect(p50).toBeLessThan(100);
  }, 30_000);
});
