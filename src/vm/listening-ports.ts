// What listens in a guest: its sockets from /proc/net/{tcp,tcp6,udp,udp6} and, where the guest
// can tell, the processes holding them (socket inodes under /proc/*/fd). One guest script:
// every process costs ~60 ms under emulation, so the tables and the names are read with the
// shell's builtins and only `ls` runs (the fd links need readlink, which no shell has).

/**
 * Prints `net FILE LINE` for every line of the four tables, `ls -l` of every process's fd
 * directory after `#fd`, and `/proc/PID COMM` per process after `#comm`. Processes that end
 * meanwhile are skipped.
 */
export const LISTENERS_SCRIPT = `
for f in tcp tcp6 udp udp6; do
  [ -r /proc/net/$f ] || continue
  while read -r l; do echo "net $f $l"; done < /proc/net/$f
done
echo '#fd'
ls -l /proc/[0-9]*/fd 2>/dev/null
echo '#comm'
for d in /proc/[0-9]*; do read -r c < "$d/comm" && echo "$d $c"; done 2>/dev/null
exit 0
`;

export interface GuestListener {
  protocol: 'tcp' | 'udp';
  /** The address it is bound to: 0.0.0.0, ::, 127.0.0.1, 10.0.2.15 … */
  address: string;
  port: number;
  /** Names of the processes holding the socket (none when the guest cannot tell). */
  processes: string[];
}

/** TCP_LISTEN; an unconnected UDP socket is TCP_CLOSE with no remote port. */
const TCP_LISTEN = '0A';
const UDP_UNCONNECTED = '07';

/** The script's output as listeners: TCP sockets in LISTEN, UDP sockets bound and unconnected. */
export function parseListeners(text: string): GuestListener[] {
  const sockets: (Omit<GuestListener, 'processes'> & { inode: string })[] = [];
  const inodeOwners = new Map<string, Set<string>>();
  const comm = new Map<string, string>();
  let section: 'net' | 'fd' | 'comm' = 'net';
  let pid: string | undefined;
  for (const line of text.split('\n')) {
    if (line === '#fd' || line === '#comm') {
      section = line === '#fd' ? 'fd' : 'comm';
      continue;
    }
    if (section === 'net') {
      const socket = parseNetLine(line);
      if (socket) sockets.push(socket);
    } else if (section === 'fd') {
      const header = /^\/proc\/(\d+)\/fd:$/.exec(line);
      if (header) pid = header[1];
      const inode = /-> socket:\[(\d+)\]$/.exec(line)?.[1];
      if (inode && pid) {
        const owners = inodeOwners.get(inode) ?? new Set<string>();
        inodeOwners.set(inode, owners.add(pid));
      }
    } else {
      const m = /^\/proc\/(\d+) (.*)$/.exec(line);
      if (m) comm.set(m[1]!, m[2]!);
    }
  }
  return sockets.map(({ inode, ...s }) => ({
    ...s,
    processes: [
      ...new Set([...(inodeOwners.get(inode) ?? [])].flatMap((p) => comm.get(p) ?? [])),
    ].sort(),
  }));
}

/** `net tcp   0: 00000000:0016 00000000:0000 0A … uid timeout inode …`; undefined otherwise. */
function parseNetLine(
  line: string,
): (Omit<GuestListener, 'processes'> & { inode: string }) | undefined {
  const fields = line.trim().split(/\s+/);
  const file = fields[1];
  if (fields[0] !== 'net' || !file || !/^\d+:$/.test(fields[2] ?? '')) return undefined;
  const [local, remote, state, inode] = [fields[3], fields[4], fields[5], fields[11]];
  if (!local || !remote || !state || !inode) return undefined;
  const protocol = file.startsWith('tcp') ? 'tcp' : 'udp';
  const listening =
    protocol === 'tcp'
      ? state === TCP_LISTEN
      : state === UDP_UNCONNECTED && remote.endsWith(':0000');
  const [addressHex, portHex] = local.split(':');
  if (!listening || !addressHex || !portHex) return undefined;
  const address = decodeAddress(addressHex);
  const port = Number.parseInt(portHex, 16);
  if (address === undefined || !(port > 0)) return undefined;
  return { protocol, address, port, inode };
}

/**
 * /proc/net's addresses are 32-bit words printed in the guest's byte order (little-endian
 * on x86_64): one word for IPv4, four for IPv6.
 */
export function decodeAddress(hex: string): string | undefined {
  if (!/^[0-9A-Fa-f]+$/.test(hex) || (hex.length !== 8 && hex.length !== 32)) return undefined;
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8)
    for (let b = 3; b >= 0; b--)
      bytes.push(Number.parseInt(hex.slice(w + b * 2, w + b * 2 + 2), 16));
  if (bytes.length === 4) return bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff)
    return `::ffff:${bytes.slice(12).join('.')}`;
  return compressIpv6(groups);
}

/** RFC 5952: lower-case hex, the longest run of two or more zero groups as `::`. */
function compressIpv6(groups: readonly number[]): string {
  let best = { start: -1, length: 0 };
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > best.length && j - i >= 2) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(':');
  const head = hex.slice(0, best.start).join(':');
  const tail = hex.slice(best.start + best.length).join(':');
  return `${head}::${tail}`;
}

/** 127.0.0.0/8, ::1 and IPv4-mapped loopback: reachable from inside the guest only. */
export function isLoopback(address: string): boolean {
  return /^(::ffff:)?127\./.test(address) || address === '::1';
}

export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}
