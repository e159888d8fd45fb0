export { NodeAgent, type NodeAgentOptions } from './node-agent.js';
export { ClusterNetwork } from './netns/cluster-network.js';
export { PodSandbox } from './netns/pod-sandbox.js';
