// ESLint (flat config), run by `npm run lint` over src, test, bench, scripts and
// examples. Correctness rules only, no formatting or style: ESLint's
// recommended set, typescript-eslint's recommended set for TypeScript, and a
// few rules that catch real mistakes (unused names, loose equality, promises
// nobody awaits). assembly/ is AssemblyScript (its decorators, builtins and
// integer types are not TypeScript's), so it is not linted here.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    // test/fixtures/consumer is compiled against the packed package by test/types.test.ts (and wrong.ts is wrong on purpose).
    ignores: ['dist/**', 'build/**', 'assembly/**', 'node_modules/**', 'test-results/**', '**/*.generated.*', 'test/fixtures/consumer/**'],
  },
  js.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.node, ...globals.browser },
    },
    rules: {
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-var': 'error',
      'prefer-const': ['error', { destructuring: 'all' }],
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      // V8 (Node 20) builds an object literal with a property or a second spread
      // after a spread in a slow mode: creating it and reading its properties
      // cost microseconds (about 10 us for a kernel's parameters, more than many
      // kernels take). Object.assign({}, base, { ... }) builds the same object fast
      // while it stays small.
      'no-restricted-syntax': ['error', {
        selector: 'ObjectExpression > SpreadElement ~ *',
        message: 'A property or spread after a spread makes V8 build a slow object; use Object.assign({}, base, { ... }).',
      }],
    },
  },
  {
    files: ['src/ops/**/*.ts', 'src/nn/**/*.ts'],
    rules: {
      // Copying a kernel's arguments into {} adds its properties one by one, and
      // past about a dozen V8 turns the object into a dictionary: slow to build
      // and to read on every call (linear's fixed cost went from 4.7 to 2.7 us
      // without it). Build every field in one literal (see poolParams, nllArgs).
      'no-restricted-syntax': ['error', {
        selector: 'ObjectExpression > SpreadElement ~ *',
        message: 'A property or spread after a spread makes V8 build a slow object; build the object in one literal.',
      }, {
        selector: "CallExpression[callee.object.name='Object'][callee.property.name='assign'][arguments.0.type='ObjectExpression']",
        message: 'Object.assign({}, ...) copies properties one by one (a dictionary object past a dozen); build the object in one literal.',
      }],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'no-unused-vars': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      // A promise that is neither awaited, returned nor explicitly voided hides its rejection.
      '@typescript-eslint/no-floating-promises': 'error',
      // `import type` for what is only a type: no module is loaded for it.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      // `interface NestedArray extends ReadonlyArray<number | NestedArray> {}` is how a recursive type is named.
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
    },
  },
);
