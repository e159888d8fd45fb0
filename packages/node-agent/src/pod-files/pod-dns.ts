/**
 * A pod's /etc/resolv.conf, as kubelet composes it (pkg/kubelet/network/dns)
 * and the container runtime writes it:
 *
 *   ClusterFirst             nameserver <cluster DNS>, search <ns>.svc.<domain>
 *                            svc.<domain> <domain> + the node's searches,
 *                            options ndots:5
 *   ClusterFirstWithHostNet  the same, for hostNetwork pods
 *   ClusterFirst + hostNetwork, and Default
 *                            the node's resolver (its nameservers, searches, options)
 *   None                     nothing but the pod's dnsConfig
 *
 * then the pod's dnsConfig is appended (nameservers and searches without
 * duplicates, options merged with the pod's values winning) and the result
 * cut to 3 nameservers and 32 search domains (no domain over 253 characters,
 * at most 2048 characters in all), with a DNSConfigForming warning when
 * something was cut. Without a cluster DNS address ClusterFirst falls back
 * to Default, with a MissingClusterDNS warning.
 */
import type { Pod } from '@kubemu/api';
import { MAX_DNS_NAMESERVERS, MAX_DNS_SEARCH_LIST_CHARS, MAX_DNS_SEARCH_PATHS } from '@kubemu/api';

export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';
const MAX_DOMAIN_LENGTH = 253;
const CLUSTER_OPTIONS = ['ndots:5'];

export interface DNSConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface DNSSettings {
  /** kubelet --cluster-dns. */
  clusterDNS: string[];
  /** kubelet --cluster-domain. */
  clusterDomain: string;
  /** The node's resolver, parsed (kubelet --resolv-conf). */
  host: DNSConfig;
}

export interface DNSWarning {
  reason: 'DNSConfigForming' | 'MissingClusterDNS';
  message: string;
}

/** parseResolvConf: nameserver lines, the last search line (trailing dots dropped, "." ignored), options. */
export function parseResolvConf(text: string): DNSConfig {
  const cfg: DNSConfig = { servers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (line === '') continue;
    const [key, ...fields] = line.split(/\s+/);
    if (key === 'nameserver' && fields[0]) cfg.servers.push(fields[0]);
    else if (key === 'search') cfg.searches = fields.filter((f) => f !== '.').map((f) => f.replace(/\.$/, ''));
    else if (key === 'options') cfg.options = mergeOptions(cfg.options, fields.map(splitOption));
  }
  return cfg;
}

function splitOption(o: string): { name: string; value?: string } {
  const i = o.indexOf(':');
  return i < 0 ? { name: o } : { name: o.slice(0, i), value: o.slice(i + 1) };
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}

/** mergeDNSOptions: later options replace earlier ones of the same name; "name" or "name:value". */
function mergeOptions(existing: string[], more: { name: string; value?: string | null }[]): string[] {
  const m = new Map<string, string>();
  for (const o of existing) {
    const { name, value } = splitOption(o);
    m.set(name, value ?? '');
  }
  for (const o of more) m.set(o.name, o.value ?? '');
  return [...m].map(([k, v]) => (v === '' ? k : `${k}:${v}`));
}

type DNSType = 'cluster' | 'host' | 'none';

function dnsType(pod: Pod): DNSType {
  switch (pod.spec.dnsPolicy) {
    case 'None':
      return 'none';
    case 'ClusterFirstWithHostNet':
      return 'cluster';
    case 'Default':
      return 'host';
    default:
      // ClusterFirst (the default): a hostNetwork pod falls back to the node's resolver.
      return pod.spec.hostNetwork ? 'host' : 'cluster';
  }
}

/** The resolver configuration of `pod`, and the warnings kubelet would record as Events. */
export function podDNSConfig(pod: Pod, s: DNSSettings): { config: DNSConfig; warnings: DNSWarning[] } {
  const warnings: DNSWarning[] = [];
  let cfg: DNSConfig = { servers: [...s.host.servers], searches: [...s.host.searches], options: [...s.host.options] };
  let type = dnsType(pod);
  if (type === 'cluster' && s.clusterDNS.length === 0) {
    warnings.push({
      reason: 'MissingClusterDNS',
      message: `pod: "${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})". kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`,
    });
    type = 'host';
  }
  if (type === 'none') cfg = { servers: [], searches: [], options: [] };
  else if (type === 'cluster') {
    const ns = pod.metadata.namespace ?? 'default';
    const d = s.clusterDomain;
    cfg = {
      servers: [...s.clusterDNS],
      searches: d ? unique([`${ns}.svc.${d}`, `svc.${d}`, d, ...s.host.searches]) : [...s.host.searches],
      options: [...CLUSTER_OPTIONS],
    };
  }
  const dc = pod.spec.dnsConfig;
  if (dc) {
    cfg.servers = unique([...cfg.servers, ...(dc.nameservers ?? [])]);
    cfg.searches = unique([...cfg.searches, ...(dc.searches ?? [])]);
    cfg.options = mergeOptions(cfg.options, dc.options ?? []);
  }
  return { config: fitLimits(cfg, warnings), warnings };
}

/** formDNSConfigFitsLimits. */
function fitLimits(cfg: DNSConfig, warnings: DNSWarning[]): DNSConfig {
  let servers = cfg.servers;
  if (servers.length > MAX_DNS_NAMESERVERS) {
    servers = servers.slice(0, MAX_DNS_NAMESERVERS);
    warnings.push({ reason: 'DNSConfigForming', message: `Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${servers.join(' ')}` });
  }
  let searches = cfg.searches;
  let cut = false;
  if (searches.length > MAX_DNS_SEARCH_PATHS) {
    searches = searches.slice(0, MAX_DNS_SEARCH_PATHS);
    cut = true;
  }
  const short = searches.filter((d) => d.length <= MAX_DOMAIN_LENGTH);
  if (short.length !== searches.length) cut = true;
  searches = short;
  while (searches.join(' ').length > MAX_DNS_SEARCH_LIST_CHARS) {
    searches = searches.slice(0, -1);
    cut = true;
  }
  if (cut) warnings.push({ reason: 'DNSConfigForming', message: `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${searches.join(' ')}` });
  return { servers, searches, options: cfg.options };
}

/** The file as the runtime writes it: search, then nameservers, then options. */
export function formatResolvConf(cfg: DNSConfig): string {
  let out = '';
  if (cfg.searches.length) out += `search ${cfg.searches.join(' ')}\n`;
  for (const s of cfg.servers) out += `nameserver ${s}\n`;
  if (cfg.options.length) out += `options ${cfg.options.join(' ')}\n`;
  return out;
}
