import { resolve } from 'node:path';
import type { BranchFlags } from './branch-flags.js';

/** Copies PATH's repository into the VM, stages on stderr; prints where it landed. */
export async function prepareWorkspace(
  vm: string,
  path: string,
  flags: BranchFlags,
  label: string,
): Promise<void> {
  const { callWithProgress } = await import('../../with-daemon.js');
  const r = await callWithProgress(
    'vm.workspace.prepare',
    {
      ref: vm,
      path: resolve(path),
      ...(flags.branch !== undefined ? { branch: flags.branch } : {}),
      ...(flags.from !== undefined ? { from: flags.from } : {}),
    },
    label,
  );
  process.stderr.write(
    `${r.root} → ${r.name}:/root/repo (${r.files} files over ${r.via === 'ssh' ? 'ssh' : 'the data port'}${r.branch ? `, branch ${r.branch}` : ''}, base ${r.base.slice(0, 12)})\n`,
  );
}
