import { isIPv4 } from 'node:net';
import { ipv4ToInt } from '../../system/ipv4.js';

// IPv4 addresses as the responder needs them: reverse names both ways and a subnet test.

const REVERSE_SUFFIX = '.in-addr.arpa';

/** 10.77.0.5 → 5.0.77.10.in-addr.arpa */
export function reverseName(ip: string): string {
  return `${ip.split('.').reverse().join('.')}${REVERSE_SUFFIX}`;
}

/**
 * 5.0.77.10.in-addr.arpa (any case, no trailing dot) → 10.77.0.5; undefined for anything
 * that is not the reverse name of one whole address (a zone such as 0.77.10.in-addr.arpa).
 */
export function ipFromReverseName(name: string): string | undefined {
  if (!name.endsWith(REVERSE_SUFFIX)) return undefined;
  const ip = name.slice(0, -REVERSE_SUFFIX.length).split('.').reverse().join('.');
  return isIPv4(ip) ? ip : undefined;
}

export interface Ipv4Subnet {
  readonly cidr: string;
  contains(ip: string): boolean;
}

/** "10.77.0.0/24" → a subnet; throws on anything else (the caller's config is validated). */
export function parseSubnet(cidr: string): Ipv4Subnet {
  const [base, bits, extra] = cidr.split('/');
  const prefix = Number(bits);
  if (extra !== undefined || !base || !isIPv4(base) || !/^\d{1,2}$/.test(bits ?? '') || prefix > 32)
    throw new Error(`${JSON.stringify(cidr)} is not an IPv4 subnet such as 10.77.0.0/24`);
  const size = 2 ** (32 - prefix);
  const network = Math.floor(ipv4ToInt(base) / size) * size;
  return {
    cidr,
    contains: (ip) => isIPv4(ip) && Math.floor(ipv4ToInt(ip) / size) * size === network,
  };
}
