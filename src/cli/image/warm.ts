import { Option, type Command } from 'commander';
import { examples } from '../output.js';
import { addSpecFlags, type SpecFlags } from '../vm/spec-flags.js';

/** `image warm`: make (or remove) the warm-start template of an image for one VM size. */
export function registerImageWarm(image: Command): void {
  const warm = image
    .command('warm')
    .description(
      'Boot a VM of the image once and save it, so new VMs of that size resume in about a second',
    )
    .argument('<name>', 'the image')
    .option('--rm', "remove the image's templates (of that size when sizing flags are given)")
    .addOption(
      new Option(
        '--network <mode>',
        'the network mode of the VMs it is for (default: network.mode)',
      ).choices(['user', 'tap']),
    )
    .addHelpText(
      'after',
      `\nWithout sizing flags the size is a new VM's default. banger also makes a template by\n` +
        `itself after the first cold boot of a size ([warm] auto in config.toml).\n` +
        examples([
          'banger image warm debian-bookworm',
          'banger image warm debian-bookworm --vcpu 4 --memory 4G',
          'banger image warm debian-bookworm --rm',
        ]),
    );
  addSpecFlags(warm).action(
    async (name: string, flags: SpecFlags & { rm?: boolean; network?: 'user' | 'tap' }) => {
      const { loadCreateDefaults } = await import('../vm/spec-flags.js');
      const { defaults } = await loadCreateDefaults();
      const size = {
        vcpu: flags.vcpu ?? defaults.vcpu.value,
        memoryMiB: flags.memory ?? defaults.memoryMiB.value,
        diskBytes: flags.diskSize ?? defaults.diskBytes.value,
      };
      const sized =
        flags.vcpu !== undefined || flags.memory !== undefined || flags.diskSize !== undefined;
      const network = flags.network !== undefined ? { network: flags.network } : {};
      const { callWithProgress } = await import('../with-daemon.js');
      if (flags.rm) {
        const r = await callWithProgress('image.warm', {
          name,
          remove: true,
          ...(sized ? { ...size, ...network } : {}),
        });
        const n = r.removed ?? 0;
        process.stdout.write(`${name}: ${n} template${n === 1 ? '' : 's'} removed\n`);
        return;
      }
      const r = await callWithProgress('image.warm', { name, ...size, ...network });
      const { formatSpec } = await import('../../config/vm-defaults.js');
      const t = r.template;
      process.stdout.write(
        `${name}: warm for ${formatSpec(size)}${t ? ` (template ${t.key})` : ''}\n`,
      );
    },
  );
}
