// `tcptop` with no command: its options and where it refuses to run.
import test from 'ava';
import {run} from './helpers/cli.js';
import {assertOneLineError, testUsageErrors} from './helpers/usage-errors.js';

test('without a terminal on stdout: one line pointing at batch mode and tcptop trace, exit 2', async t => {
	const {code, stdout, stderr} = await run([]);
	t.is(code, 2);
	t.is(stdout, '');
	assertOneLineError(t, stderr, /needs a terminal on stdout; to a pipe or file, 'tcptop -b' prints it and 'tcptop trace' streams transitions/);
});

test('a filter given as trailing words is taken before the terminal is looked for', async t => {
	const {code, stderr} = await run(['state', 'established', 'and', 'dport', '=', ':5432']);
	t.is(code, 2);
	assertOneLineError(t, stderr, /needs a terminal on stdout/);
});

const usageErrors: Array<[string[], RegExp]> = [
	[['state', 'bogus'], /filter: .*bogus.* \(at character 7\)/],
	[['dport', '=', ':5432', 'and'], /filter: .* \(at character 18\)/],
	[['-d', '0'], /--delay: '0' is not a positive number/],
	[['--delay', 'soon'], /--delay: 'soon' is not a positive number/],
	[['--sort', 'colour'], /--sort: 'colour' is not trouble or a column \(pid, command, container, local, remote, state, age, in state, tx\/s/],
	[['--filter', 'state bogus'], /--filter: .*bogus.* \(at character 7\)/],
	[['--max-conns', '1.5'], /--max-conns: '1.5' is not a positive integer/],
	[['--transport', 'carrier-pigeon'], /--transport: 'carrier-pigeon' is not ringbuf or perf/],
	[['-d', '2592000'], /--delay: '2592000' is more than 2000000 seconds/],
	[['--pid', '1234'], /--pid is for trace; the live view, -b and --metrics take a filter/],
	[['-b', '--duration', '60'], /--duration is for trace/],
	[['-b', '-4'], /-4 is for trace/],
	[['-b', '--events'], /--events is for trace; the live view, -b and --metrics count retransmits and drops/],
	[['--metrics', '0', '--lport', '80'], /--lport is for trace/],
];

testUsageErrors(usageErrors);

test('--help describes the live view and its options', async t => {
	const {stdout} = await run(['--help']);
	for (const option of ['-d, --delay', '--sort', '--filter', '--no-color', '--max-conns']) {
		t.true(stdout.includes(option), option);
	}
});
