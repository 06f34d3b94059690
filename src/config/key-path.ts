// How a place in config.toml is named in messages. Array entries are counted from 1, as a
// person counts the [[file_sync]] blocks in the file; the loader and the create that applies
// the entries both name them through this, so the two messages agree.

/** `file_sync entry 3, guest` from ['file_sync', 2, 'guest']; `vmm.driver` from ['vmm', 'driver']. */
export function keyPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => {
      if (typeof part === 'number') return ` entry ${part + 1}`;
      const after = i === 0 ? '' : typeof path[i - 1] === 'number' ? ', ' : '.';
      return `${after}${String(part)}`;
    })
    .join('');
}
