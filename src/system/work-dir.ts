import { readFile, stat } from 'node:fs/promises';
import type { Runner } from './runner.js';

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
  const mounts = (await readFile('/proc/self/mounts', 'utf8').catch(() => ''))
    .split('\n')
    .map((line) => (line.split(' ')[1] ?? '').replace(/\\040/g, ' '))
    .filter((target) => target.startsWith(`${workDir}/`))
    .sort((a, b) => b.length - a.length);
  for (const target of mounts) await runner.run('umount', ['-l', target], { allowFailure: true });
  await runner.run('rm', ['-rf', '--one-file-system', '--', workDir], { allowFailure: true });
}
