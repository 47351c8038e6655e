// TCP packets the kernel drops, by reason, against the kernel, in network namespaces of the
// test's own: connects to a closed port (each SYN finds no socket, and the kernel drops it, after
// answering with a reset, with reason NO_SOCKET: the test's own count is the oracle); and a
// connection whose packets a queue that holds none drops (the queue's own count is the oracle).
import {spawn, spawnSync} from 'node:child_process';
import {once} from 'node:events';
import {createInterface} from 'node:readline';
import {setTimeout as delay} from 'node:timers/promises';
import test from 'ava';
import {TransitionRates} from '../src/model/transition-rates.js';
import {IntervalCounter} from '../src/model/interval-counts.js';
import {summariseTransitions} from '../src/ui/transitions-summary.js';
import {start} from './helpers/cli.js';
import {kernelTest, tracesDrops} from './helpers/kernel.js';
import {testNamespace} from './helpers/netns.js';

const connects = 25;

// Connects to port 9 (nothing listens there in a new namespace), one after the other.
const refusedScript = `
import socket, sys
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    try:
        s.connect(('127.0.0.1', 9))
    except ConnectionRefusedError:
        pass
    s.close()
`;

type Document = {drops: Array<{reason: string; count: number; per_second: number}> | null};

kernelTest('-b: refused connects in a namespace are dropped as NO_SOCKET, each counted once, by the kernel\'s reason name (unknown before Linux 6.11)', async t => {
	const namespace = testNamespace(t, 'drops');
	const tcptop = start(['-b', '-n', '4', '-d', '1', '--json', '--netns', namespace]);
	t.teardown(() => tcptop.kill('SIGKILL'));
	const lines = createInterface({input: tcptop.stdout});
	const documents: Document[] = [];
	lines.on('line', line => documents.push(JSON.parse(line) as Document));
	await once(lines, 'line');
	const refused = spawnSync('ip', ['netns', 'exec', namespace, 'python3', '-c', refusedScript, String(connects)], {encoding: 'utf8'});
	t.is(refused.status, 0, refused.stderr);
	const [code] = await once(tcptop, 'close') as [number | null];
	t.is(code, 0);
	t.is(documents.length, 4);
	if (!tracesDrops) {
		t.deepEqual(documents.map(document => document.drops), [null, null, null, null], 'not known: the tracepoint does not name the socket');
		return;
	}

	t.deepEqual(documents[0]!.drops, [], 'none before the connects');
	const noSocket = documents.flatMap(document => document.drops!).filter(drop => drop.reason === 'NO_SOCKET');
	t.is(noSocket.reduce((sum, drop) => sum + drop.count, 0), connects, 'one SYN dropped for each connect');
	t.true(noSocket.every(drop => drop.per_second > 0));
});

// A server and a client connected to it on the namespace's loopback; the client sends 10 kB
// when its stdin has a line.
const pairScript = `
import socket, sys
server = socket.socket()
server.bind(('127.0.0.1', 7400))
server.listen()
client = socket.create_connection(('127.0.0.1', 7400))
accepted, _ = server.accept()
print(client.getsockname()[1], flush=True)
sys.stdin.readline()
client.send(b'x' * 10000)
sys.stdin.readline()
`;

function qdiscDropped(namespace: string): number {
	const stats = spawnSync('ip', ['netns', 'exec', namespace, 'tc', '-s', 'qdisc', 'show', 'dev', 'lo'], {encoding: 'utf8'}).stdout;
	return Number(/dropped (\d+)/.exec(stats)?.[1] ?? Number.NaN);
}

type Row = {lport: number; rport: number; state: string; drops: {count: number; per_second: number | null; reason: string} | null};

kernelTest('-b: a connection\'s own drops, as many as the queue that dropped them counts, with their reason', async t => {
	if (!tracesDrops) {
		t.pass('Linux before 6.11: drops are not counted per connection');
		return;
	}

	const namespace = testNamespace(t, 'cdrops');
	const pair = spawn('ip', ['netns', 'exec', namespace, 'python3', '-c', pairScript], {stdio: ['pipe', 'pipe', 'inherit']});
	t.teardown(() => pair.kill());
	const pairLines = createInterface({input: pair.stdout});
	const [clientPort] = await once(pairLines, 'line') as [string];
	const tcptop = start(['-b', '-d', '1', '--json', '--netns', namespace, 'sport = 7400 or dport = 7400']);
	t.teardown(() => tcptop.kill('SIGKILL'));
	const prints: Row[][] = [];
	const lines = createInterface({input: tcptop.stdout});
	lines.on('line', line => prints.push((JSON.parse(line) as {connections: Row[]}).connections));
	await once(lines, 'line');

	// A queue that holds nothing on the loopback: the 10 kB and each retransmit of it are dropped
	// there (the qdisc counts them), until it holds packets again.
	const tc = (action: string, limit: number) => spawnSync('ip', ['netns', 'exec', namespace, 'tc', 'qdisc', action, 'dev', 'lo', 'root', 'pfifo', 'limit', String(limit)], {encoding: 'utf8'});
	t.is(tc('add', 0).status, 0);
	pair.stdin.write('send\n');
	for (let waited = 0; waited < 20_000 && !(qdiscDropped(namespace) >= 3); waited += 100) {
		await delay(100);
	}

	t.is(tc('change', 1000).status, 0);
	const dropped = qdiscDropped(namespace);
	t.true(dropped >= 3, `the queue dropped ${dropped}`);
	const client = (rows: Row[]) => rows.find(row => row.lport === Number(clientPort) && row.rport === 7400);
	for (let waited = 0; waited < 20_000 && client(prints.at(-1)!)?.drops?.count !== dropped; waited += 100) {
		await delay(100);
	}

	const last = prints.at(-1)!;
	t.deepEqual(client(last)?.drops?.count, dropped, 'every packet the queue dropped, on the connection that sent it');
	t.is(client(last)?.drops?.reason, 'QDISC_DROP');
	t.is(last.find(row => row.lport === 7400 && row.state === 'ESTABLISHED')?.drops, null, 'the server\'s end dropped none');
	t.true(prints.some(rows => (client(rows)?.drops?.per_second ?? 0) > 0), 'per second while it happened');
	t.is(client(prints[0]!)?.drops, null, 'none before');
});

test('drops by reason: rates per reason, interval counts, and a Transitions row per reason', t => {
	const rates = new TransitionRates();
	const counter = new IntervalCounter(rates, 0);
	rates.countDrops('NO_SOCKET', 500, 3);
	rates.countDrops('TCP_LISTEN_OVERFLOW', 1500, 2);
	rates.countDrops('NO_SOCKET', 1600, 4);
	const first = counter.take(2000);
	t.is(first.drops, 9);
	t.deepEqual(first.dropsByReason, [{reason: 'NO_SOCKET', count: 7}, {reason: 'TCP_LISTEN_OVERFLOW', count: 2}]);
	rates.countDrops('TCP_LISTEN_OVERFLOW', 2500, 1);
	rates.advance(3000);
	const second = counter.take(3000);
	t.is(second.drops, 1);
	t.deepEqual(second.dropsByReason, [{reason: 'TCP_LISTEN_OVERFLOW', count: 1}], 'only the reasons with drops in the interval');
	t.is(rates.dropTotal('NO_SOCKET'), 7);
	t.is(rates.dropRate('NO_SOCKET', 1), 0, 'none in the last second');
	t.is(rates.dropRate('TCP_LISTEN_OVERFLOW', 2), 1.5);
	const rows = summariseTransitions(rates).filter(row => row.key.startsWith('drops '));
	t.deepEqual(rows.map(row => [row.label, row.total, row.failure]), [['drops: NO_SOCKET', 7, true], ['drops: TCP_LISTEN_OVERFLOW', 3, true]]);
	t.deepEqual(rows[1]!.history.slice(-3), [0, 2, 1]);
	// Two minutes on, the seconds they fell in are gone from the rates, not from the totals.
	rates.advance(200_000);
	t.is(rates.dropRate('NO_SOCKET', 60), 0);
	t.is(rates.dropTotal('NO_SOCKET'), 7);
});
