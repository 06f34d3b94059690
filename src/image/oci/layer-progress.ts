import { formatSizeApprox } from '../../config/size.js';
import type { LayerBytes } from '../../protocol/method.js';
import type { OpContext } from '../../system/operation.js';
import type { Descriptor } from './manifest.js';

/** The least time between two refreshes of a terminal's line: blobs arrive in 64 KiB chunks. */
export const REFRESH_MS = 200;

/**
 * A layer download's progress: a stage line per layer every ~10% of it (what piped output
 * shows, so a long download never looks wedged), each carrying every layer's bytes, and in
 * between, at most every REFRESH_MS, the bytes alone for a terminal's live line.
 */
export function layerProgress(
  op: Pick<OpContext, 'progress'>,
  layers: readonly Descriptor[],
  now: () => number = Date.now,
): (blob: Descriptor, received: number, total: number) => void {
  const bytes: LayerBytes[] = layers.map((l) => ({ received: 0, total: l.size }));
  const last = new Map<string, number>();
  let refreshed = -Infinity;
  const send = (detail?: string) => {
    refreshed = now();
    op.progress(
      'download',
      detail,
      bytes.map((b) => ({ ...b })),
    );
  };
  return (blob, received, total) => {
    // A layer listed twice (an empty one, often) is one blob: every copy has its bytes.
    layers.forEach((l, i) => {
      if (l.digest === blob.digest) bytes[i] = { received, total };
    });
    const step = total > 0 ? Math.floor((received / total) * 10) : 10;
    if (last.get(blob.digest) !== step) {
      last.set(blob.digest, step);
      const index = layers.findIndex((l) => l.digest === blob.digest) + 1;
      send(
        `layer ${index}/${layers.length}: ${formatSizeApprox(received)} of ${formatSizeApprox(total)}`,
      );
    } else if (now() - refreshed >= REFRESH_MS) {
      send();
    }
  };
}
