// Times in states, against connections that spend known times in them: in a network namespace
// of the test's own (tcptop --netns), five connections that stay ESTABLISHED for 200 ms, then are
// closed by the client, and whose server holds them in CLOSE-WAIT for 400 ms before closing.
import {execFile} from 'node:child_process';
import {createInterface} from 'node:readline';
import {promisify} from 'node:util';
import {kernelTest} from './helpers/kernel.js';
import {finish, start} from './helpers/cli.js';
import {testNamespace} from './helpers/netns.js';

type Times = {p50: number; p90: number; p99: number; max: number; count: number} | null;
type Document = {
	transitions: Array<{from: string; to: string; count: number; ms: Times}>;
	groups: Array<{key: string; handshake_ms: Times}>;
};

const script = `
const net = require('node:net');
const server = net.createServer({allowHalfOpen: true}, socket => {
	socket.resume();
	socket.on('end', () => setTimeout(() => socket.end(), 400));
}).listen(7000, '127.0.0.1', async () => {
	await Promise.all([0, 1, 2, 3, 4].map(() => new Promise(resolve => {
		const client = net.connect(7000, '127.0.0.1', () => setTimeout(() => client.end(), 200));
		client.resume();
		client.on('close', resolve);
	})));
	server.close();
});
`;

kernelTest('-b --json: time in state by edge, and handshakes by group, as the connections spent them', async t => {
	const namespace = testNamespace(t, 'times');
	const child = start(['-b', '-n', '2', '-d', '3', '--json', '--netns', namespace, '--group-by', 'service']);
	const finished = finish(child);
	const documents: Document[] = [];
	await new Promise<void>((resolve, reject) => {
		createInterface({input: child.stdout}).on('line', line => {
			documents.push(JSON.parse(line) as Document);
			if (documents.length === 1) {
				promisify(execFile)('ip', ['netns', 'exec', namespace, process.execPath, '-e', script]).catch(reject);
			}

			if (documents.length === 2) {
				resolve();
			}
		});
	});
	const {code, stderr} = await finished;
	t.is(code, 0, stderr);
	const next = documents[1]!;
	const times = (from: string, to: string) => next.transitions.find(edge => edge.from === from && edge.to === to)?.ms;
	const closeWait = times('CLOSE_WAIT', 'LAST_ACK');
	t.is(closeWait?.count, 5);
	t.true(closeWait!.p50 >= 399 && closeWait!.p50 < 480, `CLOSE-WAIT p50 ${closeWait!.p50} ms`);
	const established = times('ESTABLISHED', 'FIN_WAIT1');
	t.is(established?.count, 5);
	t.true(established!.p50 >= 199 && established!.p50 < 280, `ESTABLISHED -> FIN-WAIT-1 p50 ${established!.p50} ms`);
	// Loopback handshakes: well under the 200 ms the connections then stayed.
	for (const [from, to] of [['SYN_SENT', 'ESTABLISHED'], ['SYN_RECV', 'ESTABLISHED']] as const) {
		t.is(times(from, to)?.count, 5, `${from} -> ${to}`);
		t.true(times(from, to)!.max < 100);
	}

	t.is(next.transitions.find(edge => edge.from === 'LAST_ACK' && edge.to === 'CLOSE')?.ms, null, 'not a timed edge');
	const served = next.groups.find(group => group.key === ':7000');
	t.is(served?.handshake_ms?.count, 5, 'the server\'s handshakes, by its service');
	t.is(next.groups.find(group => group.key === 'to :7000')?.handshake_ms?.count, 5);
});
