import type { Command } from 'commander';
import { VERSION } from '../version.js';
import { examples } from './output.js';

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('Print the banger version (the same as --version)')
    .addHelpText('after', examples(['banger version']))
    .action(() => {
      process.stdout.write(`banger ${VERSION} (node ${process.version})\n`);
    });
}
