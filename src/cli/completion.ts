import type { Command } from 'commander';
import { examples } from './output.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('Print a shell completion script (bash, zsh or fish)')
    .argument('<shell>', `one of ${SHELLS.join(', ')}`)
    .addHelpText(
      'after',
      `\nVM, image and kernel names are completed from a running bangerd; completion never starts it.\n` +
        examples([
          'banger completion bash > ~/.local/share/bash-completion/completions/banger',
          'banger completion zsh > "${fpath[1]}/_banger"',
          'banger completion fish > ~/.config/fish/completions/banger.fish',
        ]),
    )
    .action(async (shell: string) => {
      if (!(SHELLS as readonly string[]).includes(shell)) {
        const { UsageError } = await import('../errors.js');
        throw new UsageError(`unsupported shell "${shell}": use ${SHELLS.join(', ')}`);
      }
      const { script } = await import('@bomb.sh/tab');
      // The generated script calls back `banger complete -- <words>` (see complete.ts).
      script(shell, program.name(), program.name());
    });
}
