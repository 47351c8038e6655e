// `tcptop -b --group-by`: groups of real loopback connections, with ss as the oracle for
// their members, and the opens and failed connects of an interval counted into their group.
import {execFileSync} from 'node:child_process';
import {createInterface} from 'node:readline';
import test from 'ava';
import {kernelTest} from './helpers/kernel.js';
import {run, start, finish} from './helpers/cli.js';
import {closedPort, connectAndClose, connectRefused, listen, serverWithClients} from './helpers/net.js';

type Group = {
	key: string; connections: number; states: Record<string, number>;
	new: {count: number; per_second: number}; failed: {count: number}; resets: {count: number};
	tx_bytes_per_s: number; rx_bytes_per_s: number;
};
type Document = {group_by: string; groups: Group[]; connections?: unknown};

const roomy = ['--max-conns', '1000000'];

/** ss's sockets whose local port (or, with `remote`, remote port) is `port`. */
function ssWithPort(port: number, remote: boolean): Record<string, number> {
	const counts: Record<string, number> = {};
	const names: Record<string, string> = {ESTAB: 'ESTABLISHED', LISTEN: 'LISTEN'};
	for (const line of execFileSync('ss', ['-tanH', `( ${remote ? 'dport' : 'sport'} = :${port} )`], {encoding: 'utf8'}).trim().split('\n').filter(Boolean)) {
		const state = line.trim().split(/\s+/)[0]!;
		counts[names[state] ?? state] = (counts[names[state] ?? state] ?? 0) + 1;
	}

	return counts;
}

function groupOf(document: Document, key: string): Group {
	const group = document.groups.find(candidate => candidate.key === key);
	if (!group) {
		throw new Error(`no group ${key} among ${document.groups.map(candidate => candidate.key).join(', ')}`);
	}

	return group;
}

kernelTest('-b -n 1 --group-by service: a listener\'s accepted connections under its port, its clients under "to" the port, as ss counts them', async t => {
	const {server} = await serverWithClients(t, '127.0.0.1', 3);

	const {code, stdout, stderr} = await run(['-b', '-n', '1', '--json', '--group-by', 'service', ...roomy]);
	t.is(code, 0, stderr);
	const document = JSON.parse(stdout) as Document;
	t.is(document.group_by, 'service');
	t.is(document.connections, undefined, 'groups in place of connections');
	const served = groupOf(document, `:${server.port}`);
	t.deepEqual(served.states, ssWithPort(server.port, false));
	t.deepEqual(served.states, {ESTABLISHED: 3, LISTEN: 1});
	t.is(served.connections, 4);
	t.deepEqual(groupOf(document, `to :${server.port}`).states, ssWithPort(server.port, true));

	// As text: a title line, and the group's row.
	const text = await run(['-b', '-n', '1', '--group-by', 'service', ...roomy]);
	const lines = text.stdout.split('\n');
	const title = lines.findIndex(line => line.startsWith('SERVICE'));
	t.regex(lines[title] ?? '', /^SERVICE +CONNS +NEW\/s +FAIL\/s +RST\/s +RETR\/s +TX\/s +RX\/s +HS p50 +HS p99 +STATES$/);
	// One walk, no change seen: no handshake timed.
	t.regex(lines.find(line => line.startsWith(`:${server.port} `)) ?? '', /^:\d+ +4 +0 +0 +0 +0 +0 +0 +- +- +ESTAB 3 · LISTEN 1$/);

	// By process: this test's own process holds all seven.
	const byProcess = JSON.parse((await run(['-b', '-n', '1', '--json', '--group-by', 'process', ...roomy])).stdout) as Document;
	t.true(groupOf(byProcess, `node ${process.pid}`).connections >= 7);
});

kernelTest('-b -d 2 --group-by service: an interval\'s opens and refused connects are counted in their groups', async t => {
	const server = await listen('127.0.0.1');
	t.teardown(async () => server.close());
	const refused = await closedPort('127.0.0.1');
	const child = start(['-b', '-n', '2', '-d', '2', '--json', '--group-by', 'service', ...roomy]);
	const finished = finish(child);
	const documents: Document[] = [];
	await new Promise<void>(resolve => {
		createInterface({input: child.stdout}).on('line', line => {
			documents.push(JSON.parse(line) as Document);
			// The first print is at the start; what follows belongs to the second.
			if (documents.length === 1) {
				void (async () => {
					for (let index = 0; index < 4; index++) {
						await connectAndClose('127.0.0.1', server.port);
					}

					for (let index = 0; index < 5; index++) {
						await connectRefused('127.0.0.1', refused);
					}
				})();
			}

			if (documents.length === 2) {
				resolve();
			}
		});
	});
	const {code, stderr} = await finished;
	t.is(code, 0, stderr);
	const next = documents[1]!;
	t.is(groupOf(next, `to :${refused}`).failed.count, 5);
	t.is(groupOf(next, `:${server.port}`).new.count, 4, 'the listener accepted four');
	t.is(groupOf(next, `to :${server.port}`).new.count, 4, 'its clients opened four');
	t.is(groupOf(next, `:${server.port}`).failed.count, 0);
});

test('--group-by: an unknown grouping, or a filter with it in batch mode, is a one-line error', async t => {
	const unknown = await run(['-b', '--group-by', 'planet']);
	t.is(unknown.code, 2);
	t.regex(unknown.stderr, /^tcptop: --group-by: 'planet' is not none or one of process, remote, subnet, service, container, state/);
	t.is(unknown.stderr.trim().split('\n').length, 1);
	const filtered = await run(['-b', '--group-by', 'state', 'state', 'established']);
	t.is(filtered.code, 2);
	t.regex(filtered.stderr, /give it no filter/);
});
