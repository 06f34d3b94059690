import { UsageError } from '../../errors.js';

/**
 * `--package`: repeatable and comma-separated rather than variadic, since a variadic flag
 * would swallow the NAME after it. apt rejects unknown names; this refuses option-like ones.
 */
export function collectPackages(value: string, previous: string[] = []): string[] {
  const packages = value.split(',').map((p) => p.trim());
  const bad = packages.find((p) => p === '' || p.startsWith('-') || /\s/.test(p));
  if (bad !== undefined)
    throw new UsageError(`--package: ${JSON.stringify(bad)} is not a Debian package name`, {
      hint: 'e.g. --package jq --package build-essential,python3',
    });
  return [...previous, ...packages];
}

/** `--mirror`: a URL mmdebstrap can fetch from. */
export function mirrorValue(value: string): string {
  let protocol = '';
  try {
    protocol = new URL(value).protocol;
  } catch {
    // not a URL at all: reported below
  }
  if (['http:', 'https:', 'file:'].includes(protocol)) return value;
  throw new UsageError(`--mirror: ${JSON.stringify(value)} is not an http(s) or file URL`, {
    hint: 'e.g. --mirror http://deb.debian.org/debian',
  });
}
