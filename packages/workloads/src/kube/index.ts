export * from './in-cluster.js';
export * from './informer.js';
