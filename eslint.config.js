// ESLint: type-checked rules that catch real bugs in an orchestrator (floating promises above all).
import { readFileSync } from 'node:fs';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/ (test/architecture/layers.json): a file imports its own layer and the layers
 * below, never one above. Lint matches the relative static imports by folder and file name; the test
 * (test/architecture/imports.test.ts) resolves every import, dynamic ones too. One block per path of
 * the table, the more specific last so that they win (core's audit/chain.ts inside platform's
 * audit/); a file with `pending` imports gets a block of its own letting exactly those through.
 * `src/index.ts` gets no pattern (`index.js` is a common name): the test checks it.
 */
function layerRules() {
  const { layers, pending } = JSON.parse(readFileSync(new URL('./test/architecture/layers.json', import.meta.url), 'utf8'));
  const placed = layers.flatMap((layer, rank) => layer.paths.map((path) => ({ path, rank })));
  const holds = (path, file) => (path.endsWith('/') ? file.startsWith(path) : file === path);
  const rankOf = (file) => placed.filter((p) => holds(p.path, file)).sort((a, b) => b.path.length - a.path.length)[0].rank;
  const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // `src/tools/` → a relative import through a folder `tools/`; `src/airlock.ts` → one of `airlock.js`.
  const written = (path) => escape(path.slice('src/'.length).replace(/\.ts$/, '.js')) + (path.endsWith('/') ? '' : '$');
  const rules = (rank, allowed = []) => {
    const patterns = placed
      .filter((p) => p.rank > rank && p.path !== 'src/index.ts')
      .map((above) => {
        const except = [...placed.filter((p) => p.rank <= rank).map((p) => p.path), ...allowed].filter((p) => p !== above.path && holds(above.path, p));
        const unless = except.length > 0 ? `(?!(?:${except.map((p) => written(p).slice(written(above.path).length)).join('|')}))` : '';
        return {
          regex: `^\\.{1,2}/(?:[^/]+/)*${written(above.path)}${unless}`,
          caseSensitive: true,
          message: `\`${above.path}\` is in the ${layers[above.rank].name} layer, above ${layers[rank].name} (test/architecture/layers.json)`,
        };
      });
    return { '@typescript-eslint/no-restricted-imports': patterns.length > 0 ? ['error', { patterns }] : 'off' };
  };
  const blocks = [...placed].sort((a, b) => a.path.length - b.path.length).map((p) => ({ files: [p.path.endsWith('/') ? `${p.path}**/*.{ts,tsx}` : p.path], rules: rules(p.rank) }));
  const pendingByFile = new Map();
  for (const { import: edge } of pending) {
    const [from, to] = edge.split(' -> ');
    pendingByFile.set(from, [...(pendingByFile.get(from) ?? []), to]);
  }
  for (const [file, targets] of pendingByFile) blocks.push({ files: [file], rules: rules(rankOf(file), targets) });
  return blocks;
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'examples/**/node_modules/**', 'scripts/**', 'vitest.config.ts', 'eslint.config.js'] },
  {
    files: ['src/**/*.{ts,tsx}', 'bench/**/*.ts', 'examples/**/*.ts'],
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
    files: ['src/policy/decide.ts', 'src/policy/approver.ts', 'src/orchestration/run-machine.ts', 'src/orchestration/run-transition.ts', 'src/verification/checks.ts', 'src/context/labels.ts', 'src/tools/template.ts', 'src/tools/uri-template.ts', 'src/verification/cel*.ts', 'src/audit/chain-verifier.ts', 'src/pilot/kpis.ts', 'src/pilot/autonomy.ts', 'src/pilot/review.ts', 'src/pilot/week.ts', 'src/pilot/report-markdown.ts', 'src/pilot/report-html.tsx'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', '**/store/**', '**/connectors/**'], message: 'pure decision code does no IO' }] }],
    },
  },
  ...layerRules(),
);
