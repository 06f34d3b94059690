import { formatSizeApprox } from '../../config/size.js';
import type { ImageSummary } from '../../protocol/image.js';
import { formatAge, renderTable } from '../output.js';

export function imageTable(images: readonly ImageSummary[]): string {
  const rows = images.map((i) => [
    i.name,
    i.distro || '-',
    i.kernel ?? '-',
    formatSizeApprox(i.sizeBytes),
    i.managed ? 'managed' : 'registered',
    formatAge(i.createdAt),
  ]);
  return renderTable(['NAME', 'DISTRO', 'KERNEL', 'SIZE', 'KIND', 'CREATED'], rows);
}
