import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const IDLE_MS = 2000;

/**
 * bangerd idles most of its life. After a burst of requests, once nothing has happened for
 * IDLE_MS, it runs one full GC so the garbage of the burst is returned to the OS instead of
 * sitting in the heap (~3 MiB of an idle daemon's RSS, see BENCHMARKS.md).
 */
export function idleCollector(): { touch(): void; stop(): void } {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  let timer: NodeJS.Timeout | undefined;
  return {
    touch() {
      clearTimeout(timer);
      timer = setTimeout(gc, IDLE_MS).unref();
    },
    stop() {
      clearTimeout(timer);
    },
  };
}
