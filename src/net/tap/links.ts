import { randomBytes } from 'node:crypto';
import { BangerError, ErrorCode } from '../../errors.js';
import type { Runner } from '../../system/runner.js';
import { POOL_PREFIX, TAP_PREFIX } from './subnet.js';

// The host side of tap networking, through `ip` (iproute2): the bridge, and the taps that
// are banger's by name (bt-<vm id> for a VM's, bp-<random> for the pool's). Each change is
// one `ip -batch` process.

/** `ip -batch -`: the commands in one process; the first failure fails the whole call. */
async function ipBatch(runner: Runner, commands: readonly string[]): Promise<void> {
  await runner.run('ip', ['-batch', '-'], { input: `${commands.join('\n')}\n` });
}

interface IpLink {
  ifname: string;
  master?: string;
  flags?: string[];
}

interface IpAddr {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

export async function listLinks(runner: Runner): Promise<IpLink[]> {
  const r = await runner.run('ip', ['-j', 'link', 'show']);
  return JSON.parse(r.stdout || '[]') as IpLink[];
}

/** banger's taps on this host, VMs' and the pool's. */
export async function listTaps(runner: Runner): Promise<{ vm: string[]; pool: string[] }> {
  const names = (await listLinks(runner)).map((l) => l.ifname);
  return {
    vm: names.filter((n) => n.startsWith(TAP_PREFIX)),
    pool: names.filter((n) => n.startsWith(POOL_PREFIX)),
  };
}

/**
 * The bridge with the host's address on the subnet, up: made when missing, its address
 * added when it lacks it; an existing one is otherwise left as it is.
 */
export async function ensureBridge(
  runner: Runner,
  bridge: string,
  hostIp: string,
  prefix: number,
): Promise<void> {
  const r = await runner.run('ip', ['-j', 'addr', 'show', 'dev', bridge], { allowFailure: true });
  const commands: string[] = [];
  if (r.exitCode !== 0) commands.push(`link add name ${bridge} type bridge`);
  const addrs = r.exitCode === 0 ? (JSON.parse(r.stdout || '[]') as IpAddr[]) : [];
  const has = addrs.some((a) =>
    (a.addr_info ?? []).some((i) => i.family === 'inet' && i.local === hostIp),
  );
  if (!has) commands.push(`addr add ${hostIp}/${prefix} dev ${bridge}`);
  commands.push(`link set dev ${bridge} up`);
  await ipBatch(runner, commands).catch((err: unknown) => {
    throw new BangerError(
      ErrorCode.Subprocess,
      `cannot set up the bridge ${bridge} with ${hostIp}/${prefix}: ${(err as Error).message}`,
      {
        hint: 'tap networking needs root (or CAP_NET_ADMIN) and bridge support: "banger doctor" says what this host lacks',
      },
    );
  });
}

/** A new persistent tap for the pool, down and on no bridge. */
export async function createPoolTap(runner: Runner): Promise<string> {
  const name = `${POOL_PREFIX}${randomBytes(4).toString('hex')}`;
  await ipBatch(runner, [`tuntap add dev ${name} mode tap`]);
  return name;
}

/**
 * The VM's tap on the bridge and up: the pool's tap renamed to it when there is one (a
 * link can only be renamed while down, as pool taps are), else a new one.
 */
export async function claimTap(
  runner: Runner,
  name: string,
  bridge: string,
  pooled: string | undefined,
): Promise<void> {
  await ipBatch(runner, [
    pooled ? `link set dev ${pooled} name ${name}` : `tuntap add dev ${name} mode tap`,
    `link set dev ${name} master ${bridge}`,
    `link set dev ${name} up`,
  ]);
}

/** Deletes a link; one that is already gone is fine. */
export async function deleteLink(runner: Runner, name: string): Promise<void> {
  const r = await runner.run('ip', ['link', 'del', 'dev', name], { allowFailure: true });
  if (r.exitCode !== 0 && !/Cannot find device|does not exist/i.test(r.stderr))
    throw new BangerError(ErrorCode.Subprocess, `cannot delete ${name}: ${r.stderr.trim()}`);
}
