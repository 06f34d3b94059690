import { notImplemented } from '../errors.js';

/** The action of a command whose behaviour lands in a later issue: a clear error, exit 1. */
export function notYet(command: string): () => never {
  return () => {
    throw notImplemented(`banger ${command}`);
  };
}
