// ESLint: type-checked rules that catch real bugs in an orchestrator (floating promises above all).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'examples/**/node_modules/**', 'scripts/**', 'vitest.config.ts', 'eslint.config.js'] },
  {
    files: ['src/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': 'off',
    },
  },
  {
    // Pure decisions in the middle: no IO, no store, no network.
    files: ['src/policy/decide.ts', 'src/policy/approver.ts', 'src/orchestration/run-machine.ts', 'src/verification/checks.ts', 'src/context/labels.ts', 'src/tools/template.ts', 'src/tools/uri-template.ts', 'src/verification/cel*.ts', 'src/audit/chain-verifier.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', '**/store/**', '**/connectors/**'], message: 'pure decision code does no IO' }] }],
    },
  },
);
