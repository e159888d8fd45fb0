/**
 * `kubemu trace URL --from pod/NAME`: the traced request is sent by curl
 * inside the pod, on its node: in the network, mount and UTS namespaces of
 * one of its processes (as `kubectl exec` enters them), so the pod's own
 * /etc/resolv.conf resolves Service names through cluster DNS and the
 * connection leaves from the pod's address through its node's kube-proxy.
 * curl reports the status, the addresses it used and the time after the
 * body (a `-w` trailer).
 */
import type { Pod } from '@kubemu/api';
import { podNetnsName, podUidKey } from '@kubemu/netns';
import type { ChaosRuntime } from '../chaos/runtime.js';
import type { TraceFacts } from './facts.js';
import { SOURCE_PORTS } from './gather.js';

/** Marks the trailer curl writes after the body. */
const MARK = '\n__kubemu_trace__';

const DEFAULT_HEADERS = { 'User-Agent': 'kubemu-trace', Connection: 'close' };

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The shell line run on the pod's node: find the pod's namespace and a process in it, then curl from there. */
export function fromPodScript(cluster: string, p: Pod, url: string, timeoutMs: number, sourcePort?: number, headers: Record<string, string> = DEFAULT_HEADERS): string {
  const uid = p.metadata.uid ?? '';
  const exact = `/run/netns/${podNetnsName(cluster, uid)}`;
  // a random start in the range: consecutive traces do not reuse one client port (and its conntrack entry in TIME_WAIT)
  const first = SOURCE_PORTS.min + Math.floor(Math.random() * (SOURCE_PORTS.max - SOURCE_PORTS.min - 100));
  const ports = sourcePort ? String(sourcePort) : `${first}-${first + 99}`;
  const curl = [
    'curl', '-sS', '--max-time', String(Math.ceil(timeoutMs / 1000)), '--local-port', ports,
    ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
    '-w', `${MARK} %{http_code} %{local_ip} %{local_port} %{remote_ip} %{remote_port} %{time_total} %{size_download}`,
    url,
  ].map(q).join(' ');
  return [
    `ns=${exact}; [ -e "$ns" ] || ns=$(ls -d /run/netns/km-*-p-${podUidKey(uid)} 2>/dev/null | head -n 1)`,
    `[ -n "$ns" ] || { echo "no network namespace for pod ${p.metadata.name} on this node (is the pod still there?)" >&2; exit 3; }`,
    // a process of the pod: its mount namespace has the pod's /etc/resolv.conf
    'pid=$(ip netns pids "$(basename "$ns")" 2>/dev/null | head -n 1)',
    `if [ -n "$pid" ]; then exec nsenter --target "$pid" --net --mount --uts -- ${curl}; else exec nsenter --net="$ns" -- ${curl}; fi`,
  ].join('\n');
}

export interface PodRequest {
  local: { ip: string; port: number };
  /** The address curl connected to (a Service name resolved by the pod's DNS). */
  remote: { ip: string; port: number };
  response: TraceFacts['response'];
}

/** Parses curl's output: the body, then the trailer. */
export function parseCurlOutput(stdout: string, stderr: string, code: number): PodRequest {
  const i = stdout.lastIndexOf(MARK);
  const body = i >= 0 ? stdout.slice(0, i) : stdout;
  const [status, lip, lport, rip, rport, time] = (i >= 0 ? stdout.slice(i + MARK.length).trim() : '').split(/\s+/);
  const ms = Math.round(Number(time ?? 0) * 1000) || 0;
  const local = { ip: lip ?? '', port: Number(lport) || 0 };
  const remote = { ip: rip ?? '', port: Number(rport) || 0 };
  if (code !== 0 || !status || status === '000') {
    const why = stderr.trim().split('\n').pop()?.replace(/^curl: \(\d+\)\s*/, '') || `curl exit ${code}`;
    return { local, remote, response: { error: why, ms } };
  }
  return { local, remote, response: { status: Number(status), bytes: Buffer.byteLength(body), ms, body } };
}

export async function sendFromPod(rt: ChaosRuntime, p: Pod, url: string, timeoutMs: number, sourcePort?: number, headers?: Record<string, string>): Promise<PodRequest> {
  const node = p.spec.nodeName ?? '';
  const r = await rt.exec(node, 'sh', ['-c', fromPodScript(rt.cluster, p, url, timeoutMs, sourcePort, headers)], { allowFail: true, timeoutMs: timeoutMs + 5000 });
  if (r.code === 3) throw new Error(r.stderr.trim().split('\n')[0]);
  return parseCurlOutput(r.stdout, r.stderr, r.code);
}
