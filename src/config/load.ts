// Reads config.toml and turns every failure (unreadable, bad TOML, bad key) into one line that
// names the file and the key, so the user can fix it without reading banger's source.
import { readFile } from 'node:fs/promises';
import { TomlError, parse } from 'smol-toml';
import type { z } from 'zod';
import { BangerError, ErrorCode, errorMessage } from '../errors.js';
import { suggest } from './did-you-mean.js';
import { keyPath } from './key-path.js';
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

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined) return 'invalid configuration';
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const table = issue.path.filter((part) => typeof part === 'string').join('.');
    const hint = suggest(key, KNOWN_KEYS[table] ?? []);
    const where = issue.path.some((part) => typeof part === 'number')
      ? `${JSON.stringify(key)} in ${keyPath(issue.path)}`
      : JSON.stringify(keyPath([...issue.path, key]));
    return `unknown key ${where}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}`;
  }
  // A message that names its key itself (`network.nat = true is not supported yet`).
  const whole = issue.code === 'custom' && issue.params?.['whole'] === true;
  return issue.path.length > 0 && !whole
    ? `${keyPath(issue.path)}: ${issue.message}`
    : issue.message;
}
