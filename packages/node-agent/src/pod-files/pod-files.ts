/**
 * The files kubelet manages for a pod, written into its state directory for
 * the sandbox to bind over the node's: `etc-hosts` (/etc/hosts) and
 * `resolv.conf` (/etc/resolv.conf), plus the pod's hostname. The node's own
 * /etc/resolv.conf and /etc/hosts are read at every pod start, never written.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pod } from '@kubemu/api';
import type { PodMounts } from '../sandbox/launch-script.js';
import { formatResolvConf, parseResolvConf, podDNSConfig, type DNSWarning } from './pod-dns.js';
import { managedHostsFile, nodeHostsFile, podHostnameAndDomain } from './pod-hosts.js';

export interface PodFilesSettings {
  /** kubelet --cluster-dns (empty: ClusterFirst falls back to Default). */
  clusterDNS: string[];
  /** kubelet --cluster-domain. */
  clusterDomain: string;
  /** The node's resolver file (kubelet --resolv-conf). */
  resolvConf: string;
  /** The node's hosts file, copied for hostNetwork pods. */
  hostsFile: string;
}

export interface PodFilesInput {
  pod: Pod;
  /** The pod's IP (the node's for hostNetwork pods). */
  podIP: string;
  nodeName: string;
  stateDir: string;
}

async function readOr(path: string, fallback: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** Writes the pod's hosts and resolver files; the mounts (without the service account) and the DNS warnings to record. */
export async function writePodFiles(i: PodFilesInput, s: PodFilesSettings): Promise<{ mounts: PodMounts; warnings: DNSWarning[] }> {
  const { pod } = i;
  const hostNetwork = pod.spec.hostNetwork === true;
  const name = podHostnameAndDomain(pod, s.clusterDomain);
  const hostname = hostNetwork ? i.nodeName : name.hostname;
  const hosts = hostNetwork ? nodeHostsFile(await readOr(s.hostsFile, ''), pod.spec.hostAliases) : managedHostsFile([i.podIP], name, pod.spec.hostAliases);
  const host = parseResolvConf(await readOr(s.resolvConf, ''));
  const { config, warnings } = podDNSConfig(pod, { clusterDNS: s.clusterDNS, clusterDomain: s.clusterDomain, host });
  const etcHosts = join(i.stateDir, 'etc-hosts');
  const resolvConf = join(i.stateDir, 'resolv.conf');
  await writeFile(etcHosts, hosts, { mode: 0o644 });
  await writeFile(resolvConf, formatResolvConf(config), { mode: 0o644 });
  return { mounts: { hostname, etcHosts, resolvConf }, warnings };
}
