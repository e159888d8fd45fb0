/**
 * What exec and logs first settle, as kube-apiserver's pod strategy does
 * (ExecLocation / LogLocation): the pod (404), the container (defaulted when
 * the pod has one, else 400), the node (400 "does not have a host assigned"
 * for exec) and — kubemu's part — the node's agent connection (503 when it is
 * not connected). Also: writing a Status on a raw socket, for upgrade
 * requests that are refused before any protocol starts.
 */
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { ApiError, errors, resourceForPath, type Pod, type ResourceInfo, type Status } from '@kubemu/api';
import type { Registry } from '../registry/registry.js';
import type { AgentStreams } from './agent-streams.js';

const PODS = resourceForPath('', 'v1', 'pods') as ResourceInfo;

/** Finds agent connections by node; AgentSocket is one. */
export interface AgentLookup {
  agentForNode(node: string): AgentStreams | undefined;
}

export function getPod(reg: Registry, namespace: string, name: string): Pod {
  return reg.mustGet<Pod>(PODS, namespace, name);
}

function containerNames(pod: Pod): string[] {
  const spec = pod.spec ?? { containers: [] };
  const eph = (spec.ephemeralContainers as { name?: string }[] | undefined) ?? [];
  return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...eph].map((c) => c.name ?? '');
}

/** The container a request addresses: `container` if the pod has it, the only one if unnamed. */
export function validateContainer(pod: Pod, container: string | undefined): string {
  const name = pod.metadata.name ?? '';
  if (!container) {
    const cs = pod.spec?.containers ?? [];
    if (cs.length === 1) return cs[0].name;
    if (cs.length === 0) throw errors.badRequest(`a container name must be specified for pod ${name}`);
    throw errors.badRequest(`a container name must be specified for pod ${name}, choose one of: [${containerNames(pod).join(' ')}]`);
  }
  if (!containerNames(pod).includes(container)) throw errors.badRequest(`container ${container} is not valid for pod ${name}`);
  return container;
}

/** The agent to relay to for a pod on `node`; 503 when none is connected. */
export function agentForNode(agents: AgentLookup | undefined, node: string): AgentStreams {
  const a = agents?.agentForNode(node);
  if (!a) throw new ApiError(503, 'ServiceUnavailable', `error dialing backend: the node agent of node "${node}" is not connected to the api-server`);
  return a;
}

/** A boolean query parameter as kube-apiserver parses one ("true", "1"). */
export function boolParam(q: URLSearchParams, name: string): boolean {
  const v = (q.get(name) ?? '').toLowerCase();
  return v === 'true' || v === '1';
}

/** An integer query parameter ≥ `min`, undefined when absent; 400 when malformed. */
export function intParam(q: URLSearchParams, name: string, min: number): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw errors.badRequest(`${name}: invalid value "${v}": must be an integer`);
  if (n < min) throw errors.badRequest(`${name}: Invalid value: ${n}: must be greater than ${min === 0 ? 'or equal to 0' : min - 1}`);
  return n;
}

/** Answers an upgrade request on its raw socket with `status` and closes it. */
export function writeStatus(socket: Duplex, status: Status): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(status);
  const code = status.code >= 400 ? status.code : 500;
  socket.end(
    `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      'Cache-Control: no-cache, private\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
