import { formatSpecLine } from '../../config/vm-defaults.js';
import type { VmDetail } from '../../protocol/vm.js';
import { withDaemon } from '../with-daemon.js';
import { loadCreateDefaults, sshWaitParam, type CreateFlags } from './spec-flags.js';

/**
 * `vm create` and `vm run`: the CLI resolves the size (flags, then config, then the host,
 * then the builtin floor) so the `spec:` line it prints is exactly the VM the daemon makes.
 */
export async function createVm(
  flags: CreateFlags & { sshWaitSeconds?: number },
  label: string,
  /** An absolute repository path to be copied in after boot: checked by the daemon first. */
  workspace?: string,
): Promise<VmDetail> {
  const { layout, defaults } = await loadCreateDefaults();
  const spec = {
    vcpu: flags.vcpu ?? defaults.vcpu.value,
    memoryMiB: flags.memory ?? defaults.memoryMiB.value,
    diskBytes: flags.diskSize ?? defaults.diskBytes.value,
  };
  const { ProgressRenderer } = await import('../progress.js');
  return withDaemon(
    async (client) => {
      const { vmm } = await client.call('daemon.status', {});
      const { start } = await client.call('vm.plan', {
        ...spec,
        ...(flags.image !== undefined ? { image: flags.image } : {}),
        ...(flags.network !== undefined ? { network: flags.network } : {}),
        ...(flags.cold ? { cold: true } : {}),
      });
      const how = `${vmm.driver}/${vmm.accel}${start === 'warm' ? ' · warm' : ''}`;
      process.stderr.write(`${formatSpecLine(spec, how)}\n`);
      const progress = new ProgressRenderer(label);
      try {
        const vm = await client.call(
          'vm.create',
          {
            ...spec,
            ...(flags.name !== undefined ? { name: flags.name } : {}),
            ...(flags.image !== undefined ? { image: flags.image } : {}),
            ...(flags.nat ? { nat: true } : {}),
            ...(flags.egress !== undefined ? { egress: flags.egress } : {}),
            ...(flags.network !== undefined ? { network: flags.network } : {}),
            ...(workspace !== undefined ? { workspace } : {}),
            ...(flags.publish?.length ? { publish: flags.publish } : {}),
            ...(flags.cold ? { cold: true } : {}),
            ...sshWaitParam(flags),
          },
          { onProgress: progress.onProgress },
        );
        progress.done();
        for (const p of vm.published ?? [])
          process.stderr.write(`published: 127.0.0.1:${p.host} → ${vm.name} port ${p.guest}\n`);
        return vm;
      } finally {
        progress.done();
      }
    },
    { layout },
  );
}
