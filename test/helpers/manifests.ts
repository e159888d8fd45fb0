/**
 * Manifests several e2e suites apply, as YAML documents to join with `---`.
 */

/**
 * The seed's kubia app: `replicas` pods labelled app=kubia answering "You've
 * hit <pod>" on 8080 (`portName` names that port). Readiness: `readyFile`
 * adds an exec probe that passes while /var/ready exists; `readyUnless` one
 * that passes while that path does not exist (`touch` it to fail the probe).
 */
export function kubiaDeployment(opts: { replicas?: number; readyFile?: boolean; readyUnless?: string; portName?: string } = {}): string {
  const probe = opts.readyFile
    ? ', readinessProbe: {exec: {command: [ls, /var/ready]}, periodSeconds: 1}'
    : opts.readyUnless
      ? `, readinessProbe: {exec: {command: [sh, -c, 'test ! -e ${opts.readyUnless}']}, periodSeconds: 1}`
      : '';
  const port = opts.portName ? `{name: ${opts.portName}, containerPort: 8080}` : '{containerPort: 8080}';
  return `
apiVersion: apps/v1
kind: Deployment
metadata: {name: kubia}
spec:
  replicas: ${opts.replicas ?? 3}
  selector: {matchLabels: {app: kubia}}
  template:
    metadata: {labels: {app: kubia}}
    spec:
      containers: [{name: kubia, image: luksa/kubia, ports: [${port}]${probe}}]
`;
}

/** A NodePort Service in front of kubia's pods: port 80 → `targetPort` (8080 or a port name); `portName` names the Service port. */
export function kubiaNodePort(opts: { name?: string; nodePort?: number; targetPort?: number | string; portName?: string; sessionAffinity?: 'ClientIP' } = {}): string {
  const port = [opts.portName ? `name: ${opts.portName}` : '', 'port: 80', `targetPort: ${opts.targetPort ?? 8080}`, opts.nodePort ? `nodePort: ${opts.nodePort}` : ''].filter(Boolean).join(', ');
  return `
apiVersion: v1
kind: Service
metadata: {name: ${opts.name ?? 'kubia'}}
spec: {type: NodePort, ${opts.sessionAffinity ? `sessionAffinity: ${opts.sessionAffinity}, ` : ''}selector: {app: kubia}, ports: [{${port}}]}
`;
}
