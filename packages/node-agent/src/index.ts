export { NodeAgent, type NodeAgentOptions } from './node-agent.js';
export { PodSandbox } from './sandbox/pod-sandbox.js';
export { CHAOS_FAIL_READINESS_ANNOTATION, chaosReadinessFailure } from './probes/chaos-readiness.js';
