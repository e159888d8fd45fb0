/**
 * Manifests several e2e suites apply, as YAML documents to join with `---`.
 */

/** The seed's kubia app: `replicas` pods labelled app=kubia answering "You've hit <pod>" on 8080; `ready` adds an exec readiness probe on /var/ready. */
export function kubiaDeployment(opts: { replicas?: number; readyFile?: boolean } = {}): string {
  const probe = opts.readyFile ? ', readinessProbe: {exec: {command: [ls, /var/ready]}, periodSeconds: 1}' : '';
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
      containers: [{name: kubia, image: luksa/kubia, ports: [{containerPort: 8080}]${probe}}]
`;
}
