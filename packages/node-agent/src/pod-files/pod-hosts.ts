/**
 * A pod's hostname and /etc/hosts, as kubelet makes them
 * (GeneratePodHostNameAndDomain, managedHostsFileContent):
 *
 *   hostname  spec.hostname, else the pod name (cut to 63 characters, no
 *             trailing '-' or '.'); a hostNetwork pod has the node's name
 *   domain    <subdomain>.<namespace>.svc.<cluster domain> when spec.subdomain is set
 *   /etc/hosts  the localhost lines, "<pod IP>\t<hostname>" (with the FQDN
 *             first when there is a domain), then the hostAliases; a
 *             hostNetwork pod gets the node's own /etc/hosts plus its hostAliases
 */
import type { HostAlias, Pod } from '@kubemu/api';
import { checkDNS1123Label } from '@kubemu/api';

const HOSTNAME_MAX = 63;

export interface PodHostname {
  hostname: string;
  /** "" when the pod has no subdomain. */
  domain: string;
}

/** The pod's hostname and domain; throws when spec.hostname or spec.subdomain is not a DNS label (the API refuses those). */
export function podHostnameAndDomain(pod: Pod, clusterDomain: string): PodHostname {
  let hostname = pod.metadata.name ?? '';
  const h = pod.spec.hostname ?? '';
  if (h !== '') {
    const msgs = checkDNS1123Label(h);
    if (msgs.length) throw new Error(`pod Hostname "${h}" is not a valid DNS label: ${msgs.join(';')}`);
    hostname = h;
  }
  if (hostname.length > HOSTNAME_MAX) hostname = hostname.slice(0, HOSTNAME_MAX).replace(/[-.]+$/, '');
  const sub = pod.spec.subdomain ?? '';
  let domain = '';
  if (sub !== '') {
    const msgs = checkDNS1123Label(sub);
    if (msgs.length) throw new Error(`pod Subdomain "${sub}" is not a valid DNS label: ${msgs.join(';')}`);
    domain = `${sub}.${pod.metadata.namespace ?? 'default'}.svc.${clusterDomain}`;
  }
  return { hostname, domain };
}

function aliasLines(aliases: HostAlias[] | undefined): string {
  if (!aliases?.length) return '';
  return `\n# Entries added by HostAliases.\n${aliases.map((a) => `${a.ip}\t${(a.hostnames ?? []).join('\t')}\n`).join('')}`;
}

/** managedHostsFileContent: the hosts file of a pod with its own network. */
export function managedHostsFile(podIPs: string[], name: PodHostname, aliases?: HostAlias[]): string {
  let out = '# Kubernetes-managed hosts file.\n';
  out += '127.0.0.1\tlocalhost\n';
  out += '::1\tlocalhost ip6-localhost ip6-loopback\n';
  out += 'fe00::0\tip6-localnet\n';
  out += 'fe00::0\tip6-mcastprefix\n';
  out += 'fe00::1\tip6-allnodes\n';
  out += 'fe00::2\tip6-allrouters\n';
  for (const ip of podIPs) out += name.domain ? `${ip}\t${name.hostname}.${name.domain}\t${name.hostname}\n` : `${ip}\t${name.hostname}\n`;
  return out + aliasLines(aliases);
}

/** nodeHostsFileContent: a hostNetwork pod's hosts file is the node's, plus its hostAliases. */
export function nodeHostsFile(nodeHosts: string, aliases?: HostAlias[]): string {
  return nodeHosts + aliasLines(aliases);
}
