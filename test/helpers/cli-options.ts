// The options src/cli.ts accepts, read from its option table (optionSpec, given to parseArgs):
// for tests that check what documents or completes them.
import {readFileSync} from 'node:fs';

export type CliOption = {
	readonly long: string;
	readonly short: string | undefined;
	readonly takesValue: boolean;
};

export function cliOptions(): CliOption[] {
	const source = readFileSync(new URL('../../src/cli.ts', import.meta.url), 'utf8');
	const table = /^const optionSpec = \{\n([^]*?)^\} as const;$/m.exec(source)?.[1];
	if (table === undefined) {
		throw new Error('src/cli.ts: no `const optionSpec = {...} as const;` table found');
	}

	return table.split('\n').filter(line => line.trim() !== '').map(line => {
		const match = /^\t'?([a-z\d-]+)'?: \{type: '(boolean|string)'(?:, short: '(.)')?\},$/.exec(line);
		if (!match) {
			throw new Error(`src/cli.ts: an optionSpec line not understood: ${line}`);
		}

		return {long: `--${match[1]!}`, short: match[3] === undefined ? undefined : `-${match[3]}`, takesValue: match[2] === 'string'};
	});
}
