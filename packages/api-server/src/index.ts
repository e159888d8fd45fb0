export { ControlPlane, type ControlPlaneOptions } from './control-plane.js';
export { Registry, RES } from './registry/registry.js';
export { SqliteStore } from './store/sqlite-store.js';
export type { ObjectClient, ObjectEvent, ListOptions, WatchOptions, DeleteOptions } from './registry/object-client.js';
