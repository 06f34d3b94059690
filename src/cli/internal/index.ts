import type { Command } from 'commander';
import { resolveLayout } from '../../config/layout.js';
import { printJson } from '../output.js';
import { registerMakeBundle } from './make-bundle.js';

/** Plumbing for scripts, tests and uninstall; hidden from --help and not a stable interface. */
export function registerInternal(program: Command): void {
  const internal = program
    .command('internal', { hidden: true })
    .description('Plumbing commands for scripts and tests (not a stable interface)');
  internal
    .command('paths')
    .description('Print every directory and file banger uses, as JSON')
    .action(() => printJson(resolveLayout()));
  registerMakeBundle(internal);
}
