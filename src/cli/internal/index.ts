import type { Command } from 'commander';
import { everyName, resolveLayout, vmFiles } from '../../config/layout.js';
import { printJson } from '../output.js';
import { registerMakeBundle } from './make-bundle.js';
import { registerSshConfig } from './ssh-config.js';
import { registerSshProxy } from './ssh-proxy.js';

/** Plumbing for scripts, tests and uninstall; hidden from --help and not a stable interface. */
export function registerInternal(program: Command): void {
  const internal = program
    .command('internal', { hidden: true })
    .description('Plumbing commands for scripts and tests (not a stable interface)');
  internal
    .command('paths')
    .description('Print every directory and file banger uses, as JSON; with a VM, its files')
    .argument('[vm]', 'a VM whose files to print too')
    .action(async (vm: string | undefined) => {
      const layout = resolveLayout();
      const out: Record<string, unknown> = { layout, names: everyName() };
      if (vm !== undefined) {
        const { withDaemon } = await import('../with-daemon.js');
        const detail = await withDaemon((c) => c.call('vm.show', { ref: vm }), { layout });
        out.vm = { name: detail.name, dir: detail.dir, files: vmFiles(detail.dir) };
      }
      printJson(out);
    });
  registerMakeBundle(internal);
  registerSshConfig(internal);
  registerSshProxy(internal);
}
