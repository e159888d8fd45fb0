import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../defaults.js';
import { formatFieldError } from '../errors.js';
import type { KubeObject } from '../types.js';
import { validateObject } from './index.js';

const container = { name: 'kubia', image: 'luksa/kubia', ports: [{ containerPort: 8080 }] };
const tpl = (labels: Record<string, string> | null = { app: 'kubia' }, spec: Record<string, unknown> = {}): Record<string, unknown> => ({
  metadata: labels ? { labels } : {},
  spec: { containers: [container], ...spec },
});
function obj(kind: string, spec: Record<string, unknown>, meta: Record<string, unknown> = {}): KubeObject {
  const o: KubeObject = { apiVersion: kind === 'ReplicationController' ? 'v1' : 'apps/v1', kind, metadata: { name: 'kubia', namespace: 'default', ...meta }, spec };
  applyDefaults(o);
  return o;
}
const errs = (o: KubeObject, old?: KubeObject): string[] => validateObject(o, old).map(formatFieldError);
const EMPTY_SEL = 'v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}';

describe('ReplicationController validation', () => {
  const cases: [string, KubeObject, string[]][] = [
    ['valid', obj('ReplicationController', { replicas: 3, selector: { app: 'kubia' }, template: tpl() }), []],
    ['selector defaults from template', obj('ReplicationController', { replicas: 3, template: tpl() }), []],
    [
      'selector must match template labels',
      obj('ReplicationController', { selector: { app: 'kubia' }, template: tpl({ app: 'other' }) }),
      ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`'],
    ],
    ['replicas not negative', obj('ReplicationController', { replicas: -1, template: tpl() }), ['spec.replicas: Invalid value: -1: must be greater than or equal to 0']],
    ['template required', obj('ReplicationController', { selector: { app: 'kubia' } }), ['spec.template: Required value']],
    ['selector required', obj('ReplicationController', { template: tpl(null) }), ['spec.selector: Required value']],
    [
      'restartPolicy must be Always',
      obj('ReplicationController', { template: tpl({ app: 'kubia' }, { restartPolicy: 'Never' }) }),
      ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'],
    ],
    [
      'template pod spec is validated',
      obj('ReplicationController', { template: { metadata: { labels: { app: 'kubia' } }, spec: { containers: [{ name: 'kubia' }] } } }),
      ['spec.template.spec.containers[0].image: Required value'],
    ],
  ];
  it.each(cases)('%s', (_n, o, want) => expect(errs(o)).toEqual(want));
});

describe('ReplicaSet and Deployment validation', () => {
  const sel = { matchLabels: { app: 'kubia' } };
  const cases: [string, KubeObject, string[]][] = [
    ['valid ReplicaSet', obj('ReplicaSet', { replicas: 3, selector: sel, template: tpl() }), []],
    ['selector required', obj('ReplicaSet', { template: tpl() }), ['spec.selector: Required value']],
    ['empty selector', obj('ReplicaSet', { selector: {}, template: tpl() }), [`spec.selector: Invalid value: ${EMPTY_SEL}: empty selector is invalid for deployment`]],
    [
      'matchExpressions must match template',
      obj('ReplicaSet', { selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['a', 'b'] }] }, template: tpl() }),
      ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"kubia"}: `selector` does not match template `labels`'],
    ],
    [
      'bad selector operator',
      obj('ReplicaSet', { selector: { matchExpressions: [{ key: 'app', operator: 'Is' }] }, template: tpl() }),
      ['spec.selector.matchExpressions[0].operator: Invalid value: "Is": not a valid selector operator'],
    ],
    ['valid Deployment', obj('Deployment', { replicas: 3, selector: sel, template: tpl() }), []],
    [
      'maxUnavailable must be a percent string',
      obj('Deployment', { selector: sel, template: tpl(), strategy: { rollingUpdate: { maxUnavailable: '50' } } }),
      [
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"50\"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
      ],
    ],
    [
      'maxSurge and maxUnavailable not both 0',
      obj('Deployment', { selector: sel, template: tpl(), strategy: { rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } } }),
      ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0'],
    ],
    [
      'maxUnavailable at most 100%',
      obj('Deployment', { selector: sel, template: tpl(), strategy: { rollingUpdate: { maxUnavailable: '150%' } } }),
      ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"150%"}: must not be greater than 100%'],
    ],
    [
      'Recreate has no rollingUpdate',
      obj('Deployment', { selector: sel, template: tpl(), strategy: { type: 'Recreate', rollingUpdate: {} } }),
      ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"],
    ],
    [
      'strategy type enum',
      obj('Deployment', { selector: sel, template: tpl(), strategy: { type: 'Canary' } }),
      ['spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:"Canary", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: "Recreate", "RollingUpdate"'],
    ],
    [
      'progressDeadlineSeconds > minReadySeconds',
      obj('Deployment', { selector: sel, template: tpl(), minReadySeconds: 10, progressDeadlineSeconds: 10 }),
      ['spec.progressDeadlineSeconds: Invalid value: 10: must be greater than minReadySeconds'],
    ],
  ];
  it.each(cases)('%s', (_n, o, want) => expect(errs(o)).toEqual(want));

  it('apps/v1 selectors are immutable', () => {
    const old = obj('Deployment', { selector: sel, template: tpl() });
    const next = obj('Deployment', { selector: { matchLabels: { app: 'kubia', v: '2' } }, template: tpl({ app: 'kubia', v: '2' }) });
    expect(errs(next, old)).toEqual([
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"kubia", "v":"2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    ]);
  });

  it('RC selectors may change', () => {
    const old = obj('ReplicationController', { selector: { app: 'kubia' }, template: tpl() });
    const next = obj('ReplicationController', { selector: { app: 'kubia', v: '2' }, template: tpl({ app: 'kubia', v: '2' }) });
    expect(errs(next, old)).toEqual([]);
  });
});
