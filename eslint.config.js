// Lint for src/, test/, bench/ and scripts/: ESLint's recommended rules and typescript-eslint's
// type-aware ones (the code is type-checked with tsconfig.check.json), React's hook rules for
// the view. npm test runs it; `npx eslint .` alone, `npx eslint --fix .` to apply fixes.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
	{ignores: ['dist/', 'build/', 'node_modules/', 'scratch/', 'contrib/']},
	js.configs.recommended,
	...tseslint.configs.recommendedTypeChecked,
	{
		languageOptions: {
			parserOptions: {
				project: './tsconfig.check.json',
				tsconfigRootDir: import.meta.dirname,
			},
		},
	},
	{
		files: ['**/*.tsx', 'src/ui/**/*.ts'],
		plugins: {'react-hooks': reactHooks},
		rules: reactHooks.configs.recommended.rules,
	},
	{
		files: ['**/*.js', '**/*.mjs'],
		...tseslint.configs.disableTypeChecked,
	},
);
