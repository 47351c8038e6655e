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
		files: ['**/*.ts', '**/*.tsx'],
		languageOptions: {
			parserOptions: {
				project: './tsconfig.check.json',
				tsconfigRootDir: import.meta.dirname,
			},
		},
	},
	{
		rules: {
			// Terminal control characters are what tcptop escapes (sanitize) and what its
			// terminal tests read: patterns that name them are meant.
			'no-control-regex': 'off',
			// A variable a callback reads, assigned once after the callback is made, stays let.
			'prefer-const': ['error', {ignoreReadBeforeAssign: true}],
			// Leaving fields out of a copy by destructuring them is meant.
			'@typescript-eslint/no-unused-vars': ['error', {ignoreRestSiblings: true}],
		},
	},
	{
		// The hooks' rules; the React Compiler's rules (refs read in render and the like) are
		// not: the view reads the latest table through refs on purpose, without re-rendering.
		files: ['**/*.tsx', 'src/ui/**/*.ts'],
		plugins: {'react-hooks': reactHooks},
		rules: {
			'react-hooks/rules-of-hooks': 'error',
			'react-hooks/exhaustive-deps': 'error',
		},
	},
	{
		// (The declarations of a script's module, beside it, are not in the type-checked project.)
		files: ['**/*.js', '**/*.mjs', '**/*.d.mts'],
		...tseslint.configs.disableTypeChecked,
		languageOptions: {globals: {process: 'readonly', console: 'readonly'}},
	},
);
