// TCP packets the kernel drops, by reason, against the kernel: connects to a closed port in a
// network namespace of the test's own. Each connect's SYN finds no socket, and the kernel drops
// it (after answering with a reset) with reason NO_SOCKET: the test's own count is the oracle.
import {spawnSync} from 'node:child_process';
import {once} from 'node:events';
import {createInterface} from 'node:readline';
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
