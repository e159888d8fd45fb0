/**
 * The TLS part of an Ingress: for each spec.tls entry, its Secret exists, is
 * a kubernetes.io/tls Secret whose tls.crt and tls.key the controller can use
 * (the controller's own loader), and its certificate covers the entry's hosts
 * (X509Certificate.checkHost; an entry without hosts covers the rule hosts)
 * and is valid now. Pure: the clock is facts.now.
 */
import { X509Certificate } from 'node:crypto';
import { loadSecret } from '@kubemu/workloads';
import type { Check } from './checks.js';
import type { IngressFacts } from './facts.js';

/** A name that stands for every host a "*.foo.com" entry covers (one label more). */
const sampleHost = (h: string) => (h.startsWith('*.') ? `any${h.slice(1)}` : h);

const day = (t: number) => new Date(t).toISOString().slice(0, 10);

export function tlsChecks(f: IngressFacts): Check[] {
  const ing = f.ingress;
  const ns = ing.metadata.namespace ?? 'default';
  const nsFlag = ns === 'default' ? '' : ` -n ${ns}`;
  const ruleHosts = [...new Set((ing.spec?.rules ?? []).map((r) => (r.host ?? '').toLowerCase()).filter(Boolean))];
  return (ing.spec?.tls ?? []).map((t, i): Check => {
    const hosts = t.hosts?.length ? t.hosts.map((h) => h.toLowerCase()) : ruleHosts;
    const name = t.secretName;
    const id = `tls:${name || i}`;
    const head = `TLS for ${hosts.join(', ') || '(no hosts)'}`;
    if (!name) return { id, status: 'skip', text: `${head}: no secretName, so the controller serves its default (self-signed) certificate` };
    const createFix = `create it: kubectl create secret tls ${name} --cert=tls.crt --key=tls.key${nsFlag} (a certificate for ${hosts.join(', ') || 'the hosts'}).`;
    const secret = f.secrets[name];
    if (!secret) return { id, status: 'fail', text: `${head}: Secret ${name} does not exist in namespace ${ns}, so HTTPS gets the controller's default (self-signed) certificate`, fix: createFix };
    const loaded = loadSecret(secret);
    if (loaded.error) return { id, status: 'fail', text: `${head}: Secret ${name} ${loaded.error}, so HTTPS gets the controller's default certificate`, fix: createFix };
    const details: string[] = [];
    if (secret.type !== 'kubernetes.io/tls') details.push(`Secret ${name} is of type ${secret.type ?? 'Opaque'}, not kubernetes.io/tls: kubemu's controller uses its tls.crt/tls.key anyway, but other controllers and tools expect that type`);
    const cert = new X509Certificate(Buffer.from(secret.data!['tls.crt']!, 'base64'));
    const names = cert.subjectAltName ?? cert.subject;
    const from = Date.parse(cert.validFrom);
    const to = Date.parse(cert.validTo);
    const uncovered = hosts.filter((h) => !cert.checkHost(sampleHost(h)));
    const problems: string[] = [];
    if (to < f.now) problems.push(`expired on ${day(to)}`);
    if (from > f.now) problems.push(`not valid before ${day(from)}`);
    if (uncovered.length) problems.push(`does not cover ${uncovered.join(', ')} (it is for ${names.replace(/DNS:/g, '').replace(/\n/g, ', ')})`);
    if (problems.length) {
      return {
        id,
        status: 'fail',
        text: `${head}: the certificate in Secret ${name} ${problems.join(' and ')}, so clients reject it`,
        details: details.length ? details : undefined,
        fix: `put a certificate for ${uncovered.length ? uncovered.join(', ') : hosts.join(', ')} valid today into Secret ${name} (kubectl create secret tls ${name} --cert=… --key=… --dry-run=client -o yaml | kubectl apply -f -).`,
      };
    }
    return { id, status: 'ok', text: `${head}: Secret ${name} holds a certificate for them, valid until ${day(to)}`, details: details.length ? details : undefined };
  });
}
