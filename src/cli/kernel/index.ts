import type { Command } from 'commander';
import { examples } from '../output.js';
import { registerKernelImport } from './import.js';
import { registerKernelList } from './list.js';
import { registerKernelPull } from './pull.js';
import { registerKernelRm } from './rm.js';
import { registerKernelShow } from './show.js';

export function registerKernel(program: Command): void {
  const kernel = program
    .command('kernel')
    .description(
      'Manage the kernels images boot with: list, pull from the catalog, import your own',
    )
    .addHelpText(
      'after',
      `\nBuilding an image registers the kernel that comes with it; most people never need these.\n` +
        examples([
          'banger kernel ls',
          'banger kernel ls --available',
          'banger kernel show debian-bookworm-cloud   # after "banger image build"',
        ]),
    );
  registerKernelList(kernel);
  registerKernelShow(kernel);
  registerKernelPull(kernel);
  registerKernelImport(kernel);
  registerKernelRm(kernel);
}
