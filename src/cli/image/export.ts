import { resolve } from 'node:path';
import type { Command } from 'commander';
import { examples } from '../output.js';

export function registerImageExport(image: Command): void {
  image
    .command('export')
    .description('Pack a local image as a bundle (.tar.zst) for a catalog or another host')
    .argument('<name>', 'the image to export')
    .requiredOption('--out <file>', 'where to write the bundle')
    .addHelpText(
      'after',
      `\nPrints the bundle's path, sha256 and size: what a catalog entry needs.\n` +
        examples(['banger image export debian-bookworm --out debian-bookworm.tar.zst']),
    )
    .action(async (name: string, opts: { out: string }) => {
      const { callWithProgress } = await import('../with-daemon.js');
      const r = await callWithProgress('image.export', { name, out: resolve(opts.out) });
      process.stdout.write(`path:   ${r.path}\nsha256: ${r.sha256}\nsize:   ${r.bytes}\n`);
    });
}
