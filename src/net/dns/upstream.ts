import { readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';

/** The resolver that names outside `.vm` are forwarded to. */
export interface Upstream {
  host: string;
  port: number;
}

export const RESOLV_CONF = '/etc/resolv.conf';

/**
 * The first `nameserver` of a resolv.conf text; glibc's own fallback (the local host) when
 * there is none.
 */
export function parseResolvConf(text: string): Upstream {
  for (const line of text.split('\n')) {
    const [key, value] = line
      .replace(/[#;].*/, '')
      .trim()
      .split(/\s+/);
    // A link-local IPv6 server carries its interface: fe80::1%eth0.
    if (key === 'nameserver' && value && isIP(value.split('%')[0] ?? '') !== 0)
      return { host: value, port: 53 };
  }
  return { host: '127.0.0.1', port: 53 };
}

/**
 * The host's resolver, read from resolv.conf and read again when the file changes (DHCP,
 * a VPN or systemd-resolved rewrite it while the daemon runs).
 */
export function resolvConfUpstream(path = RESOLV_CONF): () => Promise<Upstream> {
  let cached: { mtimeMs: number; upstream: Upstream } | undefined;
  return async () => {
    const mtimeMs = await stat(path).then(
      (s) => s.mtimeMs,
      () => -1,
    );
    if (cached?.mtimeMs !== mtimeMs) {
      const text = await readFile(path, 'utf8').catch(() => '');
      cached = { mtimeMs, upstream: parseResolvConf(text) };
    }
    return cached.upstream;
  };
}
