import type { LayerBytes } from '../protocol/method.js';

/** Layer lines shown under the total at most (the daemon fetches 3 at a time). */
const MAX_LAYER_LINES = 6;

/**
 * A layer download on a terminal: the total first (`layers 1/3 · 41.2/150.0 MiB · 27%`, the
 * count being the layers complete), then a line per layer still arriving
 * (`  layer 2/3 · 20.0/60.0 MiB`). Sizes are in one unit per line, chosen by its total.
 */
export function layerLines(layers: readonly LayerBytes[]): string[] {
  const received = layers.reduce((n, l) => n + Math.min(l.received, l.total), 0);
  const total = layers.reduce((n, l) => n + l.total, 0);
  const done = layers.filter((l) => l.received >= l.total).length;
  const percent = total > 0 ? Math.floor((received / total) * 100) : 100;
  const lines = [`layers ${done}/${layers.length} · ${bytesOf(received, total)} · ${percent}%`];
  layers.forEach((l, i) => {
    if (l.received > 0 && l.received < l.total && lines.length <= MAX_LAYER_LINES)
      lines.push(`  layer ${i + 1}/${layers.length} · ${bytesOf(l.received, l.total)}`);
  });
  return lines;
}

const UNITS: [string, number][] = [
  ['GiB', 2 ** 30],
  ['MiB', 2 ** 20],
  ['KiB', 2 ** 10],
];

/** `41.2/150.0 MiB`: both in the unit of `total` (KiB at least), one decimal. */
export function bytesOf(received: number, total: number): string {
  const [unit, size] = UNITS.find(([, s]) => total >= s) ?? UNITS[UNITS.length - 1]!;
  const f = (n: number) => (n / size).toFixed(1);
  return `${f(received)}/${f(total)} ${unit}`;
}

/** Terminal rows `line` takes at `columns` wide (escape sequences take none). */
export function rowsOf(line: string, columns: number | undefined): number {
  // eslint-disable-next-line no-control-regex
  const width = line.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').length;
  return columns && columns > 0 ? Math.max(1, Math.ceil(width / columns)) : 1;
}
