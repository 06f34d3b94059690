// Parsers for flag values, run by commander while it parses: a bad value is a usage error
// (exit 2) naming the flag, before any command starts the daemon.
import { type SpecField, specProblem } from '../config/limits.js';
import { SizeError, parseMemoryMiB, parseSize } from '../config/size.js';
import { isValidName, nameProblem } from '../config/names.js';
import { UsageError } from '../errors.js';

type Parse<T> = (value: string) => T;

function usage(flag: string, example: string, err: unknown): never {
  if (!(err instanceof SizeError)) throw err;
  throw new UsageError(`${flag}: ${err.message}`, { hint: `e.g. ${flag} ${example}` });
}

/** A size in bytes ("8G", "512M"), greater than zero. */
export function sizeValue(flag: string, example: string): Parse<number> {
  return (value) => {
    let bytes: number;
    try {
      bytes = parseSize(value);
    } catch (err) {
      usage(flag, example, err);
    }
    if (bytes > 0) return bytes;
    throw new UsageError(`${flag}: a size of zero is not allowed`, {
      hint: `e.g. ${flag} ${example}`,
    });
  };
}

/** Memory in MiB: a bare number is MiB ("2048"), else a size ("2G"). */
export function memoryValue(flag: string, example: string): Parse<number> {
  return (value) => {
    try {
      return /^\s*\d+\s*$/.test(value) ? parseMemoryMiB(Number(value)) : parseMemoryMiB(value);
    } catch (err) {
      usage(flag, example, err);
    }
  };
}

export function positiveIntValue(flag: string, example: string): Parse<number> {
  return (value) => {
    const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
    if (Number.isSafeInteger(n) && n >= 1) return n;
    throw new UsageError(`${flag}: ${JSON.stringify(value)} is not a whole number of at least 1`, {
      hint: `e.g. ${flag} ${example}`,
    });
  };
}

/** A number of seconds (or similar) greater than zero; fractions allowed. */
export function positiveNumberValue(flag: string, example: string): Parse<number> {
  return (value) => {
    const n = /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
    if (Number.isFinite(n) && n > 0) return n;
    throw new UsageError(`${flag}: ${JSON.stringify(value)} is not a number greater than 0`, {
      hint: `e.g. ${flag} ${example}`,
    });
  };
}

/**
 * A VM's vCPUs, memory (MiB) or work disk size (bytes), refused outside the limits the
 * daemon enforces, so the message names the flag the user typed.
 */
export function specValue(field: SpecField, flag: string, example: string): Parse<number> {
  const parse = {
    vcpu: positiveIntValue,
    memoryMiB: memoryValue,
    diskBytes: sizeValue,
  }[field](flag, example);
  return (value) => {
    const n = parse(value);
    const problem = specProblem(field, n, flag);
    if (problem === undefined) return n;
    throw new UsageError(problem, { hint: `e.g. ${flag} ${example}` });
  };
}

export function nameValue(what: string, flag?: string): Parse<string> {
  return (value) => {
    if (isValidName(value)) return value;
    throw new UsageError(`${flag ? `${flag}: ` : ''}${nameProblem(what, value)}`);
  };
}
