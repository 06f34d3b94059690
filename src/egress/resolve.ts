import { lookup } from 'node:dns/promises';
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';

// How the egress proxy finds a listed name's addresses: the host's resolver (getaddrinfo:
// /etc/hosts, then DNS), or the DNS servers `network.egress_dns` names. Never the guest's.

/** `IP` or `IP:PORT`, as network.egress_dns takes them; else what is wrong. */
export function resolverProblem(value: string): string | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(value);
  return m && isIP(m[1]!) && (!m[2] || (Number(m[2]) > 0 && Number(m[2]) < 65536))
    ? undefined
    : `${JSON.stringify(value)} is not an IPv4 address with an optional :port`;
}

/** A name's IPv4 then IPv6 addresses; empty when it does not resolve. */
export function makeResolver(servers: readonly string[]): (host: string) => Promise<string[]> {
  if (servers.length === 0)
    return async (host) =>
      (await lookup(host, { all: true, verbatim: true }).catch(() => [])).map((a) => a.address);
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  resolver.setServers([...servers]);
  return async (host) => {
    const [v4, v6] = await Promise.all([
      resolver.resolve4(host).catch(() => [] as string[]),
      resolver.resolve6(host).catch(() => [] as string[]),
    ]);
    return [...v4, ...v6];
  };
}
