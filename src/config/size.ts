// Sizes are written by people ("8G", "512M") but used as exact byte counts; parse and print
// them in one place so every flag and config key accepts, and shows, the same forms.

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

/** Thrown for text that is not a size; callers wrap it as a config or usage error. */
export class SizeError extends Error {
  override readonly name = 'SizeError';
}

const UNITS: Record<string, bigint> = {
  '': 1n,
  k: 1024n,
  m: 1024n ** 2n,
  g: 1024n ** 3n,
  t: 1024n ** 4n,
};
// A number, an optional unit, then an optional "i", "iB" or "B" (all binary units).
const SIZE_RE = /^(\d+)(?:\.(\d+))?\s*([kmgt]?)(i|ib|b)?$/i;

export function parseSize(text: string): number {
  const trimmed = text.trim();
  const usage = `invalid size ${JSON.stringify(text)}: use a number with an optional unit K, M, G or T, e.g. 512M or 8G`;
  const match = SIZE_RE.exec(trimmed);
  if (!match) throw new SizeError(usage);
  const [, whole = '', fraction = '', unitText = '', suffix = ''] = match;
  const unit = unitText.toLowerCase();
  if (unit === '' && /^i/i.test(suffix)) throw new SizeError(usage);
  const scale = 10n ** BigInt(fraction.length);
  const scaled = (BigInt(whole) * scale + BigInt(fraction || '0')) * (UNITS[unit] ?? 1n);
  if (scaled % scale !== 0n) {
    throw new SizeError(`invalid size ${JSON.stringify(text)}: not a whole number of bytes`);
  }
  const bytes = scaled / scale;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new SizeError(`invalid size ${JSON.stringify(text)}: too large`);
  }
  return Number(bytes);
}

const DISPLAY_UNITS = [
  ['T', TiB],
  ['G', GiB],
  ['M', MiB],
  ['K', KiB],
] as const;

/** Shortest exact form: 8589934592 → "8G", 1610612736 → "1.5G", 1000 → "1000B". */
export function formatSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) return `${bytes}B`;
  let best = `${bytes}B`;
  for (const [letter, size] of DISPLAY_UNITS) {
    if (bytes < size) continue;
    const n = BigInt(bytes);
    const unit = BigInt(size);
    let text: string | undefined;
    if (n % unit === 0n) text = `${n / unit}${letter}`;
    else if ((n * 10n) % unit === 0n) text = `${(bytes / size).toFixed(1)}${letter}`;
    if (text !== undefined && text.length < best.length) best = text;
  }
  return best;
}

/** For display of measured amounts (free disk, file sizes): one decimal in the largest unit. */
export function formatSizeApprox(bytes: number): string {
  for (const [letter, size] of DISPLAY_UNITS) {
    if (bytes >= size) return `${(bytes / size).toFixed(1)}${letter}`;
  }
  return `${bytes}B`;
}

/** A number is MiB; a string is a size that must be a whole number of MiB. */
export function parseMemoryMiB(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new SizeError(`invalid memory ${value}: use a whole number of MiB or a size like 2G`);
    }
    return value;
  }
  const bytes = parseSize(value);
  if (bytes < MiB || bytes % MiB !== 0) {
    const bare = /^\s*\d+\s*$/.test(value)
      ? ` (a quoted bare number is bytes; write "${value.trim()}M")`
      : '';
    throw new SizeError(
      `invalid memory ${JSON.stringify(value)}: not a whole number of MiB${bare}`,
    );
  }
  return bytes / MiB;
}
