import { registerMcp } from './mcp.js';
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { registerCompletion } from './completion.js';
import { registerDaemon } from './daemon/index.js';
import { registerDoctor } from './doctor.js';
import { registerImage } from './image/index.js';
import { registerInternal } from './internal/index.js';
import { registerKernel } from './kernel/index.js';
import { examples } from './output.js';
import { registerVersion } from './version.js';
import { registerVm } from './vm/index.js';

/**
 * The whole command tree. Building it loads only commander and the command files; each
 * action imports what it needs, so `banger --help` stays cheap.
 */
export function buildProgram(): Command {
  const program = new Command('banger')
    .description('Disposable, isolated Linux microVMs in one command.')
    .version(VERSION, '-V, --version', 'print the banger version')
    .helpOption('-h, --help', 'show help for a command')
    .addHelpCommand(false)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => write(`banger: ${text.replace(/^error: /, '')}`),
    })
    .addHelpText(
      'after',
      examples([
        'banger vm run -- uname -a            # boot a VM, run a command, exit with its code',
        'banger vm run ./repo -- make test    # the same, with ./repo copied in at /root/repo',
        'banger vm ls',
        'banger doctor',
      ]),
    );
  registerVm(program);
  registerImage(program);
  registerKernel(program);
  registerDaemon(program);
  registerDoctor(program);
  registerMcp(program);
  registerCompletion(program);
  registerVersion(program);
  registerInternal(program);
  return program;
}
