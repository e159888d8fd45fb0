/**
 * @kubemu/agent-client: how node agents and kube-proxies talk to the API
 * server (client-go's place beside @kubemu/api's k8s.io/api): one WebSocket
 * per agent with msgpack frames, watches that resume or re-list, RPC,
 * exec/logs streams, and Events.
 */
export * from './agent-client.js';
export * from './agent-streams.js';
export * from './agent-events.js';
