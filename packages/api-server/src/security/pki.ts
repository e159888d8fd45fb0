/**
 * The cluster's PKI and credentials, made once at first start and kept in the
 * data dir: a CA, a server certificate for the api-server's addresses, and
 * bearer tokens (one admin token for humans/kubectl, one for agents).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface Credentials {
  caCert: string;
  serverCert: string;
  serverKey: string;
  adminToken: string;
  agentToken: string;
}

function years(n: number): Date {
  const d = new Date();
  d.setFullYear(d.getFullYear() + n);
  return d;
}

async function makeCA(): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: 'kubemu-ca' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 3600_000),
    notAfterDate: years(10),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

async function makeServerCert(ca: { cert: string; key: string }, hosts: string[]): Promise<{ cert: string; key: string }> {
  const altNames = hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h }));
  const pems = await generate([{ name: 'commonName', value: 'kube-apiserver' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 3600_000),
    notAfterDate: years(5),
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  } as Parameters<typeof generate>[1]);
  return { cert: pems.cert, key: pems.private };
}

/**
 * Loads the credentials in `dir`, creating what is missing. The server
 * certificate is re-issued when `hosts` gains a name it does not cover.
 */
export async function loadOrCreateCredentials(dir: string, hosts: string[]): Promise<Credentials> {
  const pki = join(dir, 'pki');
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  const file = (n: string) => join(pki, n);
  const read = (n: string) => (existsSync(file(n)) ? readFileSync(file(n), 'utf8') : undefined);
  const write = (n: string, v: string) => writeFileSync(file(n), v, { mode: 0o600 });

  let caCert = read('ca.crt');
  let caKey = read('ca.key');
  if (!caCert || !caKey) {
    const ca = await makeCA();
    caCert = ca.cert;
    caKey = ca.key;
    write('ca.crt', caCert);
    write('ca.key', caKey);
  }
  const wanted = [...new Set(['localhost', '127.0.0.1', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', ...hosts])].sort();
  let serverCert = read('apiserver.crt');
  let serverKey = read('apiserver.key');
  if (!serverCert || !serverKey || read('apiserver.hosts') !== wanted.join(',')) {
    const s = await makeServerCert({ cert: caCert, key: caKey }, wanted);
    serverCert = s.cert;
    serverKey = s.key;
    write('apiserver.crt', serverCert);
    write('apiserver.key', serverKey);
    write('apiserver.hosts', wanted.join(','));
  }
  let adminToken = read('admin.token');
  if (!adminToken) write('admin.token', (adminToken = randomBytes(24).toString('hex')));
  let agentToken = read('agent.token');
  if (!agentToken) write('agent.token', (agentToken = randomBytes(24).toString('hex')));
  return { caCert, serverCert, serverKey, adminToken: adminToken.trim(), agentToken: agentToken.trim() };
}

/** A kubeconfig for the admin user, with the CA inline. */
export function kubeconfigYaml(server: string, creds: Credentials, clusterName = 'kubemu'): string {
  const ca = Buffer.from(creds.caCert).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${clusterName}`,
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    `- name: ${clusterName}-admin`,
    '  user:',
    `    token: ${creds.adminToken}`,
    'contexts:',
    `- name: ${clusterName}`,
    '  context:',
    `    cluster: ${clusterName}`,
    `    user: ${clusterName}-admin`,
    '    namespace: default',
    `current-context: ${clusterName}`,
    '',
  ].join('\n');
}
