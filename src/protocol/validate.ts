import type { z } from 'zod';
import { BangerError, ErrorCode } from '../errors.js';
import type { MethodSpec } from './method.js';

/** `a.b[2].c: message` for the first issue, so a bad request gets a one-line answer. */
export function describeZodError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid value';
  const path = issue.path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
  return path ? `${path}: ${issue.message}` : issue.message;
}

export function parseParams(spec: MethodSpec, raw: unknown): unknown {
  const parsed = spec.params.safeParse(raw);
  if (!parsed.success)
    throw new BangerError(
      ErrorCode.InvalidParams,
      `invalid params for ${spec.name}: ${describeZodError(parsed.error)}`,
      {
        hint: 'the CLI and the daemon may be different versions: run "banger daemon stop" and retry',
      },
    );
  return parsed.data;
}
