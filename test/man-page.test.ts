// The manual page, man/tcptop.1: generated from man/tcptop.1.md by `npm run man`, committed so
// an install needs no generator. It must be what the generator makes of the source today,
// render without warnings, and name every option, sort column, state word and metric tcptop has.
import {execFileSync, spawnSync} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import test from 'ava';
import {columns, columnNamed} from '../src/model/columns.js';
import {sortOrderNamed, troubleOrder} from '../src/model/sort-orders.js';
import {stateWords} from '../src/core/tcp-states.js';
import {cliOptions} from './helpers/cli-options.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const page = `${root}man/tcptop.1`;
const manifest = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {scripts: Record<string, string>; man?: string[]};

/** The page as man shows it, as plain text (man strips the bold and underlining for a pipe). */
function rendered(width: number): {text: string; warnings: string} {
	const result = spawnSync('man', ['-l', '--warnings', page], {encoding: 'utf8', env: {...process.env, MANWIDTH: String(width), MANPAGER: 'cat', PAGER: 'cat', LC_ALL: 'C.UTF-8'}});
	if (result.error) {
		throw result.error;
	}

	return {text: result.stdout, warnings: result.stderr};
}

test('package.json installs the page, and npm run man writes it', t => {
	t.deepEqual(manifest.man, ['./man/tcptop.1']);
	t.regex(manifest.scripts.man ?? '', / > man\/tcptop\.1$/);
});

test('the committed page is what npm run man generates from man/tcptop.1.md', t => {
	// The script's command, writing to stdout instead of the committed file.
	const command = manifest.scripts.man!.replace(/ > man\/tcptop\.1$/, '');
	const generated = execFileSync('sh', ['-c', command], {cwd: root, encoding: 'utf8', env: {...process.env, PATH: `${root}node_modules/.bin:${process.env.PATH ?? ''}`}});
	t.is(readFileSync(page, 'utf8'), generated, 'man/tcptop.1 is out of date: run npm run man');
});

test('the page has no HTML entity left from the Markdown', t => {
	t.notRegex(readFileSync(page, 'utf8'), /&#?\w+;/);
});

for (const width of [80, 50]) {
	test(`man renders the page without warnings at ${width} columns`, t => {
		const {text, warnings} = rendered(width);
		t.is(warnings, '');
		t.regex(text, /^TCPTOP\(1\)/);
		for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'OPTIONS', 'KEYS', 'FILTERS', 'OUTPUT', 'EXIT STATUS', 'ENVIRONMENT', 'FILES', 'EXAMPLES', 'SEE ALSO']) {
			t.regex(text, new RegExp(`^${section}$`, 'm'), section);
		}
	});
}

// Wide enough that no name is split over two lines.
const text = () => rendered(400).text;

/** Whether the text has the word as a whole: not part of a longer option or name. */
function hasWord(text: string, word: string): boolean {
	const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
	return new RegExp(`(?<![\\w-])${escaped}(?![\\w-])`).test(text);
}

test('the page names every option src/cli.ts accepts, long and short', t => {
	const shown = text();
	const options = cliOptions();
	t.true(options.length > 20, 'the option table of src/cli.ts was read');
	for (const option of options) {
		t.true(hasWord(shown, option.long), option.long);
		if (option.short) {
			t.true(hasWord(shown, option.short), option.short);
		}
	}
});

test('the page\'s --sort names the default order and every column, each a name --sort takes', t => {
	const shown = text().replaceAll(/\s+/g, ' ');
	const [, order, list] = /--sort ORDER: Sort the connections in ORDER: (\w+), the default, or by a column: (.*?)\. /.exec(shown) ?? [];
	t.is(sortOrderNamed(order ?? ''), troubleOrder, 'the default order first');
	t.truthy(list, 'the --sort entry lists the columns');
	const names = list!.replaceAll(/\([^)]*\)/g, '').split(/,|\bor\b/).map(name => name.trim()).filter(name => name !== '');
	const named = names.map(name => columnNamed(name)?.key ?? `(${name} is no column)`);
	t.deepEqual(new Set(named), new Set(columns.map(column => column.key)));
	t.is(named.length, columns.length, 'one name for each column');
});

test('the page names every state word of the filter language', t => {
	const shown = text();
	for (const word of stateWords) {
		t.true(hasWord(shown, word), word);
	}
});

test('the page names every metric tcptop serves', t => {
	const source = readFileSync(`${root}src/output/metrics.ts`, 'utf8');
	const metrics = [...new Set(source.match(/(?<=')tcptop_[a-z_]+(?=')/g))];
	t.true(metrics.length >= 10, 'the metric names of src/output/metrics.ts were read');
	const shown = text();
	for (const metric of metrics) {
		t.true(hasWord(shown, metric), metric);
	}
});
