import { createHash } from 'node:crypto';
import { BangerError, ErrorCode } from '../../errors.js';
import { intToIpv4, ipv4ToInt } from '../../system/ipv4.js';

/** An IPv4 subnet as banger uses it: the host (bridge) takes the first address. */
export interface Subnet {
  cidr: string;
  prefix: number;
  /** The bridge's address, which guests use as gateway and DNS server. */
  hostIp: string;
  /** The first and last address a VM may get (network + 2 … broadcast − 1). */
  first: number;
  last: number;
}

export function parseSubnet(cidr: string): Subnet {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const prefix = Number(match?.[5]);
  if (!match || prefix < 8 || prefix > 30)
    throw new BangerError(ErrorCode.Config, `network.subnet ${JSON.stringify(cidr)} is not usable`);
  const base = ipv4ToInt(match.slice(1, 5).join('.'));
  const size = 2 ** (32 - prefix);
  return { cidr, prefix, hostIp: intToIpv4(base + 1), first: base + 2, last: base + size - 2 };
}

/** The lowest address of the subnet's VM range not in `taken`, or undefined when full. */
export function firstFree(subnet: Subnet, taken: ReadonlySet<string>): string | undefined {
  for (let n = subnet.first; n <= subnet.last; n++) {
    const ip = intToIpv4(n);
    if (!taken.has(ip)) return ip;
  }
  return undefined;
}

/**
 * A VM's MAC, derived from its id: stable across restarts (the guest's view of its NIC
 * does not change), locally administered and unicast (first octet 02).
 */
export function macFor(vmId: string): string {
  const hex = createHash('sha256').update(vmId).digest('hex').slice(0, 10);
  return ['02', ...(hex.match(/../g) ?? [])].join(':');
}

/** The tap a running VM has: named after its id, so a restart finds it without handles. */
export function tapFor(vmId: string): string {
  return `${TAP_PREFIX}${vmId.slice(0, 12)}`;
}

/** Taps of VMs (`bt-<id>`) and of the pool (`bp-<random>`): nothing else is banger's. */
export const TAP_PREFIX = 'bt-';
export const POOL_PREFIX = 'bp-';
