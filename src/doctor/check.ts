/** One line of `banger doctor`: what was checked, the verdict, and how to fix it. */
export type Verdict = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  verdict: Verdict;
  detail: string;
  /** What to run or change; shown for warn and fail. */
  fix?: string;
  /** Debian packages that `doctor --fix` installs for this check. */
  packages?: string[];
}

export function worst(results: readonly CheckResult[]): Verdict {
  if (results.some((r) => r.verdict === 'fail')) return 'fail';
  if (results.some((r) => r.verdict === 'warn')) return 'warn';
  return 'ok';
}

/** Every package named by a failed or warned check, once each, in first-seen order. */
export function missingPackages(results: readonly CheckResult[]): string[] {
  const seen = new Set<string>();
  for (const r of results) if (r.verdict !== 'ok') for (const p of r.packages ?? []) seen.add(p);
  return [...seen];
}
