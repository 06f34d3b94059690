import { isIPv4 } from 'node:net';
import { BangerError, ErrorCode } from '../../errors.js';

/** The zone the responder is authoritative for: `<name>.vm`. */
export const VM_ZONE = 'vm';

/** One VM the responder answers for: `box` → `box.vm` → 10.77.0.5, and back. */
export interface VmDnsRecord {
  /** The VM's name (a DNS label; `box`, not `box.vm`). */
  name: string;
  ip: string;
}

/**
 * DNS names are case-insensitive and may end in the root's dot: `Box.VM.` is `box.vm`.
 * Reverse names go through here too.
 */
export function normaliseName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * The records, replaced as a whole by `set` (the daemon hands over every tap VM it has,
 * whenever one changes) and read per query through two maps.
 */
export class VmDnsRecords {
  private byFqdn = new Map<string, string>();
  private byIp = new Map<string, string>();

  set(records: readonly VmDnsRecord[]): void {
    const byFqdn = new Map<string, string>();
    const byIp = new Map<string, string>();
    for (const { name, ip } of records) {
      if (!isIPv4(ip))
        throw new BangerError(
          ErrorCode.Internal,
          `DNS record for ${JSON.stringify(name)} has ${JSON.stringify(ip)}, not an IPv4 address`,
        );
      const fqdn = `${normaliseName(name)}.${VM_ZONE}`;
      byFqdn.set(fqdn, ip);
      // Two names on one address (never expected): the reverse answer is the first.
      if (!byIp.has(ip)) byIp.set(ip, fqdn);
    }
    this.byFqdn = byFqdn;
    this.byIp = byIp;
  }

  /** `box.vm` (normalised) → its address. */
  address(fqdn: string): string | undefined {
    return this.byFqdn.get(fqdn);
  }

  /** 10.77.0.5 → `box.vm`. */
  nameOf(ip: string): string | undefined {
    return this.byIp.get(ip);
  }

  get size(): number {
    return this.byFqdn.size;
  }
}
