import { access, readFile, stat } from 'node:fs/promises';
import { release } from 'node:os';
import { BangerError, ErrorCode } from '../../errors.js';
import { which } from '../../system/which.js';

/** What tap networking needs of the host, one line each with its fix. */
export interface TapSupport {
  ok: boolean;
  missing: { what: string; fix: string }[];
}

/** CAP_NET_ADMIN is capability 12. */
const CAP_NET_ADMIN = 12n;

/** Root or CAP_NET_ADMIN, /dev/net/tun, bridge support, and the `ip` and `nft` programs. */
export async function tapSupport(
  env: {
    /** Finds a program (default: system/which.ts on PATH and the sbin dirs). */
    which?: (program: string) => string | undefined;
    procStatus?: string;
    modulesDir?: string;
  } = {},
): Promise<TapSupport> {
  const find = env.which ?? ((program: string) => which(program));
  const missing: TapSupport['missing'] = [];
  const status = await readFile(env.procStatus ?? '/proc/self/status', 'utf8').catch(() => '');
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (!capEff || ((BigInt(`0x${capEff}`) >> CAP_NET_ADMIN) & 1n) === 0n)
    missing.push({
      what: 'root or CAP_NET_ADMIN',
      fix: 'run bangerd as root, or grant it CAP_NET_ADMIN; user mode needs neither',
    });
  const tun = await stat('/dev/net/tun').then(
    (s) => s.isCharacterDevice(),
    () => false,
  );
  if (!tun) missing.push({ what: '/dev/net/tun', fix: 'load the tun module ("modprobe tun")' });
  const modules = env.modulesDir ?? `/lib/modules/${release()}`;
  const bridge =
    (await exists('/sys/module/bridge')) ||
    (await exists(`${modules}/kernel/net/bridge/bridge.ko`)) ||
    (await exists(`${modules}/kernel/net/bridge/bridge.ko.xz`));
  if (!bridge)
    missing.push({ what: 'bridge support', fix: 'a kernel with CONFIG_BRIDGE (module "bridge")' });
  for (const program of ['ip', 'nft'])
    if (!find(program))
      missing.push({
        what: `the ${program} program`,
        fix: `apt-get install ${program === 'ip' ? 'iproute2' : 'nftables'}`,
      });
  return { ok: missing.length === 0, missing };
}

/** The error a tap request gets on a host that cannot do it: at once, naming what lacks. */
export function tapUnsupported(support: TapSupport): BangerError {
  return new BangerError(
    ErrorCode.Config,
    `tap networking is not available here: no ${support.missing.map((m) => m.what).join(', no ')}`,
    {
      hint: `${support.missing.map((m) => m.fix).join('; ')}; or use --network user`,
    },
  );
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
