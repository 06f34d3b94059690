import { CommanderError } from 'commander';
import pc from 'picocolors';
import { BangerError, RemoteExitError, UsageError } from '../errors.js';
import { buildProgram } from './program.js';

/** Exit codes: 0 ok, 1 error, 2 usage; `vm run/ssh -- cmd` pass the remote code through. */
async function main(argv: string[]): Promise<number> {
  // `banger --help | head` closes the pipe early; that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const program = buildProgram();
  if (argv[2] === 'complete' && argv[3] === '--') {
    const { complete } = await import('./complete.js');
    await complete(program, argv.slice(4));
    // A daemon slower than the completion deadline must not keep the shell waiting.
    process.exit(0);
  }
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    return report(err);
  }
}

function report(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander already printed its message (help, version, or a usage error).
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof RemoteExitError) return err.exitCode;
  if (err instanceof BangerError) {
    process.stderr.write(`banger: ${err.message}\n`);
    if (err.hint) process.stderr.write(pc.dim(`  ${err.hint}\n`));
    if (process.env.BANGER_DEBUG && err.stack) process.stderr.write(`${err.stack}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`banger: internal error: ${message}\n`);
  process.stderr.write(
    pc.dim('  this is a bug in banger; rerun with BANGER_DEBUG=1 for the stack\n'),
  );
  if (process.env.BANGER_DEBUG && err instanceof Error && err.stack)
    process.stderr.write(`${err.stack}\n`);
  return 1;
}

const code = await main(process.argv);
// A command may have set its own status (daemon status: 3 when not running).
if (code !== 0 || process.exitCode === undefined) process.exitCode = code;
