import { forEachVm } from './each.js';

/** `vm start` and `vm restart`: each VM's stages rendered, then "NAME running". */
export async function bootEach(
  verb: 'start' | 'restart',
  names: string[],
  flags: { sshWaitSeconds?: number },
): Promise<void> {
  const { ProgressRenderer } = await import('../progress.js');
  await forEachVm(verb, names, async (client, ref) => {
    const progress = new ProgressRenderer(`vm ${verb} ${ref}`);
    try {
      const vm = await client.call(
        verb === 'start' ? 'vm.start' : 'vm.restart',
        {
          ref,
          ...(flags.sshWaitSeconds !== undefined
            ? { sshWaitMs: Math.round(flags.sshWaitSeconds * 1000) }
            : {}),
        },
        { onProgress: progress.onProgress },
      );
      return `${vm.name} running`;
    } finally {
      progress.done();
    }
  });
}
