export { loadKubeconfig, type ClusterAccess } from './kubeconfig.js';
export { RestClient, RestError } from './rest-client.js';
export { readManifests } from './manifests.js';
export { formatTable } from './table-printer.js';
