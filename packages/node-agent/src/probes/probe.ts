/**
 * One probe attempt, as kubelet's prober runs it: exec (exit 0), httpGet
 * (200 ≤ status < 400, redirects to other hosts not followed), tcpSocket
 * (connect completes). Every attempt is bounded by timeoutSeconds.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Container, LifecycleHandler, Probe } from '@kubemu/api';

export interface ProbeResult {
  ok: boolean;
  /** Why it failed, worded like kubelet's event messages. */
  message: string;
}

export interface ProbeTarget {
  podIP: string;
  container: Container;
  /** Runs a command in the container; resolves to its exit code and output. */
  exec(command: string[], timeoutMs: number): Promise<{ code: number | null; output: string; timedOut: boolean }>;
  kubeMinor: string;
}

/** Resolves a port by number or by the container's port name. */
export function resolvePort(port: number | string, container: Container): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

export async function runProbe(probe: Probe, t: ProbeTarget): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.exec) {
    const r = await t.exec(probe.exec.command ?? [], timeoutMs);
    if (r.timedOut) return { ok: false, message: `command ${JSON.stringify((probe.exec.command ?? []).join(' '))} timed out` };
    return r.code === 0 ? { ok: true, message: '' } : { ok: false, message: r.output.trim() || `command exited with ${r.code}` };
  }
  if (probe.httpGet) {
    const g = probe.httpGet;
    const port = resolvePort(g.port, t.container);
    if (!port) return { ok: false, message: `port ${String(g.port)} not found in container` };
    return httpProbe(g.scheme ?? 'HTTP', g.host || t.podIP, port, g.path ?? '/', g.httpHeaders ?? [], timeoutMs, t.kubeMinor);
  }
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, t.container);
    if (!port) return { ok: false, message: `port ${String(probe.tcpSocket.port)} not found in container` };
    return tcpProbe(probe.tcpSocket.host || t.podIP, port, timeoutMs);
  }
  return { ok: false, message: 'probe has no handler (grpc is not supported by kubemu)' };
}

/**
 * Runs a lifecycle hook (preStop, postStart) as kubelet does: exec, httpGet
 * or tcpSocket like a probe attempt, or sleep; bounded by `timeoutMs`.
 */
export async function runHook(h: LifecycleHandler, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  if (h.sleep) {
    await new Promise((r) => setTimeout(r, Math.min(timeoutMs, Math.max(0, h.sleep!.seconds) * 1000)));
    return { ok: true, message: '' };
  }
  return runProbe({ exec: h.exec, httpGet: h.httpGet, tcpSocket: h.tcpSocket, timeoutSeconds: timeoutMs / 1000 }, t);
}

function httpProbe(scheme: string, host: string, port: number, path: string, headers: { name: string; value: string }[], timeoutMs: number, minor: string): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const hdrs: Record<string, string> = { 'User-Agent': `kube-probe/1.${minor}`, Accept: '*/*' };
    for (const h of headers) hdrs[h.name] = h.value;
    const url = `${scheme.toLowerCase()}://${host.includes(':') ? `[${host}]` : host}:${port}${path.startsWith('/') ? path : `/${path}`}`;
    const fn = scheme === 'HTTPS' ? httpsRequest : httpRequest;
    const req = fn(url, { method: 'GET', headers: hdrs, timeout: timeoutMs, rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      if (code >= 200 && code < 400) resolve({ ok: true, message: '' });
      else resolve({ ok: false, message: `HTTP probe failed with statuscode: ${code}` });
    });
    req.on('timeout', () => req.destroy(new Error(`Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ECONNREFUSED' ? `dial tcp ${host}:${port}: connect: connection refused` : e.message;
      resolve({ ok: false, message: why.startsWith('Get ') ? why : `Get "${url}": ${why}` });
    });
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok: true, message: '' });
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, message: e.code === 'ECONNREFUSED' ? `dial tcp ${host}:${port}: connect: connection refused` : `dial tcp ${host}:${port}: ${e.message}` });
    });
  });
}
