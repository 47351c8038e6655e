// contrib/bash-completion/tcptop, sourced into plain bash (no bash-completion package) and asked
// to complete a command line as bash asks it (COMP_WORDS, COMP_CWORD). Its word lists are
// checked against what tcptop itself accepts: the option table of src/cli.ts, the columns
// --sort takes, the conditions and state words of the filter language.
import {execFileSync, spawnSync} from 'node:child_process';
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {fileURLToPath} from 'node:url';
import test from 'ava';
import {sortOrderNamed, sortOrders} from '../src/model/sort-orders.js';
import {compileFilter} from '../src/model/filter.js';
import {stateWords} from '../src/core/tcp-states.js';
import {groupKinds} from '../src/model/groups.js';
import {cliOptions} from './helpers/cli-options.js';

const script = fileURLToPath(new URL('../contrib/bash-completion/tcptop', import.meta.url));

// Sources the script, finds the function it registered for tcptop, and calls it as bash does
// when Tab is pressed at the end of the words given (the last one is the word being completed).
const completer = `
source "$1" || exit 3
shift
spec=$(complete -p tcptop) || exit 4
function=\${spec##*-F }
function=\${function%% *}
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMP_LINE="$*"
COMP_POINT=\${#COMP_LINE}
"$function" tcptop "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\\n' "\${COMPREPLY[@]}"
`;

/** What Tab offers after `line`; a line ending in a space completes an empty word. */
function complete(line: string, cwd?: string): string[] {
	const words = line.split(' ');
	const result = spawnSync('bash', ['--norc', '--noprofile', '-c', completer, 'bash', script, ...words], {encoding: 'utf8', cwd});
	if (result.status !== 0 || result.stderr !== '') {
		throw new Error(`completing '${line}': exit ${result.status}, ${result.stderr}`);
	}

	return result.stdout.split('\n').filter(word => word !== '');
}

/** Both sides of a comparison in one order: the order of the words is not what is checked. */
function sorted(words: Iterable<string>): string[] {
	return [...words].sort();
}

const options = cliOptions();
const everyOption = options.flatMap(option => (option.short ? [option.long, option.short] : [option.long]));

/** The conditions the filter's parser names when a filter starts with something else. */
function filterConditions(): string[] {
	const result = compileFilter('bogus');
	if (result.ok) {
		throw new Error('\'bogus\' compiled as a filter');
	}

	const list = /^expected a condition: (.*?); found/.exec(result.error.message)?.[1];
	if (list === undefined) {
		throw new Error(`unexpected message: ${result.error.message}`);
	}

	return list.split(/, | or /).filter(word => /^[a-z]+$/.test(word));
}

test('an option completes from its start', t => {
	t.deepEqual(complete('tcptop --so'), ['--sort']);
	t.deepEqual(complete('tcptop --max'), ['--max-conns']);
	t.deepEqual(complete('tcptop trace --dur'), ['--duration']);
});

test('a dash offers every option src/cli.ts accepts, long and short, and nothing else', t => {
	t.true(options.length > 20, 'the option table of src/cli.ts was read');
	t.deepEqual(sorted(complete('tcptop -')), sorted(everyOption));
	t.deepEqual(sorted(complete('tcptop --')), sorted(options.map(option => option.long)));
});

test('--sort offers one name for each order, each a name --sort takes', t => {
	const names = complete('tcptop --sort ');
	t.deepEqual(sorted(names.map(name => sortOrderNamed(name)?.key ?? `(${name} is no order)`)), sorted(sortOrders.map(order => order.key)));
	t.is(names.length, sortOrders.length, 'one name for each order');
	t.deepEqual(complete('tcptop -b --sort in'), ['in-state']);
});

test('--sort=, split at the \'=\' as bash splits it, completes the same', t => {
	t.deepEqual(complete('tcptop --sort = '), complete('tcptop --sort '));
	t.deepEqual(complete('tcptop --sort = in'), ['in-state']);
});

test('--group-by offers none and each grouping', t => {
	t.deepEqual(complete('tcptop -b --group-by '), ['none', ...groupKinds.map(kind => kind.key)]);
	t.deepEqual(complete('tcptop --group-by se'), ['service']);
});

test('--transport offers its two values', t => {
	t.deepEqual(complete('tcptop trace --transport '), ['ringbuf', 'perf']);
});

test('the options that take a value are those of src/cli.ts: after one, no filter word is offered', t => {
	// Those completed with values of their own are checked by the tests above and below.
	const ownValues = new Set(['--sort', '--group-by', '--transport', '--record', '--replay', '--netns']);
	for (const option of options) {
		for (const flag of option.short ? [option.long, option.short] : [option.long]) {
			const offered = complete(`tcptop ${flag} `);
			if (!option.takesValue) {
				t.true(offered.includes('trace'), `${flag} takes no value: the command or filter follows`);
			} else if (!ownValues.has(option.long)) {
				t.deepEqual(offered, [], `${flag} takes a value`);
			}
		}
	}
});

test('--record and --replay complete file names', t => {
	const directory = mkdtempSync(`${tmpdir()}/tcptop-completion-`);
	t.teardown(() => {
		rmSync(directory, {recursive: true});
	});
	writeFileSync(`${directory}/db-7.tcptop`, '');
	writeFileSync(`${directory}/db 8.tcptop`, '');
	mkdirSync(`${directory}/recordings`);
	t.deepEqual(sorted(complete('tcptop --replay ', directory)), sorted(['db-7.tcptop', 'db 8.tcptop', 'recordings']));
	t.deepEqual(complete('tcptop --replay db-', directory), ['db-7.tcptop']);
	t.deepEqual(complete('tcptop trace --record rec', directory), ['recordings']);
});

test('the first word offers the trace command and the filter\'s conditions, which are the parser\'s', t => {
	const conditions = filterConditions();
	t.true(conditions.includes('state') && conditions.includes('netns'), 'the parser\'s list was read');
	t.deepEqual(sorted(complete('tcptop ')), sorted(['trace', ...conditions]));
	t.deepEqual(complete('tcptop tr'), ['trace']);
	// After an option and its value, still the first word.
	t.deepEqual(sorted(complete('tcptop -d 5 --sort = pid ')), sorted(['trace', ...conditions]));
});

test('later words of a filter offer its conditions and connectives, not the command', t => {
	t.deepEqual(sorted(complete('tcptop -b dport = :5432 ')), sorted([...filterConditions(), 'and', 'or']));
	t.deepEqual(complete('tcptop dport '), []);
	t.deepEqual(complete('tcptop comm '), []);
});

test('state and exclude offer the filter\'s state words', t => {
	t.deepEqual(sorted(complete('tcptop state ')), sorted(stateWords));
	t.deepEqual(sorted(complete('tcptop -b state established exclude ')), sorted(stateWords));
	t.deepEqual(complete('tcptop state close-'), ['close-wait']);
	for (const word of complete('tcptop state ')) {
		t.true(compileFilter(`state ${word}`).ok, word);
	}
});

test('trace takes options only', t => {
	t.deepEqual(sorted(complete('tcptop trace ')), sorted(everyOption));
});

const rootTest = process.getuid?.() === 0 ? test : test.skip;
if (process.getuid?.() !== 0) {
	console.warn('Skipping the --netns completion test: making a network namespace needs root.');
}

rootTest('--netns and the netns condition offer the names in /run/netns', t => {
	const name = `tcptop-completion-${process.pid}`;
	execFileSync('ip', ['netns', 'add', name]);
	t.teardown(() => {
		execFileSync('ip', ['netns', 'del', name]);
	});
	t.deepEqual(complete(`tcptop --netns ${name.slice(0, -1)}`), [name]);
	t.deepEqual(complete(`tcptop trace --netns ${name.slice(0, -1)}`), [name]);
	t.deepEqual(complete(`tcptop netns = ${name.slice(0, -1)}`), [name]);
});
