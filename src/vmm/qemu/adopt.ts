import { readdir, readFile, stat } from 'node:fs/promises';
import { vmFiles } from '../../config/layout.js';
import { processArgs } from '../../system/proc.js';
import { GUEST_SSH_PORT, type VmHandles } from '../vmm.js';

// A QEMU that runs while its handles.json is missing or damaged (a daemon killed between
// the launch and the write, a file someone broke) is still the VM's: its `-name` says
// whose it is, and its command line says the rest. Reconcile adopts it instead of marking
// the VM stopped and leaving the process orphaned.

/** The handles a running QEMU's command line gives, or undefined when it is not this VM's. */
export function handlesFromArgs(
  args: readonly string[],
  pid: number,
  dir: string,
  id: string,
  startedAt: string,
): VmHandles | undefined {
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (!/qemu-system/.test(args[0] ?? '') || value('-name') !== `banger-${id}`) return undefined;
  const files = vmFiles(dir);
  const netdev = value('-netdev') ?? '';
  const sshPort = netdev.startsWith('tap,')
    ? GUEST_SSH_PORT
    : Number(/hostfwd=tcp:127\.0\.0\.1:(\d+)-:22/.exec(netdev)?.[1] ?? 0);
  if (!sshPort) return undefined;
  const egressPort = Number(/guestfwd=tcp:[^-]+-cmd:.* 127\.0\.0\.1 (\d+)$/.exec(netdev)?.[1] ?? 0);
  const data = args.some((a) => a.includes(`path=${files.dataSocket},`));
  return {
    driver: 'qemu',
    accel: (value('-accel') ?? '').startsWith('kvm') ? 'kvm' : 'tcg',
    pid,
    controlSocket: files.qmpSocket,
    consoleLog: files.consoleLog,
    sshPort,
    startedAt,
    ...(data ? { dataSocket: files.dataSocket } : {}),
    ...(egressPort ? { egressPort } : {}),
  };
}

/**
 * The running QEMU of VM `id`: the pid file's process when it is that VM's, else the one
 * whose `-name` is `banger-<id>` among all processes (one scan of /proc serves the calls
 * of the next seconds: a daemon start asks for every VM). Zombies have no command line
 * and never match.
 */
export async function findRunningQemu(
  dir: string,
  id: string,
  procRoot = '/proc',
): Promise<VmHandles | undefined> {
  const fromFile = Number.parseInt(
    await readFile(vmFiles(dir).pidFile, 'utf8').catch(() => ''),
    10,
  );
  const byFile =
    Number.isInteger(fromFile) && fromFile > 0
      ? await asHandles(fromFile, dir, id, procRoot)
      : undefined;
  if (byFile) return byFile;
  const pid = (await bangerQemus(procRoot)).get(`banger-${id}`);
  return pid ? asHandles(pid, dir, id, procRoot) : undefined;
}

async function asHandles(
  pid: number,
  dir: string,
  id: string,
  procRoot: string,
): Promise<VmHandles | undefined> {
  const args = await processArgs(pid, procRoot);
  const started = await stat(`${procRoot}/${pid}`).then(
    (s) => s.mtime.toISOString(),
    () => new Date().toISOString(),
  );
  return handlesFromArgs(args, pid, dir, id, started);
}

let scan: { at: number; root: string; pids: Promise<Map<string, number>> } | undefined;

/** `-name` → pid of every QEMU of banger's running now (cached for 2 s). */
function bangerQemus(procRoot: string): Promise<Map<string, number>> {
  if (scan && scan.root === procRoot && Date.now() - scan.at < 2000) return scan.pids;
  const pids = (async () => {
    const found = new Map<string, number>();
    for (const name of await readdir(procRoot).catch(() => [] as string[])) {
      if (!/^\d+$/.test(name)) continue;
      const args = await processArgs(Number(name), procRoot);
      const i = args.indexOf('-name');
      if (i >= 0 && /qemu-system/.test(args[0] ?? '') && args[i + 1]?.startsWith('banger-'))
        found.set(args[i + 1]!, Number(name));
    }
    return found;
  })();
  scan = { at: Date.now(), root: procRoot, pids };
  return pids;
}
