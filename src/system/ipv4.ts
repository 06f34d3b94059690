// IPv4 addresses as numbers and back: the subnet checks in config, the tap network's
// allocation and the DNS responder's reverse zone all count in them.

/** 10.77.0.5 → 172818437 (the dotted quad is assumed valid). */
export function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

/** 172818437 → 10.77.0.5 */
export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}
