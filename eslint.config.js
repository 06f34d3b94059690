import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The CLI is a client of the daemon: it talks to it through protocol/ and never imports
// the daemon's use cases or the modules under them. The CLI's own folders share names with
// them (cli/vm/ vs vm/), so the patterns are spelled per depth: from src/cli/x.ts the
// daemon's vm/ is ../vm/, from src/cli/vm/x.ts it is ../../vm/.
const DAEMON_SIDE = [
  'vm',
  'image',
  'kernel',
  'daemon',
  'store',
  'vmm',
  'disk',
  'catalog',
  'guest',
  'net',
  'workspace',
  'ssh/connection',
  'session/sessions',
];
// The SDK, the command runner and the daemon client live on the CLI's side of the line too.
const cliBoundary = [1, 2, 3].map((depth) => {
  const up = '../'.repeat(depth);
  return {
    files: [
      `src/cli/${'*/'.repeat(depth - 1)}*.ts`,
      ...(depth === 1 ? ['src/sdk/*.ts', 'src/exec/*.ts', 'src/client/*.ts', 'src/mcp/*.ts'] : []),
    ],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: DAEMON_SIDE.flatMap((d) => [`${up}${d}/*`, `${up}${d}.js`]),
              message:
                'the CLI reaches the daemon through protocol/ only (ARCHITECTURE.md, "Layout of the code")',
            },
          ],
        },
      ],
    },
  };
});

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', 'bin/', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['scripts/*.mjs', 'bench/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      // `return promise` inside try/finally runs the finally before the promise settles.
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/cli/*', '**/daemon/*'],
              message: 'nothing imports cli/ or daemon/ from outside',
            },
          ],
        },
      ],
    },
  },
  {
    // Plain Node scripts: no type information, Node's globals.
    files: ['**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        performance: 'readonly',
        setTimeout: 'readonly',
      },
    },
  },
  {
    files: ['src/cli/**', 'src/daemon/**', 'test/**', 'bench/**', 'scripts/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  ...cliBoundary,
  {
    files: ['**/*.test.ts', 'test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      // node:test's test() returns a promise the runner itself awaits.
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
);
