import { Option, type Command } from 'commander';
import { RemoteExitError, UsageError } from '../../errors.js';
import { examples } from '../output.js';
import { parseGuestCommand } from './dash-dash.js';

const EXAMPLE = 'banger vm exec box -- make test';
/** What --json keeps of each stream by default. */
export const DEFAULT_OUTPUT_CAP = 1024 * 1024;

interface ExecFlags {
  cwd?: string;
  env: string[];
  timeout?: number;
  json?: boolean;
  maxOutput: number;
}

export function registerVmExec(vm: Command): void {
  vm.command('exec')
    .description('Run a command in a running VM, without a terminal, and exit with its code')
    .usage('[options] <name> -- cmd...')
    .argument('<name>', 'the VM to run in')
    .argument('[cmd...]', 'the command, after --')
    .option('--cwd <dir>', 'the directory to run in (default: the image’s, else /root)')
    .option('-e, --env <KEY=VALUE>', 'set a variable for the command (repeatable)', collect, [])
    .option('--timeout <seconds>', 'stop the command (not the VM) after this long', seconds)
    .option('--json', 'print one JSON object: exit code, signal, output, duration')
    .addOption(
      new Option('--max-output <bytes>', 'with --json: keep at most this much of each stream')
        .argParser(bytes)
        .default(DEFAULT_OUTPUT_CAP, '1 MiB'),
    )
    .addHelpText(
      'after',
      `\nstdin, unless it is a terminal, is passed to the command. The exit code is the\n` +
        `command's (128+N when signal N ended it; 124 after --timeout). With --json the output\n` +
        `is captured instead of streamed: {exitCode, signal, timedOut, stdout, stderr,\n` +
        `truncated, outputCap, durationMs}.\n` +
        examples([
          EXAMPLE,
          'banger vm exec box --cwd /root/repo --env CI=1 -- npm test',
          'banger vm exec box --timeout 60 --json -- ./flaky.sh',
          'tar -c src | banger vm exec box -- tar -x -C /root',
        ]),
    )
    .hook('preAction', (_, cmd) => void parseGuestCommand(cmd, EXAMPLE))
    .action(async (...args: unknown[]) => {
      const cmd = args.at(-1) as Command;
      const flags = cmd.opts<ExecFlags>();
      const { operands, command } = parseGuestCommand(cmd, EXAMPLE);
      if (!command) throw new UsageError('give the command after --', { hint: `e.g. ${EXAMPLE}` });
      const { runExec } = await import('./exec-run.js');
      const code = await runExec(operands[0]!, command, flags);
      if (code !== 0) throw new RemoteExitError(code);
    });
}

function collect(value: string, previous: string[]): string[] {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(value))
    throw new UsageError(`--env ${value}: expected KEY=VALUE`, { hint: 'e.g. --env CI=1' });
  return [...previous, value];
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`--timeout ${value}: expected a number of seconds`, {
      hint: 'e.g. --timeout 30 or --timeout 0.5',
    });
  return n;
}

function bytes(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`--max-output ${value}: expected a number of bytes`, {
      hint: 'e.g. --max-output 65536',
    });
  return n;
}
