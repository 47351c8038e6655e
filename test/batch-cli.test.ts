// `tcptop -b`, run as a user runs it: snapshots of known loopback sockets (with ss as the
// oracle), filters, intervals, pipes, signals and bad arguments.
import {spawn} from 'node:child_process';
import {once} from 'node:events';
import {createInterface} from 'node:readline';
import test from 'ava';
import {kernelTest} from './helpers/kernel.js';
import {attached, bpfLinksOnHost, finish, run, start, tcptop} from './helpers/cli.js';
import {testUsageErrors} from './helpers/usage-errors.js';
import {buildLandscape, connectAndClose, landscapeCounts, listen} from './helpers/net.js';
import {sortedCounts, ssCounts} from './helpers/ss.js';

// Other tests (and benchmarks) can leave more TIME_WAITs than the default cap: the table must
// not evict the sockets these tests look for.
const roomy = ['--max-conns', '1000000'];

type Connection = {
	pid: number | null; comm: string | null; family: number; laddr: string; lport: number; raddr: string; rport: number;
	state: string; age_s: number; state_s: number; tx_bytes: number | null; rx_bytes: number | null;
};
type Document = {
	time: string; interval_s: number; states: Record<string, number>; lost: number; evicted: number;
	transitions: Array<{from: string; to: string; count: number; per_second: number}>;
	new: {count: number}; connections: Connection[];
};

function countStates(connections: readonly Connection[]): Map<string, number> {
	const counts = new Map<string, number>();
	for (const {state} of connections) {
		counts.set(state, (counts.get(state) ?? 0) + 1);
	}

	return counts;
}

/** A filter on either end's port, as separate words, the way a shell passes them. */
function portWords(ports: Iterable<number>): string[] {
	return [...ports].flatMap((port, index) => [...(index > 0 ? ['or'] : []), 'sport', '=', `:${port}`, 'or', 'dport', '=', `:${port}`]);
}

kernelTest('-b -n 1 --json: the sockets opened before the start, in the states ss shows, selected by a trailing filter', async t => {
	const landscape = await buildLandscape('127.0.0.1');
	t.teardown(async () => landscape.close());
	const {code, stdout, stderr} = await run(['-b', '-n', '1', '--json', ...roomy, ...portWords(landscape.ports)]);
	const expected = ssCounts(landscape.ports);
	const built = ssCounts(landscape.ports, landscape.owns);

	t.is(code, 0);
	t.is(stderr, '');
	const lines = stdout.trim().split('\n');
	t.is(lines.length, 1, 'one document, on one line');
	const document = JSON.parse(lines[0]!) as Document;
	t.true(Math.abs(Date.parse(document.time) - Date.now()) < 60_000);
	t.true(document.connections.every(c => landscape.ports.has(c.lport) || landscape.ports.has(c.rport)), 'only what the filter selects');
	t.deepEqual(sortedCounts(countStates(document.connections)), sortedCounts(expected));
	t.deepEqual(sortedCounts(countStates(document.connections.filter(c => landscape.owns(c.lport, c.rport)))), landscapeCounts);
	t.deepEqual(sortedCounts(built), landscapeCounts);
	// The header counts the host's sockets: at least these.
	for (const [state, count] of expected) {
		t.true(document.states[state]! >= count, state);
	}

	t.is(document.lost, 0);
	t.is(document.evicted, 0);
	const listener = document.connections.find(c => c.lport === landscape.leaky && c.state === 'LISTEN');
	t.like(listener, {pid: process.pid, comm: 'node', family: 4, laddr: '127.0.0.1'});
	for (const connection of document.connections) {
		t.true(connection.tx_bytes === null || Number.isInteger(connection.tx_bytes));
		t.true(connection.age_s >= 0 && connection.state_s >= 0);
	}
});

kernelTest('--filter and trailing filters select exactly the connections they describe', async t => {
	const landscape = await buildLandscape('127.0.0.1');
	t.teardown(async () => landscape.close());
	const json = async (args: string[]) => {
		const {code, stdout, stderr} = await run(['-b', '-n', '1', '--json', ...roomy, ...args]);
		t.is(code, 0, stderr);
		return (JSON.parse(stdout) as Document).connections;
	};

	const [closeWait, finWait, established] = await Promise.all([
		json(['--filter', `state close-wait and sport = :${landscape.leaky}`]),
		json(['state', 'fin-wait-2', 'and', 'dport', '=', `:${landscape.leaky}`]),
		json([`state established and ( sport = :${landscape.established} or dport = :${landscape.established} )`]),
	]);
	t.is(closeWait.length, 7);
	t.true(closeWait.every(c => c.state === 'CLOSE_WAIT' && c.lport === landscape.leaky));
	t.is(finWait.length, 7);
	t.true(finWait.every(c => c.state === 'FIN_WAIT2' && c.rport === landscape.leaky));
	t.is(established.length, 10, 'both ends of the 5 pairs');
	t.true(established.every(c => c.state === 'ESTABLISHED'));
});

kernelTest('-b -n 1 text: the header and a row per connection, in the view\'s columns', async t => {
	const landscape = await buildLandscape('::1');
	t.teardown(async () => landscape.close());
	// TIME_WAITs of earlier connections can have the port number too.
	const filter = `exclude time-wait and ( sport = :${landscape.leaky} or dport = :${landscape.leaky} )`;
	const {code, stdout, stderr} = await run(['-b', '-n', '1', ...roomy, '--filter', filter]);
	t.is(code, 0);
	t.is(stderr, '');
	const lines = stdout.split('\n');
	t.regex(lines[0]!, /^tcptop - \d\d:\d\d:\d\d - .* - Linux .* - up \S+ - every 1s$/);
	t.regex(lines[1]!, /ESTAB [\d,]+ · .*CLOSE-WAIT [\d,]+/);
	t.regex(lines[2]!, /^tracked [\d,]+ · new .* · lost \d+ · evicted \d+$/);
	t.is(lines[4], `Sort: TROUBLE ▼ · Filter: ${filter} · 15 of ${/tracked ([\d,]+)/.exec(lines[2]!)![1]} shown`);
	// CONTAINER only where a row's owner has one (a host running its processes in systemd units).
	t.regex(lines[5]!, /^\s+PID COMMAND\s+(?:CONTAINER\s+)?LOCAL\s+REMOTE\s+STATE\s+AGE\s+IN STATE\s+TX\/s\s+RX\/s\s+RTT\s+RETRANS\s+RETR\/s(?:\s+QUEUE)?$/);
	const rows = lines.slice(6).filter(line => line !== '');
	t.is(rows.length, 15);
	const states = rows.map(row => /\s(LISTEN|CLOSE-WAIT|FIN-WAIT-2)\s/.exec(row)?.[1]);
	t.deepEqual(sortedCounts(countStates(states.map(state => ({state}) as Connection))), [['CLOSE-WAIT', 7], ['FIN-WAIT-2', 7], ['LISTEN', 1]]);
	t.true(rows.some(row => row.includes(`[::1]:${landscape.leaky}`)));
});

kernelTest('-b -n 2 -d 2: two documents; the transitions between them are in the second', async t => {
	const server = await listen('127.0.0.1');
	t.teardown(async () => server.close());
	// Two seconds, so the test's four connections fit between the prints on a loaded machine.
	const child = start(['-b', '-n', '2', '-d', '2', '--json', ...roomy, `dport = :${server.port} or sport = :${server.port}`]);
	const finished = finish(child);
	const lines = createInterface({input: child.stdout});
	const documents: Document[] = [];
	const second = new Promise<void>(resolve => {
		lines.on('line', line => {
			documents.push(JSON.parse(line) as Document);
			if (documents.length === 1) {
				void (async () => {
					for (let i = 0; i < 4; i++) {
						await connectAndClose('127.0.0.1', server.port);
					}

					await server.settled();
				})();
			}

			if (documents.length === 2) {
				resolve();
			}
		});
	});
	await second;
	const {code, stderr} = await finished;
	t.is(code, 0);
	t.is(stderr, '');
	t.is(documents.length, 2);
	const [first, next] = documents as [Document, Document];
	t.true(Date.parse(next.time) - Date.parse(first.time) >= 1900);
	// Not early; late only when the host floods tcptop with events.
	t.true(next.interval_s >= 1.9, String(next.interval_s));
	// Besides the listener, only TIME_WAITs of earlier connections that had the port number.
	t.deepEqual(sortedCounts(countStates(first.connections.filter(c => c.state !== 'TIME_WAIT'))), [['LISTEN', 1]]);
	const tuple = (c: Connection) => `${c.laddr} ${c.lport} ${c.raddr} ${c.rport}`;
	const before = new Set(first.connections.map(c => tuple(c)));
	// Each client end closed first and waits in TIME_WAIT; each server end is closed.
	t.deepEqual(sortedCounts(countStates(next.connections.filter(c => !before.has(tuple(c))))), [['CLOSE', 4], ['TIME_WAIT', 4]]);
	const count = (document: Document, from: string, to: string) => document.transitions.find(edge => edge.from === from && edge.to === to)?.count ?? 0;
	// The host's transitions: these four connections' and any other test's.
	for (const [from, to] of [['CLOSE', 'SYN_SENT'], ['LISTEN', 'SYN_RECV'], ['FIN_WAIT2', 'CLOSE'], ['LAST_ACK', 'CLOSE']]) {
		t.true(count(next, from!, to!) >= 4, `${from}->${to}`);
	}

	t.true(next.new.count >= 8);
	const edge = next.transitions.find(edge => edge.from === 'CLOSE' && edge.to === 'SYN_SENT')!;
	// interval_s is rounded to the millisecond.
	t.true(Math.abs((edge.per_second * next.interval_s) - edge.count) <= (edge.count * 0.002) + 0.01, 'per second over the interval');
});

kernelTest('tcptop -b | head -1: exits 0 and quietly when the reader goes, without waiting for its next print', async t => {
	const began = Date.now();
	const shell = spawn('bash', ['-c', `"${process.execPath}" "${tcptop}" -b -d 60 | head -1; echo "status \${PIPESTATUS[0]}" >&2`]);
	const {code, stdout, stderr} = await finish(shell);
	t.is(code, 0);
	t.regex(stdout, /^tcptop - .* - every 60s\n$/);
	t.is(stderr, 'status 0\n', 'nothing from tcptop on stderr');
	t.true(Date.now() - began < 15_000, 'gone long before the second print, 60 s in');
});

kernelTest('-b stops on SIGTERM, exit 0, and its BPF links are gone', async t => {
	const child = start(['-b', '-d', '0.2', '--json']);
	const finished = finish(child);
	const links = await attached(child);
	await once(child.stdout, 'data');
	child.kill('SIGTERM');
	const {code, stderr} = await finished;
	t.is(code, 0);
	t.is(stderr, '');
	const remaining = new Set(bpfLinksOnHost());
	t.deepEqual(links.filter(id => remaining.has(id)), []);
});

testUsageErrors([
	[['-b', '-n', '0'], /--iterations: '0' is not a positive integer/],
	[['-b', '-n', 'many'], /--iterations: 'many' is not a positive integer/],
	[['-b', '-d', '0'], /--delay: '0' is not a positive number/],
	[['-b', '-d', 'soon'], /--delay: 'soon' is not a positive number/],
	[['-b', '--sort', 'colour'], /--sort: 'colour' is not trouble or a column/],
	[['-b', 'state', 'bogus'], /filter: .*bogus.* \(at character 7\)/],
	[['-b', '--filter', 'state established', 'sport', '=', ':80'], /--filter or as arguments, not both/],
	[['-n', '2'], /-n needs -b/],
	[['--json'], /--json needs -b/],
	[['trace', '-b'], /--batch does not apply to trace/],
	[['frobnicate'], /unknown command or filter 'frobnicate'/],
	[['-b', '--netns', 'no-such-namespace'], /--netns: no network namespace named 'no-such-namespace' in \/run\/netns/],
	[['-b', '--netns', '../../proc/1/ns/net'], /--netns: no network namespace named '\.\.\/\.\.\/proc\/1\/ns\/net'/],
	[['-b', '--netns', '0'], /--netns: '0' is not a namespace inode/],
	[['-b', '--netns', '1'], /--netns: no network namespace 1 on this host/],
	[['-b', 'netns', '=', 'no-such-namespace'], /filter: no network namespace named 'no-such-namespace' in \/run\/netns/],
]);

test('--help describes batch mode and metrics', async t => {
	const {code, stdout} = await run(['--help']);
	t.is(code, 0);
	for (const option of ['-b, --batch', '-n, --iterations', '--metrics ADDR', '--view', '[FILTER...]']) {
		t.true(stdout.includes(option), option);
	}
});
