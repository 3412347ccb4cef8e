// Type-aware linting (STYLE.md §12). Layering rules keep shared/ free of Functions imports.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.azurite/**', 'bin/**', 'scripts/**', 'test/fixtures/**', 'bench/apps/**', '*.config.*'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@azure/functions', 'durable-functions'], message: 'shared/ has no Functions imports' },
            { group: ['**/functions/**', '**/host/**'], message: 'shared/ never imports functions/ or host/' },
          ],
        },
      ],
    },
  },
);
