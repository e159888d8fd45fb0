import { describe, expect, it } from 'vitest';
import type { Service } from '@kubemu/api';
import { serviceEnv } from './service-env.js';

const svc = (name: string, ns: string, ip: string, ports: Service['spec']['ports']): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns },
  spec: { clusterIP: ip, ports },
});

describe('serviceEnv', () => {
  const all = [
    svc('kubernetes', 'default', '10.96.0.1', [{ name: 'https', port: 443, protocol: 'TCP' }]),
    svc('redis-primary', 'app', '10.0.0.11', [{ name: 'tcp-redis', port: 6379, protocol: 'TCP' }]),
    svc('other', 'elsewhere', '10.0.0.12', [{ port: 80, protocol: 'TCP' }]),
    svc('headless', 'app', 'None', [{ port: 80, protocol: 'TCP' }]),
  ];

  it('writes the Kubernetes variables for same-namespace services and the master service', () => {
    const env = serviceEnv(all, 'app');
    expect(env).toMatchObject({
      REDIS_PRIMARY_SERVICE_HOST: '10.0.0.11',
      REDIS_PRIMARY_SERVICE_PORT: '6379',
      REDIS_PRIMARY_SERVICE_PORT_TCP_REDIS: '6379',
      REDIS_PRIMARY_PORT: 'tcp://10.0.0.11:6379',
      REDIS_PRIMARY_PORT_6379_TCP: 'tcp://10.0.0.11:6379',
      REDIS_PRIMARY_PORT_6379_TCP_PROTO: 'tcp',
      REDIS_PRIMARY_PORT_6379_TCP_PORT: '6379',
      REDIS_PRIMARY_PORT_6379_TCP_ADDR: '10.0.0.11',
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      KUBERNETES_SERVICE_PORT: '443',
      KUBERNETES_SERVICE_PORT_HTTPS: '443',
    });
    expect(env.OTHER_SERVICE_HOST).toBeUndefined();
    expect(env.HEADLESS_SERVICE_HOST).toBeUndefined();
  });

  it('keeps only the master service when service links are off', () => {
    const env = serviceEnv(all, 'app', false);
    expect(env.KUBERNETES_SERVICE_HOST).toBe('10.96.0.1');
    expect(env.REDIS_PRIMARY_SERVICE_HOST).toBeUndefined();
  });
});
