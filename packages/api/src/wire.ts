/**
 * The agent wire protocol (version 1): what node agents, kube-proxies and the
 * load balancer exchange with the api-server over one WebSocket each.
 * Frames are MessagePack (msgpackr, records off) of the messages below.
 *
 *   agent → server: watch / unwatch / request (get, list, create, update,
 *                   updateStatus, patch, delete; create on the subresource
 *                   serviceaccounts/token asks for a TokenRequest)
 *   server → agent: event (per watch), watch-error (410 ⇒ re-list),
 *                   response / error (per request id)
 *
 * Streams (exec and logs, relayed from kubectl through the api-server to the
 * node agent of the pod's node; see "Streams" below):
 *   server → agent: exec-start / logs-start (open), stream-data (stdin,
 *                   resize), stream-ack, stream-close (stdin EOF / cancel)
 *   agent → server: stream-ready, stream-data (stdout, stderr, log bytes),
 *                   stream-ack, stream-end (with the exit Status)
 *
 * The agent authenticates with `Authorization: Bearer <token>` on the upgrade
 * request and names itself in the `X-Kubemu-Agent` header; a node agent says
 * `node-agent/<nodeName>`, which is how the api-server finds the connection to
 * relay a pod's exec and logs to.
 *
 * Additions stay version 1: a peer ignores message types it does not know.
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
  /** `token` with verb create on serviceaccounts: `object` is a TokenRequest, the response the TokenRequest with its token. */
  subresource?: 'token';
  object?: KubeObject;
  /** For patch: the media type and body. */
  patchType?: string;
  patch?: unknown;
  labelSelector?: string;
  fieldSelector?: string;
  gracePeriodSeconds?: number;
}

/**
 * A node agent's resource usage report (the kubelet's summary that
 * metrics-server scrapes): the node and each of its pods' containers, CPU in
 * nanocores averaged over `windowSeconds`, memory in bytes (resident set).
 */
export interface MetricsMsg {
  t: 'metrics';
  timestamp: string;
  windowSeconds: number;
  node: { cpu: number; memory: number };
  pods: { namespace: string; name: string; containers: { name: string; cpu: number; memory: number }[] }[];
}

export type ClientMsg = WatchRequestMsg | UnwatchMsg | RequestMsg | StreamReadyMsg | StreamDataMsg | StreamAckMsg | StreamCloseMsg | StreamEndMsg | MetricsMsg;

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

export type ServerMsg = EventMsg | WatchErrorMsg | ResponseMsg | ErrorMsg | HelloMsg | ExecStartMsg | LogsStartMsg | StreamDataMsg | StreamAckMsg | StreamCloseMsg;

// ---- Streams ----------------------------------------------------------------
//
// A stream is one exec or logs session, named by `sid`, which the api-server
// allocates per agent connection (a new connection starts afresh; a stream
// never outlives the connection it was opened on — when either side sees the
// connection drop, it ends every stream of that connection).
//
// Lifecycle:
//   server: exec-start | logs-start {sid, …}
//   agent:  stream-ready {sid}            the agent accepted; data follows
//     or    stream-end {sid, status}      refused (Failure status, e.g. 400
//                                         "container … is waiting to start")
//   both:   stream-data {sid, channel, data} …, stream-ack {sid, bytes} …
//   server: stream-close {sid, channel: 0}  stdin reached EOF
//   server: stream-close {sid}              the client went away: cancel
//   agent:  stream-end {sid, status?}     done (exec: its exit Status); last
//                                         message of the stream
//
// Flow control (per stream, per direction, like HTTP/2 windows): a sender may
// have at most STREAM_WINDOW_BYTES of stream-data payload that the receiver
// has not yet acknowledged with stream-ack; the receiver acknowledges bytes
// once it has passed them on (written them to kubectl's socket, to the
// process's stdin), in batches of at least STREAM_ACK_BYTES (or whatever is
// left once its buffer drains). So no side ever queues more than one window
// per stream, and a slow reader slows its writer instead of growing memory.

/** Remote-command channel numbers, as kubectl's: 0 stdin, 1 stdout, 2 stderr, 4 resize. */
export const STREAM_STDIN = 0;
export const STREAM_STDOUT = 1;
export const STREAM_STDERR = 2;
export const STREAM_RESIZE = 4;
export type StreamChannel = typeof STREAM_STDIN | typeof STREAM_STDOUT | typeof STREAM_STDERR | typeof STREAM_RESIZE;

/** Unacknowledged stream-data payload a sender may have in flight per stream. */
export const STREAM_WINDOW_BYTES = 256 * 1024;
/** A receiver acknowledges at least this much at a time (less only when drained). */
export const STREAM_ACK_BYTES = 32 * 1024;
/** Largest payload of one stream-data frame. */
export const STREAM_CHUNK_BYTES = 32 * 1024;

/** server → agent: run `command` in a container of a pod on this node (kubectl exec), or attach to its program (kubectl attach). */
export interface ExecStartMsg {
  t: 'exec-start';
  sid: number;
  namespace: string;
  pod: string;
  /** The pod's metadata.uid: the agent refuses a pod of the same name but another life. */
  uid: string;
  container: string;
  /** Empty for attach. */
  command: string[];
  /** kubectl attach: join the container's running program (its stdin, its output from now on) instead of running `command`. */
  attach?: boolean;
  /** Which channels the client attached; stderr is false with a tty (the tty merges it into stdout). */
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** server → agent: stream a container's log (kubectl logs); the bytes come on channel 1. */
export interface LogsStartMsg {
  t: 'logs-start';
  sid: number;
  namespace: string;
  pod: string;
  uid: string;
  container: string;
  /** Keep streaming new lines until cancelled. */
  follow: boolean;
  /** The log of the previous (terminated) instance of the container. */
  previous: boolean;
  /** Only the last n lines. */
  tailLines?: number;
  /** Only lines newer than this many seconds (or than sinceTime, RFC 3339). */
  sinceSeconds?: number;
  sinceTime?: string;
  /** Prefix each line with its RFC 3339 (nanosecond) timestamp and a space. */
  timestamps: boolean;
  /** Stop after this many bytes (the agent library enforces it). */
  limitBytes?: number;
}

/** agent → server: the request was accepted (logs: the server sends 200 and starts the body). */
export interface StreamReadyMsg {
  t: 'stream-ready';
  sid: number;
}

/** Either way: payload bytes on one channel (server → agent: stdin, resize JSON {Width,Height}; agent → server: stdout, stderr). */
export interface StreamDataMsg {
  t: 'stream-data';
  sid: number;
  channel: StreamChannel;
  data: Buffer;
}

/** Either way: the receiver passed on `bytes` more payload bytes of this stream; the sender's window grows by that much. */
export interface StreamAckMsg {
  t: 'stream-ack';
  sid: number;
  bytes: number;
}

/**
 * server → agent: with `channel` (0), that input reached EOF (v5 close signal,
 * or the client's stdin ended); without, cancel the stream (the client went
 * away) — the agent stops the work and sends nothing more for it.
 */
export interface StreamCloseMsg {
  t: 'stream-close';
  sid: number;
  channel?: number;
}

/**
 * agent → server: the stream is over. For exec, `status` is the exit as
 * kubelet reports it: Success, or Failure with reason NonZeroExitCode and
 * details.causes [{reason: 'ExitCode', message: '<n>'}]; any other Failure is
 * an error shown to the user (before stream-ready: the request was refused,
 * and status.code is the HTTP code to answer with).
 */
export interface StreamEndMsg {
  t: 'stream-end';
  sid: number;
  status?: Status;
}

/** `node-agent/<nodeName>` ⇒ nodeName; undefined for other agents. */
export function nodeOfAgent(agentName: string): string | undefined {
  const m = /^node-agent\/(.+)$/.exec(agentName);
  return m ? m[1] : undefined;
}

/** The exec exit Status kubelet sends: Success for 0, else NonZeroExitCode with an ExitCode cause. */
export function exitStatus(code: number): Status {
  if (code === 0) return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 0 };
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: exit status ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
    code: 0,
  };
}

/** The exit code an exit Status carries (0 for Success), or undefined for other failures. */
export function exitCodeOf(status: Status | undefined): number | undefined {
  if (!status || status.status === 'Success') return 0;
  if (status.reason !== 'NonZeroExitCode') return undefined;
  const c = status.details?.causes?.find((x) => x.reason === 'ExitCode');
  const n = c?.message !== undefined ? Number(c.message) : NaN;
  return Number.isInteger(n) ? n : undefined;
}

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
