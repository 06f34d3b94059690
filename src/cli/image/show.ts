import type { Command } from 'commander';
import { examples, printJson } from '../output.js';

export function registerImageShow(image: Command): void {
  image
    .command('show')
    .description('Show one image: distro, kernel, size, rootfs path and where it came from')
    .argument('<name>', 'the image to show')
    .option('--json', 'print the image as JSON')
    .addHelpText(
      'after',
      examples(['banger image show debian-bookworm', 'banger image show debian-bookworm --json']),
    )
    .action(async (name: string, opts: { json?: boolean }) => {
      const { withDaemon } = await import('../with-daemon.js');
      const image = await withDaemon((c) => c.call('image.show', { name }));
      if (opts.json) return printJson(image);
      const { formatSizeApprox } = await import('../../config/size.js');
      process.stdout.write(
        [
          `name:        ${image.name}`,
          `kind:        ${image.managed ? 'managed (banger owns its files)' : 'registered in place'}`,
          `distro:      ${image.distro || '-'} (${image.arch})`,
          `description: ${image.description || '-'}`,
          `source:      ${image.source}`,
          ...(image.oci
            ? [
                `digest:      ${image.oci.digest}`,
                `runs as:     ${image.oci.user || 'root'} in ${image.oci.workingDir || '/'}${image.oci.env.length ? ` with ${image.oci.env.length} env vars` : ''}`,
              ]
            : []),
          `kernel:      ${image.kernel ?? '-'}${image.kernelFile ? ` (${image.kernelFile})` : ''}`,
          `initrd:      ${image.initrdFile ?? '-'}`,
          `rootfs:      ${image.rootfs} (${formatSizeApprox(image.sizeBytes)})`,
          `created:     ${image.createdAt}`,
          `used by:     ${image.usedBy.length ? image.usedBy.join(', ') : 'no VMs'}`,
          `warm start:  ${image.templates?.length ? '' : 'no templates (VMs of it boot cold; "banger image warm" makes one)'}`,
          ...(image.templates ?? []).map(
            (t) =>
              `  ${t.vcpu} vcpu · ${t.memoryMiB} MiB · ${formatSizeApprox(t.diskBytes)} disk · ${t.network}: ${formatSizeApprox(t.bytes)} on disk, made ${t.createdAt}${t.current ? '' : ' (stale: made by another QEMU, key or file sync; unused)'}`,
          ),
        ].join('\n') + '\n',
      );
    });
}
