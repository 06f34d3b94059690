import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory holding banger's package.json. Code runs from src/ (tests) or from
 * dist/ and dist/chunks/ (bundled), so files shipped beside the code — guest assets —
 * are found from the package root rather than relative to the running module.
 */
export function packageRoot(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src', 'guest'))) return dir;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`banger's package root not found above ${fileURLToPath(from)}`);
    dir = parent;
  }
}
