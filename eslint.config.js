// typescript-eslint's recommended rules over rewind's own code (src, test, bench, examples,
// scripts). Formatting is prettier's (npm run format:check), not eslint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', 'coverage/', '.rewind/', 'test/fixtures/', 'test/ecosystem/work/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        // Node's globals (the code runs on Node only).
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        clearImmediate: 'readonly',
        queueMicrotask: 'readonly',
        structuredClone: 'readonly',
        performance: 'readonly',
        fetch: 'readonly',
        URL: 'readonly',
        URLSearchParams: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        SharedArrayBuffer: 'readonly',
        Atomics: 'readonly',
        WebAssembly: 'readonly',
        globalThis: 'readonly',
        __dirname: 'readonly',
        __filename: 'readonly',
        require: 'readonly',
        module: 'writable',
        exports: 'writable',
      },
    },
    rules: {
      // rewind's wrappers hand Node's functions `arguments` as they came (same length, no
      // array made on hot paths), and name their receiver for the closures they create.
      'prefer-rest-params': 'off',
      '@typescript-eslint/no-this-alias': 'off',
      // Regular expressions that match rewind's indented output read as that output does.
      'no-regex-spaces': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
      // Unused names are errors, except the deliberately ignored (`_trigger`, `catch {}`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // Tests check that output holds no terminal escapes, by matching them.
    files: ['test/**'],
    rules: { 'no-control-regex': 'off' },
  },
  {
    // CommonJS files: require() is how they load modules.
    files: ['**/*.cjs', '**/*.cts', 'editors/vscode/**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
