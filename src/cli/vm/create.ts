import type { Command } from 'commander';
import { examples } from '../output.js';
import { addCreateFlags, type CreateFlags } from './spec-flags.js';

export function registerVmCreate(vm: Command): void {
  const create = vm
    .command('create')
    .description('Create and boot a VM, then wait until it answers on ssh');
  addCreateFlags(create)
    .addHelpText(
      'after',
      `\nPrints the spec line, then each stage: image, disks, boot, ssh. "banger vm run" is the\n` +
        `one-step way; create is for scripts that reuse one VM.\n` +
        examples([
          'banger vm create',
          'banger vm create --name ci-box --memory 4G --disk-size 20G',
          'banger vm create --image debian-bookworm --nat',
        ]),
    )
    .action(async (flags: CreateFlags) => {
      const { createVm } = await import('./create-vm.js');
      const vm = await createVm(flags, 'vm create');
      process.stdout.write(`${vm.name}\n`);
      process.stderr.write(`vm ${vm.name} is running: "banger vm ssh ${vm.name}" opens a shell\n`);
    });
}
