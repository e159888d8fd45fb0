export { NodeAgent, type NodeAgentOptions } from './node-agent.js';
export { PodSandbox } from './sandbox/pod-sandbox.js';
