import { describe, expect, it } from 'vitest';
import {
  checkDNS1123Label,
  checkEnvVarName,
  checkQualifiedName,
  ipFamilyOf,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isValidCIDR,
  isValidIP,
  isValidLabelValue,
  isValidPortName,
  regexError,
  scalarString,
  specialIPKinds,
} from './names.js';

describe('name formats', () => {
  it('DNS-1123 labels and subdomains', () => {
    expect(isDNS1123Label('kubia')).toBe(true);
    expect(isDNS1123Label('1kubia')).toBe(true);
    expect(isDNS1123Label('kubia-')).toBe(false);
    expect(isDNS1123Label('a'.repeat(64))).toBe(false);
    expect(checkDNS1123Label('a.b')).toEqual(['must not contain dots']);
    expect(checkDNS1123Label('a'.repeat(64))).toEqual(['must be no more than 63 characters']);
    expect(isDNS1123Subdomain('kubia.example.com')).toBe(true);
    expect(isDNS1123Subdomain('Kubia.example.com')).toBe(false);
    expect(isDNS1123Subdomain('a'.repeat(254))).toBe(false);
  });
  it('DNS-1035 labels start with a letter', () => {
    expect(isDNS1035Label('kubia')).toBe(true);
    expect(isDNS1035Label('1kubia')).toBe(false);
    expect(isDNS1035Label('kubia-nodeport')).toBe(true);
  });
  it('qualified names and label values', () => {
    expect(checkQualifiedName('app')).toEqual([]);
    expect(checkQualifiedName('kubernetes.io/metadata.name')).toEqual([]);
    expect(checkQualifiedName('')).toHaveLength(2);
    expect(isValidLabelValue('')).toBe(true);
    expect(isValidLabelValue('a_b.c-d')).toBe(true);
    expect(isValidLabelValue('-a')).toBe(false);
  });
  it('IANA_SVC_NAME port names', () => {
    expect(isValidPortName('http')).toBe(true);
    expect(isValidPortName('web-8080')).toBe(true);
    expect(isValidPortName('8080')).toBe(false);
    expect(isValidPortName('http-')).toBe(false);
    expect(isValidPortName('a--b')).toBe(false);
    expect(isValidPortName('abcdefghijklmnop')).toBe(false);
  });
  it('env var names (strict form)', () => {
    expect(checkEnvVarName('MY_VAR')).toEqual([]);
    expect(checkEnvVarName('1VAR')).toHaveLength(1);
    expect(checkEnvVarName('..a')).toEqual(["must not start with '..'"]);
  });
  it('formats regex errors like Kubernetes', () => {
    expect(regexError('m', 'f')).toBe("m (regex used for validation is 'f')");
    expect(regexError('m', 'f', 'a', 'b')).toBe("m (e.g. 'a',  or 'b', regex used for validation is 'f')");
  });
});

describe('IP helpers', () => {
  it('parses like ParseIPSloppy', () => {
    expect(ipFamilyOf('10.96.0.1')).toBe(4);
    expect(ipFamilyOf('010.096.000.001')).toBe(4);
    expect(ipFamilyOf('fd00::1')).toBe(6);
    expect(ipFamilyOf('fe80::1%eth0')).toBe(0);
    expect(isValidIP('256.0.0.1')).toBe(false);
    expect(isValidIP('')).toBe(false);
  });
  it('CIDRs', () => {
    expect(isValidCIDR('10.0.0.0/8')).toBe(true);
    expect(isValidCIDR('10.0.0.1/33')).toBe(false);
    expect(isValidCIDR('2001:db8::/64')).toBe(true);
    expect(isValidCIDR('10.0.0.0')).toBe(false);
  });
  it('special ranges', () => {
    expect(specialIPKinds('127.0.0.5')).toEqual(['loopback']);
    expect(specialIPKinds('::1')).toEqual(['loopback']);
    expect(specialIPKinds('0.0.0.0')).toEqual(['unspecified']);
    expect(specialIPKinds('169.254.169.254')).toEqual(['linkLocal']);
    expect(specialIPKinds('ff02::2')).toEqual(['linkLocalMulticast']);
    expect(specialIPKinds('10.244.1.5')).toEqual([]);
  });
  it('scalarString never throws', () => {
    expect(scalarString({ toString: 1 })).toBe('');
    expect(scalarString(5)).toBe('5');
  });
});
