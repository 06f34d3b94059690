import { UsageError } from '../../errors.js';
import type { PublishRequest } from '../../protocol/vm.js';

const EXAMPLES =
  '--publish 3000 (127.0.0.1:3000), --publish 8080:3000, --publish 0:3000 (any free port)';

/**
 * `--publish [HOST:]GUEST`, repeatable: a guest TCP port published on the host's 127.0.0.1,
 * from HOST when given, else from the same number; HOST 0 lets banger pick a free port.
 * A commander collector: each value is parsed as it is read, a bad one is a usage error.
 */
export function collectPublish(value: string, previous: PublishRequest[] = []): PublishRequest[] {
  const request = parsePublish(value);
  if (previous.some((p) => p.guest === request.guest))
    throw new UsageError(`--publish: guest port ${request.guest} is given twice`, {
      hint: 'publish each guest port once',
    });
  return [...previous, request];
}

export function parsePublish(value: string): PublishRequest {
  const m = /^(?:(\d+):)?(\d+)$/.exec(value.trim());
  const problem = (why: string) =>
    new UsageError(`--publish ${JSON.stringify(value)}: ${why}`, { hint: `e.g. ${EXAMPLES}` });
  if (!m) throw problem('expected [HOST:]GUEST, two port numbers');
  const guest = Number(m[2]);
  if (!(guest >= 1 && guest <= 65535)) throw problem('the guest port must be 1 to 65535');
  if (m[1] === undefined) return { guest };
  const host = Number(m[1]);
  if (!(host >= 0 && host <= 65535)) throw problem('the host port must be 0 (any) to 65535');
  return { guest, host };
}

/** A port operand or --host value: 1 to 65535, or with `allowAny` 0 too. */
export function portValue(what: string, allowAny = false): (value: string) => number {
  return (value) => {
    const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
    if (Number.isInteger(n) && n >= (allowAny ? 0 : 1) && n <= 65535) return n;
    throw new UsageError(
      `${what}: ${JSON.stringify(value)} is not a port (${allowAny ? '0 for any free one, or ' : ''}1 to 65535)`,
      { hint: allowAny ? 'e.g. --host 8080' : 'e.g. 3000' },
    );
  };
}
