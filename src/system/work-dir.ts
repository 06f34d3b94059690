import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { waitForExit } from './proc.js';
import type { Runner } from './runner.js';

/**
 * The processes working in `dir`: their command line names it, or their working directory,
 * root (a chroot) or TMPDIR is inside it. A daemon killed mid-build leaves mmdebstrap and
 * its dpkg and tar children running there for a while; its successor must stop them before
 * it removes the directory, or they write into it again.
 */
export async function processesIn(dir: string, procRoot = '/proc'): Promise<number[]> {
  const inside = (path: string) => path === dir || path.startsWith(`${dir}/`);
  const found: number[] = [];
  for (const entry of await readdir(procRoot).catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const at = (name: string) => `${procRoot}/${entry}/${name}`;
    const [cmdline, environ, cwd, root] = await Promise.all([
      readFile(at('cmdline'), 'utf8').catch(() => ''),
      readFile(at('environ'), 'utf8').catch(() => ''),
      readlink(at('cwd')).catch(() => ''),
      readlink(at('root')).catch(() => ''),
    ]);
    if (
      cmdline.split('\0').some((a) => inside(a) || a.includes(`${dir}/`)) ||
      environ.split('\0').some((v) => v.startsWith('TMPDIR=') && inside(v.slice(7))) ||
      inside(cwd) ||
      inside(root)
    )
      found.push(Number(entry));
  }
  return found;
}

/** SIGKILLs every process working in `dir` and waits (up to 10 s) until they are gone. */
export async function stopProcessesIn(dir: string): Promise<number[]> {
  const pids = await processesIn(dir);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await Promise.all(pids.map((pid) => waitForExit(pid, 10_000)));
  return pids;
}

/**
 * A cancelled mmdebstrap can leave proc, sys and dev mounted inside its chroot: unmount
 * everything below workDir first, and never let the removal cross into a file system.
 */
export async function removeWorkDir(workDir: string, runner: Runner): Promise<void> {
  // Daemon start-up calls this every time: no process spawned when there is nothing to remove.
  if (
    !(await stat(workDir).then(
      () => true,
      () => false,
    ))
  )
    return;
  await stopProcessesIn(workDir);
  const mounts = (await readFile('/proc/self/mounts', 'utf8').catch(() => ''))
    .split('\n')
    .map((line) => (line.split(' ')[1] ?? '').replace(/\\040/g, ' '))
    .filter((target) => target.startsWith(`${workDir}/`))
    .sort((a, b) => b.length - a.length);
  for (const target of mounts) await runner.run('umount', ['-l', target], { allowFailure: true });
  await runner.run('rm', ['-rf', '--one-file-system', '--', workDir], { allowFailure: true });
}
