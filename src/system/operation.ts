import type { LayerBytes } from '../protocol/method.js';

/** What a long daemon operation gets from its caller: a cancel signal and a progress sink. */
export interface OpContext {
  signal: AbortSignal;
  /** A stage line; `layers` (a layer download's bytes) also refreshes a terminal's line. */
  progress: (stage: string, detail?: string, layers?: LayerBytes[]) => void;
}

/** Download progress as a stage line every ~5%, so a long pull never looks wedged. */
export function downloadProgress(
  ctx: OpContext,
): (received: number, total: number | undefined) => void {
  let last = -1;
  return (received, total) => {
    const step = total ? Math.floor((received / total) * 20) : Math.floor(received / 2 ** 26);
    if (step === last) return;
    last = step;
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
    ctx.progress(
      'download',
      total ? `${mib(received)} of ${mib(total)} (${step * 5}%)` : mib(received),
    );
  };
}
