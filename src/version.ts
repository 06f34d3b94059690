import pkg from '../package.json' with { type: 'json' };

/** banger's version, from package.json (inlined into dist/ by the bundler). */
export const VERSION: string = pkg.version;
