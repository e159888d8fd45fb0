import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../defaults.js';
import { formatFieldError } from '../errors.js';
import type { KubeObject } from '../types.js';
import { validateObject } from './index.js';

type Spec = Record<string, any>;
const kubia = (extra: Record<string, unknown> = {}): Spec => ({ name: 'kubia', image: 'luksa/kubia', ports: [{ containerPort: 8080 }], ...extra });
function pod(spec: Spec, meta: Record<string, unknown> = {}): KubeObject {
  const o: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'kubia-manual', namespace: 'default', ...meta }, spec };
  applyDefaults(o);
  return o;
}
const errs = (o: KubeObject, old?: KubeObject): string[] => validateObject(o, old).map(formatFieldError);
const C = 'spec.containers[0]';
const LABEL_1123 = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

describe('Pod validation', () => {
  const cases: [string, KubeObject, string[]][] = [
    ['valid', pod({ containers: [kubia()] }), []],
    ['containers required', pod({}), ['spec.containers: Required value']],
    ['container name required', pod({ containers: [kubia({ name: undefined })] }), [`${C}.name: Required value`]],
    ['container name is a DNS-1123 label', pod({ containers: [kubia({ name: 'Kubia' })] }), [`${C}.name: Invalid value: "Kubia": ${LABEL_1123}`]],
    ['container names unique', pod({ containers: [kubia(), kubia({ ports: [] })] }), ['spec.containers[1].name: Duplicate value: "kubia"']],
    ['image required', pod({ containers: [kubia({ image: '' })] }), [`${C}.image: Required value`]],
    ['containerPort required', pod({ containers: [kubia({ ports: [{ name: 'http' }] })] }), [`${C}.ports[0].containerPort: Required value`]],
    [
      'containerPort range',
      pod({ containers: [kubia({ ports: [{ containerPort: 70000 }] })] }),
      [`${C}.ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive`],
    ],
    [
      'port name is IANA_SVC_NAME',
      pod({ containers: [kubia({ ports: [{ name: 'HTTP', containerPort: 8080 }] })] }),
      [
        `${C}.ports[0].name: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)`,
        `${C}.ports[0].name: Invalid value: "HTTP": must contain at least one letter (a-z)`,
      ],
    ],
    [
      'port name without consecutive hyphens',
      pod({ containers: [kubia({ ports: [{ name: 'a--b', containerPort: 8080 }] })] }),
      [`${C}.ports[0].name: Invalid value: "a--b": must not contain consecutive hyphens`],
    ],
    [
      'port names unique',
      pod({ containers: [kubia({ ports: [{ name: 'http', containerPort: 8080 }, { name: 'http', containerPort: 8081 }] })] }),
      [`${C}.ports[1].name: Duplicate value: "http"`],
    ],
    [
      'port protocol enum',
      pod({ containers: [kubia({ ports: [{ containerPort: 8080, protocol: 'tcp' }] })] }),
      [`${C}.ports[0].protocol: Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"`],
    ],
    [
      'hostPort conflicts',
      pod({ containers: [kubia({ ports: [{ containerPort: 80, hostPort: 80 }] }), kubia({ name: 'b', ports: [{ containerPort: 81, hostPort: 80 }] })] }),
      ['spec.containers[1].ports[0].hostPort: Duplicate value: "/TCP/80"'],
    ],
    [
      'exactly one probe handler',
      pod({ containers: [kubia({ readinessProbe: { exec: { command: ['ls'] }, httpGet: { port: 8080 } } })] }),
      [`${C}.readinessProbe.httpGet: Forbidden: may not specify more than 1 handler type`],
    ],
    ['a probe handler is required', pod({ containers: [kubia({ readinessProbe: { periodSeconds: 5 } })] }), [`${C}.readinessProbe: Required value: must specify a handler type`]],
    ['exec needs a command', pod({ containers: [kubia({ readinessProbe: { exec: {} } })] }), [`${C}.readinessProbe.exec.command: Required value`]],
    [
      'liveness successThreshold must be 1',
      pod({ containers: [kubia({ livenessProbe: { httpGet: { port: 8080 }, successThreshold: 2 } })] }),
      [`${C}.livenessProbe.successThreshold: Invalid value: 2: must be 1`],
    ],
    [
      'startup successThreshold must be 1',
      pod({ containers: [kubia({ startupProbe: { tcpSocket: { port: 8080 }, successThreshold: 3 } })] }),
      [`${C}.startupProbe.successThreshold: Invalid value: 3: must be 1`],
    ],
    ['readiness successThreshold may be more', pod({ containers: [kubia({ readinessProbe: { tcpSocket: { port: 8080 }, successThreshold: 3 } })] }), []],
    [
      'thresholds not negative',
      pod({ containers: [kubia({ readinessProbe: { exec: { command: ['true'] }, failureThreshold: -1, periodSeconds: -5 } })] }),
      [
        `${C}.readinessProbe.periodSeconds: Invalid value: -5: must be greater than or equal to 0`,
        `${C}.readinessProbe.failureThreshold: Invalid value: -1: must be greater than or equal to 0`,
      ],
    ],
    [
      'httpGet port required',
      pod({ containers: [kubia({ livenessProbe: { httpGet: { path: '/' } } })] }),
      [`${C}.livenessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive`],
    ],
    ['httpGet named port', pod({ containers: [kubia({ ports: [{ name: 'http', containerPort: 8080 }], livenessProbe: { httpGet: { port: 'http' } } })] }), []],
    [
      'httpGet scheme enum',
      pod({ containers: [kubia({ livenessProbe: { httpGet: { port: 8080, scheme: 'FTP' } } })] }),
      [`${C}.livenessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", "HTTPS"`],
    ],
    [
      'readiness terminationGracePeriodSeconds',
      pod({ containers: [kubia({ readinessProbe: { exec: { command: ['true'] }, terminationGracePeriodSeconds: 10 } })] }),
      [`${C}.readinessProbe.terminationGracePeriodSeconds: Invalid value: 10: must not be set for readinessProbes`],
    ],
    ['env name required', pod({ containers: [kubia({ env: [{ value: 'x' }] })] }), [`${C}.env[0].name: Required value`]],
    [
      'env name charset',
      pod({ containers: [kubia({ env: [{ name: 'A=B', value: 'x' }] })] }),
      [`${C}.env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`],
    ],
    [
      'env valueFrom needs a source',
      pod({ containers: [kubia({ env: [{ name: 'A', valueFrom: {} }] })] }),
      [`${C}.env[0].valueFrom: Invalid value: "": must specify one of: \`fieldRef\`, \`resourceFieldRef\`, \`configMapKeyRef\` or \`secretKeyRef\``],
    ],
    [
      'env fieldRef paths',
      pod({ containers: [kubia({ env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'spec.foo' } } }] })] }),
      [
        `${C}.env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.foo": supported values: "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"`,
      ],
    ],
    ['env fieldRef label', pod({ containers: [kubia({ env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } }] })] }), []],
    [
      'env value and valueFrom',
      pod({ containers: [kubia({ env: [{ name: 'A', value: 'x', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] })] }),
      [`${C}.env[0].valueFrom: Invalid value: "": may not be specified when \`value\` is not empty`],
    ],
    [
      'imagePullPolicy enum',
      pod({ containers: [kubia({ imagePullPolicy: 'Sometimes' })] }),
      [`${C}.imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"`],
    ],
    [
      'restartPolicy enum',
      pod({ containers: [kubia()], restartPolicy: 'Sometimes' }),
      ['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'],
    ],
    [
      'dnsPolicy enum',
      pod({ containers: [kubia()], dnsPolicy: 'X' }),
      ['spec.dnsPolicy: Unsupported value: "X": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"'],
    ],
    ['volumeMount needs a volume', pod({ containers: [kubia({ volumeMounts: [{ name: 'data', mountPath: '/data' }] })] }), [`${C}.volumeMounts[0].name: Invalid value: "data": not found`]],
    ['volumeMount ok', pod({ volumes: [{ name: 'data', emptyDir: {} }], containers: [kubia({ volumeMounts: [{ name: 'data', mountPath: '/data' }] })] }), []],
    ['volume names unique', pod({ volumes: [{ name: 'data' }, { name: 'data' }], containers: [kubia()] }), ['spec.volumes[1].name: Duplicate value: "data"']],
    [
      'one volume source',
      pod({ volumes: [{ name: 'x', emptyDir: {}, hostPath: { path: '/tmp' } }], containers: [kubia()] }),
      ['spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type'],
    ],
    ['hostPath path required', pod({ volumes: [{ name: 'x', hostPath: {} }], containers: [kubia()] }), ['spec.volumes[0].hostPath.path: Required value']],
    ['nodeName is a subdomain', pod({ containers: [kubia()], nodeName: 'Node_1' }), [`spec.nodeName: Invalid value: "Node_1": ${SUBDOMAIN}`]],
    ['pod name is a subdomain', pod({ containers: [kubia()] }, { name: 'Kubia_1' }), [`metadata.name: Invalid value: "Kubia_1": ${SUBDOMAIN}`]],
    [
      'init containers without restartPolicy may not probe',
      pod({ initContainers: [{ name: 'init', image: 'busybox', readinessProbe: { exec: { command: ['true'] } } }], containers: [kubia()] }),
      ['spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always'],
    ],
    ['sidecar init containers may probe', pod({ initContainers: [{ name: 'side', image: 'busybox', restartPolicy: 'Always', readinessProbe: { exec: { command: ['true'] } } }], containers: [kubia()] }), []],
    ['init names unique across containers', pod({ initContainers: [{ name: 'kubia', image: 'busybox' }], containers: [kubia()] }), ['spec.initContainers[0].name: Duplicate value: "kubia"']],
    ['restartPolicy only on init containers', pod({ containers: [kubia({ restartPolicy: 'Always' })] }), [`${C}.restartPolicy: Forbidden: may not be set for non-init containers`]],
    ['activeDeadlineSeconds range', pod({ containers: [kubia()], activeDeadlineSeconds: 0 }), ['spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive']],
    ['ephemeral containers on create', pod({ containers: [kubia()], ephemeralContainers: [{ name: 'debug', image: 'busybox' }] }), ['spec.ephemeralContainers: Forbidden: cannot be set on create']],
    [
      'lifecycle handlers',
      pod({ containers: [kubia({ lifecycle: { preStop: { exec: { command: ['sleep', '5'] } }, postStart: {} } })] }),
      [`${C}.lifecycle.postStart: Required value: must specify a handler type`],
    ],
    [
      'terminationMessagePolicy enum',
      pod({ containers: [kubia({ terminationMessagePolicy: 'Logs' })] }),
      [`${C}.terminationMessagePolicy: Unsupported value: "Logs": supported values: "File", "FallbackToLogsOnError"`],
    ],
    [
      'hostNetwork hostPort must match',
      pod({ hostNetwork: true, containers: [kubia({ ports: [{ containerPort: 8080, hostPort: 9090 }] })] }),
      [`${C}.ports[0].hostPort: Invalid value: 9090: must match \`containerPort\` when \`hostNetwork\` is true`],
    ],
    ['hostNetwork defaults hostPort', pod({ hostNetwork: true, containers: [kubia()] }), []],
    ['dnsPolicy None needs dnsConfig', pod({ dnsPolicy: 'None', containers: [kubia()] }), ['spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None']],
    ['dnsConfig nameservers', pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['10.96.0.10'], searches: ['svc.cluster.local.'] }, containers: [kubia()] }), []],
    [
      'dnsPolicy None needs nameservers',
      pod({ dnsPolicy: 'None', dnsConfig: { searches: ['a.b'] }, containers: [kubia()] }),
      ['spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None'],
    ],
    [
      'dnsConfig limits and shapes',
      pod({
        dnsConfig: { nameservers: ['1.1.1.1', '8.8.8.8', '9.9.9.9', 'x'], searches: Array.from({ length: 33 }, (_, i) => `s${i}.example`), options: [{ name: 'ndots', value: '2' }, { value: '1' }] },
        containers: [kubia()],
      }),
      [
        'spec.dnsConfig.nameservers: Invalid value: []string{"1.1.1.1", "8.8.8.8", "9.9.9.9", "x"}: must not have more than 3 nameservers',
        'spec.dnsConfig.nameservers[3]: Invalid value: "x": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
        `spec.dnsConfig.searches: Invalid value: []string{${Array.from({ length: 33 }, (_, i) => `"s${i}.example"`).join(', ')}}: must not have more than 32 search paths`,
        'spec.dnsConfig.options[0]: Required value: must not be empty'.replace('[0]', '[1]'),
      ],
    ],
    [
      'dnsConfig search list of at most 2048 characters, each a subdomain',
      pod({ dnsConfig: { searches: ['Bad_Domain', 'x'.repeat(63) + '.' + 'y'.repeat(63), ...Array.from({ length: 16 }, () => 'z'.repeat(120))] }, containers: [kubia()] }),
      [
        expect.stringMatching(/^spec\.dnsConfig\.searches: Invalid value: \[\]string\{.*\}: must not have more than 2048 characters \(including spaces\) in the search list$/),
        `spec.dnsConfig.searches[0]: Invalid value: "Bad_Domain": ${SUBDOMAIN}`,
      ],
    ],
    [
      'hostAliases: IPs and hostnames',
      pod({ hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo.local', 'bar'] }, { ip: 'nope', hostnames: ['Bad'] }], containers: [kubia()] }),
      ['spec.hostAliases[1].ip: Invalid value: "nope": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)', `spec.hostAliases[1].hostnames[0]: Invalid value: "Bad": ${SUBDOMAIN}`],
    ],
    ['hostname is a DNS label', pod({ hostname: 'web.1', containers: [kubia()] }), ['spec.hostname: Invalid value: "web.1": must not contain dots']],
    [
      'wrong types',
      pod({ containers: [kubia({ ports: [{ containerPort: '8080' }], env: 'x', command: 'ls' })] }),
      [
        `${C}.command: Invalid value: "string": must be of type array`,
        `${C}.ports[0].containerPort: Invalid value: "string": must be of type int32`,
        `${C}.env: Invalid value: "string": must be of type array`,
      ],
    ],
  ];
  it.each(cases)('%s', (_n, obj, want) => {
    expect(errs(obj)).toEqual(want);
  });
});

describe('Pod update', () => {
  const stored = (): KubeObject => {
    const p = pod({ containers: [kubia()] });
    p.metadata.uid = 'u';
    return p;
  };
  it('allows image changes', () => {
    const next = stored();
    next.spec.containers[0].image = 'luksa/kubia:v2';
    expect(errs(next, stored())).toEqual([]);
  });
  it('forbids other spec changes', () => {
    const next = stored();
    next.spec.containers[0].ports[0].containerPort = 9090;
    const e = errs(next, stored());
    expect(e).toHaveLength(1);
    expect(e[0]).toMatch(/^spec: Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`,`spec.initContainers\[\*\].image`,`spec.activeDeadlineSeconds`,/);
  });
  it('forbids adding containers', () => {
    const next = stored();
    next.spec.containers.push(kubia({ name: 'b', ports: [] }));
    applyDefaults(next);
    expect(errs(next, stored())).toEqual(['spec.containers: Forbidden: pod updates may not add or remove containers']);
  });
  it('allows labels to change', () => {
    const next = stored();
    next.metadata.labels = { app: 'kubia' };
    expect(errs(next, stored())).toEqual([]);
  });
});
