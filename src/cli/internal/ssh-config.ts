import type { Command } from 'commander';
import { resolveLayout } from '../../config/layout.js';

/**
 * The block in ~/.ssh/config that includes banger's ssh_config (`ssh NAME.vm`). bangerd
 * writes it at every VM create and start; this writes it now, or removes it (uninstall).
 */
export function registerSshConfig(internal: Command): void {
  internal
    .command('ssh-config')
    .description("Write (or with --remove, remove) banger's Include block in ~/.ssh/config")
    .option('--remove', 'remove the block, leaving the rest of the file as it was')
    .action(async (opts: { remove?: boolean }) => {
      const layout = resolveLayout();
      if (opts.remove) {
        const { removeUserSshConfigBlock } = await import('../../ssh/user-config-block.js');
        const removed = await removeUserSshConfigBlock(layout.userSshConfig);
        process.stdout.write(
          removed
            ? `removed banger's block from ${layout.userSshConfig}\n`
            : `no banger block in ${layout.userSshConfig}\n`,
        );
        return;
      }
      const { installClientConfig } = await import('../../ssh/client-config.js');
      await installClientConfig(layout, { manageUserConfig: true });
      process.stdout.write(`${layout.userSshConfig} includes ${layout.sshClientConfig}\n`);
    });
}
