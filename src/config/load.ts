// Reads config.toml and turns every failure (unreadable, bad TOML, bad key) into one line that
// names the file and the key, so the user can fix it without reading banger's source.
import { readFile } from 'node:fs/promises';
import { TomlError, parse } from 'smol-toml';
import type { z } from 'zod';
import { BangerError, ErrorCode, errorMessage } from '../errors.js';
import { suggest } from './did-you-mean.js';
import { type Config, KNOWN_KEYS, defaultConfig, validateConfig } from './schema.js';

export interface LoadedConfig {
  config: Config;
  path: string;
  exists: boolean;
}

/** A missing file means defaults; anything else that goes wrong is a Config error. */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { config: defaultConfig(), path, exists: false };
    }
    throw new BangerError(ErrorCode.Config, `config ${path}: cannot read: ${errorMessage(err)}`, {
      hint: `check that ${path} is a readable file`,
      cause: err,
    });
  }
  return { config: parseConfigText(text, path), path, exists: true };
}

export function parseConfigText(text: string, path: string): Config {
  let data: unknown;
  try {
    data = parse(text);
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const reason = (err.message.split('\n')[0] ?? '').replace(/^Invalid TOML document:\s*/, '');
    throw new BangerError(ErrorCode.Config, `config ${path}: line ${err.line}: ${reason}`, {
      hint: `fix the TOML syntax on line ${err.line} of ${path}`,
      cause: err,
    });
  }
  const result = validateConfig(data);
  if (result.success) return result.data;
  // An unknown key usually explains the other problems (a misspelt required key is also
  // "missing"), so it is reported first.
  const issues = result.error.issues;
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0];
  throw new BangerError(ErrorCode.Config, `config ${path}: ${describeIssue(issue)}`, {
    hint: `fix or remove the key in ${path}`,
    cause: result.error,
  });
}

/** `file_sync[2].guest` from ['file_sync', 2, 'guest']. */
export function keyPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) =>
      typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`,
    )
    .join('');
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined) return 'invalid configuration';
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const table = issue.path.filter((part) => typeof part === 'string').join('.');
    const hint = suggest(key, KNOWN_KEYS[table] ?? []);
    const where = keyPath([...issue.path, key]);
    return `unknown key ${JSON.stringify(where)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}`;
  }
  return issue.path.length > 0 ? `${keyPath(issue.path)}: ${issue.message}` : issue.message;
}
