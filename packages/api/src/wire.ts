/**
 * The agent wire protocol (version 1): what node agents, kube-proxies and the
 * load balancer exchange with the api-server over one WebSocket each.
 * Frames are MessagePack (msgpackr, records off) of the messages below.
 *
 *   agent → server: watch / unwatch / request (get, list, create, update,
 *                   updateStatus, patch, delete)
 *   server → agent: event (per watch), watch-error (410 ⇒ re-list),
 *                   response / error (per request id)
 *
 * The agent authenticates with `Authorization: Bearer <token>` on the upgrade
 * request and names itself in the `X-Kubemu-Agent` header.
 */
import { Packr } from 'msgpackr';
import type { KubeObject, Status } from './types.js';

export const WIRE_VERSION = 1;
export const AGENT_PATH = '/agent/v1';

export interface WatchRequestMsg {
  t: 'watch';
  id: number;
  /** Store key: "pods", "discovery.k8s.io/endpointslices". */
  resource: string;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Resume after this version; omitted ⇒ list current objects as ADDED first. */
  resourceVersion?: string;
}

export interface UnwatchMsg {
  t: 'unwatch';
  id: number;
}

export type RequestVerb = 'get' | 'list' | 'create' | 'update' | 'updateStatus' | 'patch' | 'delete';

export interface RequestMsg {
  t: 'request';
  id: number;
  verb: RequestVerb;
  resource: string;
  namespace?: string;
  name?: string;
  object?: KubeObject;
  /** For patch: the media type and body. */
  patchType?: string;
  patch?: unknown;
  labelSelector?: string;
  fieldSelector?: string;
  gracePeriodSeconds?: number;
}

export type ClientMsg = WatchRequestMsg | UnwatchMsg | RequestMsg;

export interface EventMsg {
  t: 'event';
  id: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: KubeObject;
}

export interface WatchErrorMsg {
  t: 'watch-error';
  id: number;
  status: Status;
}

export interface ResponseMsg {
  t: 'response';
  id: number;
  object?: KubeObject;
  items?: KubeObject[];
  resourceVersion?: string;
}

export interface ErrorMsg {
  t: 'error';
  id: number;
  status: Status;
}

export interface HelloMsg {
  t: 'hello';
  version: number;
  /** The api-server's resourceVersion when the agent connected. */
  resourceVersion: string;
}

export type ServerMsg = EventMsg | WatchErrorMsg | ResponseMsg | ErrorMsg | HelloMsg;

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export function encodeMsg(msg: ClientMsg | ServerMsg): Buffer {
  return packr.pack(msg);
}

/** Decodes a frame; returns undefined for anything that is not a protocol message. */
export function decodeMsg(data: Buffer | ArrayBuffer | Buffer[]): ClientMsg | ServerMsg | undefined {
  try {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const msg = packr.unpack(buf) as { t?: unknown } | null;
    if (!msg || typeof msg !== 'object' || typeof msg.t !== 'string') return undefined;
    return msg as ClientMsg | ServerMsg;
  } catch {
    return undefined;
  }
}
