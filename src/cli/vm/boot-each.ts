import { forEachVm } from './each.js';
import { sshWaitParam } from './spec-flags.js';

/** `vm start` and `vm restart`: each VM's stages rendered, then "NAME running". */
export async function bootEach(
  verb: 'start' | 'restart',
  names: string[],
  flags: { sshWaitSeconds?: number; cold?: boolean },
): Promise<void> {
  const { ProgressRenderer } = await import('../progress.js');
  await forEachVm(verb, names, async (client, ref) => {
    const progress = new ProgressRenderer(`vm ${verb} ${ref}`);
    try {
      const vm = await client.call(
        verb === 'start' ? 'vm.start' : 'vm.restart',
        {
          ref,
          ...sshWaitParam(flags),
          ...(verb === 'start' && flags.cold ? { cold: true } : {}),
        },
        { onProgress: progress.onProgress },
      );
      return `${vm.name} running`;
    } finally {
      progress.done();
    }
  });
}
