// Where the Ink the view runs on is, for the internals gate (ink-internals.ts): its version and
// two of its private modules (files of its build folder that its package does not export).
// From the sources (tests, `node --import=tsx src/cli.ts`), they are Ink's files in
// node_modules. In the bundle (scripts/bundle.mjs) Ink is bundled with tcptop, and the bundler
// puts in this module's place one that imports those files statically, so they are the very
// modules the bundled Ink uses, and gives the version Ink had when it was bundled.
import {readFileSync} from 'node:fs';

export type InkPrivateFile = 'output.js' | 'measure-text.js';

/** The version in Ink's package.json; undefined when it cannot be read. */
export function inkPackageVersion(): string | undefined {
	try {
		return (JSON.parse(readFileSync(new URL('../package.json', import.meta.resolve('ink')), 'utf8')) as {version?: string}).version;
	} catch {
		return undefined;
	}
}

/** One of Ink's private modules, from the folder of the Ink that `import('ink')` loads. */
export async function inkPrivateModule(file: InkPrivateFile): Promise<{default: unknown}> {
	return await import(new URL(file, import.meta.resolve('ink')).href) as {default: unknown};
}
