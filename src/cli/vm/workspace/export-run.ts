import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * The daemon writes the export to a file (staged, renamed when complete); without --out the
 * CLI hands it to stdout from a private temp dir and removes it.
 */
export async function exportWorkspace(
  vm: string,
  opts: { out?: string; nameOnly?: boolean },
): Promise<void> {
  const { withDaemon } = await import('../../with-daemon.js');
  const call = (out: string) =>
    withDaemon((c) =>
      c.call('vm.workspace.export', { ref: vm, out, ...(opts.nameOnly ? { nameOnly: true } : {}) }),
    );
  if (opts.out !== undefined) {
    const r = await call(resolve(opts.out));
    process.stderr.write(`${r.bytes} bytes from ${r.name} written to ${opts.out}\n`);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'banger-export-'));
  try {
    const file = join(dir, opts.nameOnly ? 'names' : 'patch');
    await call(file);
    await pipeline(createReadStream(file), process.stdout, { end: false });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
