// @ts-check
// `npm run lint` runs ESLint with typescript-eslint's type-checked strict rules over src/, test/,
// bench/ and scripts/ (through tsconfig.json), then Prettier's check, then knip.
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier/flat';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', '.cache/', 'test/fixtures/'] },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      // One program for the whole project, as `npm run typecheck` builds it.
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test(), it(), describe() and suite() return promises that the runner awaits itself.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
      // Ports, counts, durations and flags go into log lines and messages as they are; objects,
      // null and undefined still have to be turned into text on purpose.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `() => doSomething()` as a callback is the code's usual shape; a void value used anywhere
      // else is still reported.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // noUncheckedIndexedAccess is on, so `!` marks a value the code has made sure of (a regular
      // expression's group, a map entry set just before, an element after a length check);
      // replacing each with a check would add branches that cannot run.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Its findings here are defensive checks that matter at run time: flags such as `stopped`
      // that another callback sets while an await is pending (TypeScript keeps them narrowed),
      // and values that third-party typings call non-null but that are null or undefined on an
      // error path (node-zookeeper-client's callbacks, node-forge, JSON.stringify(undefined)).
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // Rejecting with a caught value passes it on unchanged, as `throw err` in a catch block does.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // The objects deleted from are JSON sent to or read from Kubernetes (ConfigMap data, labels,
      // patches) and process.env, where a Map would have to be converted back.
      '@typescript-eslint/no-dynamic-delete': 'off',
      // As tsc's noUnusedParameters: `_` marks a parameter that an interface or a callback's
      // position demands. `const { a, ...rest } = o` leaves `a` unused to take it out of `rest`.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Tests read HTTP bodies (supertest's `res.body`) and JSON.parse results, which are `any`, and
    // assert on their fields: a wrong field fails the assertion, so typing each body adds nothing.
    files: ['test/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  { files: ['**/*.mjs', '**/*.cjs', '**/*.js'], extends: [tseslint.configs.disableTypeChecked] },
  {
    // Plain CommonJS that Node runs as it is (the benches' bare express app).
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', process: 'readonly', performance: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  prettier,
);
