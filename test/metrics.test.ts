// The metrics registry over a connection table the test feeds: every figure exact, counters
// that only go up, and output that a strict exposition reader accepts; and over the real
// capture, counting traffic the test makes on loopback.
import net from 'node:net';
import test from 'ava';
import {KernelSource} from '../src/capture/kernel-source.js';
import {TcpState, type Transition} from '../src/core/transition.js';
import {ConnectionTable} from '../src/model/connection-table.js';
import {feedTable} from '../src/model/feed-table.js';
import {maxListenerPorts, metricsRegistry} from '../src/output/metrics.js';
import {parseExposition, type Family} from './helpers/exposition.js';
import {kernelTest} from './helpers/kernel.js';
import {closedPort, connectAndClose as connectAndCloseOn, connectAndReset, connectOpen, connectRefused, listen} from './helpers/net.js';

const {CLOSE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, LISTEN} = TcpState;

let nextPort = 40_000;

function transition(oldstate: number, newstate: number, monoMs: number, fields: Partial<Transition> = {}): Transition {
	return {
		monoMs, wallMs: monoMs, sock: nextPort, netns: 1, family: 4, pid: 0, tid: 0, comm: 'swapper/0',
		laddr: '10.0.0.1', lport: nextPort, raddr: '10.0.0.2', rport: 443, oldstate, newstate, ms: null, ...fields,
	};
}

/** A client connection that opens, then (optionally) closes first: its side ends in TIME_WAIT. */
function connectAndClose(table: ConnectionTable, atMs: number, close: boolean): void {
	const port = nextPort++;
	table.apply(transition(CLOSE, SYN_SENT, atMs, {lport: 0, sock: port, pid: 5, comm: 'curl'}));
	table.apply(transition(SYN_SENT, ESTABLISHED, atMs + 1, {lport: port, sock: port}));
	if (close) {
		table.apply(transition(ESTABLISHED, FIN_WAIT1, atMs + 2, {lport: port, sock: port, pid: 5}));
		table.apply(transition(FIN_WAIT1, FIN_WAIT2, atMs + 3, {lport: port, sock: port}));
		table.apply(transition(FIN_WAIT2, CLOSE, atMs + 4, {lport: port, sock: port}));
	}
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
	return families.get(name)?.samples.find(sample => Object.entries(labels).every(([key, wanted]) => sample.labels[key] === wanted))?.value;
}

test('the exposition reader refuses what a scraper would refuse', t => {
	const valid = '# HELP a_total Things.\n# TYPE a_total counter\na_total{x="1"} 3\na_total{x="2\\"q"} 4.5e1\n';
	t.is(parseExposition(valid).get('a_total')!.samples[1]!.labels.x, '2"q');
	for (const bad of [
		'a_total 3', // No newline at the end.
		'1abc 3\n',
		'a{x="1} 3\n',
		'a{x="1",x="2"} 3\n',
		'a{x="\\t"} 3\n',
		'a three\n',
		'a 1\nb 1\na 2\n', // Not one group.
		'a 1\na 1\n',
		'a 1\n# TYPE a gauge\n',
		'# TYPE a_total counter\na_total -1\n',
		'# TYPE a kind\n',
	]) {
		t.throws(() => parseExposition(bad), undefined, bad);
	}
});

test('sockets per state, transitions by edge and the named counters, exactly as the traffic fed', async t => {
	const table = new ConnectionTable({maxConnections: 4});
	const now = {ms: 0};
	const registry = metricsRegistry(table, () => now.ms);
	const scrape = async () => parseExposition(await registry.metrics());

	table.apply(transition(CLOSE, LISTEN, 1, {laddr: '0.0.0.0', lport: 443, raddr: '0.0.0.0', rport: 0, sock: 1}));
	connectAndClose(table, 10, true);
	connectAndClose(table, 20, false);
	const first = await scrape();
	t.is(first.get('tcptop_sockets')!.type, 'gauge');
	t.is(value(first, 'tcptop_sockets', {state: 'LISTEN'}), 1);
	t.is(value(first, 'tcptop_sockets', {state: 'ESTABLISHED'}), 1);
	t.is(value(first, 'tcptop_sockets', {state: 'TIME_WAIT'}), 1);
	t.is(value(first, 'tcptop_sockets', {state: 'CLOSE_WAIT'}), 0);
	t.false(first.get('tcptop_sockets')!.samples.some(sample => sample.labels.state === 'CLOSE'), 'closed connections are not sockets');
	t.is(first.get('tcptop_transitions_total')!.type, 'counter');
	t.is(value(first, 'tcptop_transitions_total', {from: 'CLOSE', to: 'SYN_SENT'}), 2);
	t.is(value(first, 'tcptop_transitions_total', {from: 'FIN_WAIT2', to: 'CLOSE'}), 1);
	t.is(value(first, 'tcptop_connections_opened_total'), 2);
	t.is(value(first, 'tcptop_connect_failures_total'), 0);
	t.is(value(first, 'tcptop_resets_total'), 0);
	t.is(value(first, 'tcptop_events_lost_total'), 0);
	t.is(value(first, 'tcptop_listen_drops_total'), 0);
	t.is(value(first, 'tcptop_connections_evicted_total'), 0);
	t.truthy(first.get('process_resident_memory_bytes'), 'tcptop\'s own process metrics');

	// A refused connect, a reset, lost events, and enough connections to evict one.
	const port = nextPort++;
	table.apply(transition(CLOSE, SYN_SENT, 30, {lport: 0, sock: port, pid: 5}));
	table.apply(transition(SYN_SENT, CLOSE, 30.5, {lport: port, sock: port}));
	const server = {laddr: '10.0.0.2', lport: 443, raddr: '10.0.0.7', rport: 50_000, sock: 99};
	table.apply(transition(LISTEN, SYN_RECV, 40, server));
	table.apply(transition(SYN_RECV, ESTABLISHED, 41, server));
	table.apply(transition(ESTABLISHED, CLOSE, 42, server));
	table.recordLost(3, 43);
	// Two passes with the namespace's counters: what listeners dropped, and what was retransmitted, between them.
	const countersPass = (monoMs: number, listenOverflows: number, listenDrops: number, retransmits: number, synRetransmits: number) => ({
		monoMs, wallMs: 0, sockets: [], namespaces: [], owners: false, complete: false, netCounters: {listenOverflows, listenDrops, retransmits, synRetransmits},
	});
	table.applyPass(countersPass(44, 500, 700, 30, 10));
	table.applyPass(countersPass(45, 504, 709, 42, 13));
	// And the kernel's TCP drops, since the capture started, by reason.
	const dropsPass = (monoMs: number, drops: Array<[string, number]>) => ({
		monoMs, wallMs: 0, sockets: [], namespaces: [], owners: false, complete: false, drops: new Map(drops),
	});
	table.applyPass(dropsPass(46, [['NO_SOCKET', 2]]));
	table.applyPass(dropsPass(47, [['NO_SOCKET', 5], ['TCP_LISTEN_OVERFLOW', 1]]));
	connectAndClose(table, 50, false);
	now.ms = 100;
	const second = await scrape();
	t.is(value(second, 'tcptop_transitions_total', {from: 'CLOSE', to: 'SYN_SENT'}), 4);
	t.is(value(second, 'tcptop_transitions_total', {from: 'SYN_SENT', to: 'CLOSE'}), 1);
	t.is(value(second, 'tcptop_transitions_total', {from: 'ESTABLISHED', to: 'CLOSE'}), 1);
	t.is(value(second, 'tcptop_connections_opened_total'), 5);
	t.is(value(second, 'tcptop_connect_failures_total'), 1);
	t.is(value(second, 'tcptop_resets_total'), 1);
	t.is(value(second, 'tcptop_events_lost_total'), 3);
	t.is(value(second, 'tcptop_listen_overflows_total'), 4);
	t.is(value(second, 'tcptop_listen_drops_total'), 9);
	t.is(value(second, 'tcptop_retransmits_total'), 12);
	t.is(value(second, 'tcptop_syn_retransmits_total'), 3);
	t.is(value(second, 'tcptop_drops_total', {reason: 'NO_SOCKET'}), 5);
	t.is(value(second, 'tcptop_drops_total', {reason: 'TCP_LISTEN_OVERFLOW'}), 1);
	// Six connections (the listener, five connects and accepts) in a table of four, none
	// closed long enough to have left: two evicted, four tracked.
	t.is(value(second, 'tcptop_connections_evicted_total'), 2);
	t.is(value(second, 'tcptop_connections_tracked'), 4);

	// Nothing new: counters hold, they are not added again.
	const third = await scrape();
	t.is(value(third, 'tcptop_transitions_total', {from: 'CLOSE', to: 'SYN_SENT'}), 4);
	t.is(value(third, 'tcptop_events_lost_total'), 3);
	// Closed connections leave after their linger: of the four, the refused connect and the
	// reset one; the two still ESTABLISHED stay (the least recently active, the listener and
	// the TIME_WAIT, were the ones evicted).
	now.ms = 10_000;
	const later = await scrape();
	t.is(value(later, 'tcptop_connections_tracked'), 2);
	t.is(value(later, 'tcptop_sockets', {state: 'ESTABLISHED'}), 2);
	t.is(value(later, 'tcptop_sockets', {state: 'TIME_WAIT'}), 0);
	t.is(table.countInState(CLOSE), 0, 'the scrape swept the table to its clock');
});

test('a TIME_WAIT is a socket for its 60 s, a closed connection for its linger', async t => {
	const table = new ConnectionTable();
	const now = {ms: 0};
	const registry = metricsRegistry(table, () => now.ms);
	const scrape = async () => parseExposition(await registry.metrics());
	// Three closed first (TIME_WAIT from 4 ms), two left open, one refused.
	for (let i = 0; i < 3; i++) {
		connectAndClose(table, 0, true);
	}

	connectAndClose(table, 0, false);
	connectAndClose(table, 0, false);
	const port = nextPort++;
	table.apply(transition(CLOSE, SYN_SENT, 0, {lport: 0, sock: port, pid: 5}));
	table.apply(transition(SYN_SENT, CLOSE, 0.5, {lport: port, sock: port}));
	now.ms = 10;
	const first = await scrape();
	t.is(value(first, 'tcptop_sockets', {state: 'TIME_WAIT'}), 3);
	t.is(value(first, 'tcptop_sockets', {state: 'ESTABLISHED'}), 2);
	t.is(value(first, 'tcptop_connections_tracked'), 6);
	now.ms = 10_000;
	const lingered = await scrape();
	t.is(value(lingered, 'tcptop_sockets', {state: 'TIME_WAIT'}), 3);
	t.is(value(lingered, 'tcptop_connections_tracked'), 5, 'the refused connect has left');
	now.ms = 60_010;
	const over = await scrape();
	t.is(value(over, 'tcptop_sockets', {state: 'TIME_WAIT'}), 0);
	t.is(value(over, 'tcptop_connections_tracked'), 2);
});

test('listeners\' queues and backlogs by local port, summed per port; past the cap the rest are one series', async t => {
	const table = new ConnectionTable();
	const listener = (sock: number, lport: number, acceptQueue: number, acceptBacklog: number) => ({
		monoMs: 0, wallMs: 0, sock, netns: 1, family: 4 as const, laddr: '0.0.0.0', lport, raddr: '0.0.0.0', rport: 0,
		state: LISTEN, pid: 0, comm: '', figures: undefined, queue: {acceptQueue, acceptBacklog, synQueue: 0, drops: 0},
	});
	// With port 80, two more ports than the cap.
	const ports = Array.from({length: maxListenerPorts + 1}, (_, index) => listener(100 + index, 9000 + index, index, 128));
	// Port 80 twice (IPv4 and IPv6, say): one series, the two summed.
	table.loadSnapshot({monoMs: 0, wallMs: 0, sockets: [listener(1, 80, 5, 4), {...listener(2, 80, 3, 4), family: 6, laddr: '::'}, ...ports], namespaces: [1], owners: false, complete: true});
	const families = parseExposition(await metricsRegistry(table, () => 0).metrics());
	t.is(value(families, 'tcptop_listen_queue', {port: '80'}), 8);
	t.is(value(families, 'tcptop_listen_backlog', {port: '80'}), 8);
	t.is(families.get('tcptop_listen_queue')!.samples.length, maxListenerPorts + 1, 'the cap, and "other"');
	// The fullest ports are the ones named: 9000 and 9001 (queues 0 and 1) are summed in "other".
	t.is(value(families, 'tcptop_listen_queue', {port: String(9000 + maxListenerPorts)}), maxListenerPorts);
	t.is(value(families, 'tcptop_listen_queue', {port: '9000'}), undefined);
	t.is(value(families, 'tcptop_listen_queue', {port: 'other'}), 0 + 1);
	t.is(value(families, 'tcptop_listen_backlog', {port: 'other'}), 256);
});

kernelTest('over the real capture: each counter rises by exactly the connections, refusals and resets made', async t => {
	const server = await listen('127.0.0.1');
	const refusing = await closedPort('127.0.0.1');
	const held: net.Socket[] = [];
	t.teardown(async () => {
		for (const socket of held) {
			socket.destroy();
		}

		await server.close();
	});
	// The kernel passes only the connecting ends to these two ports: no other test's traffic.
	const source = new KernelSource({remotePorts: [server.port, refusing]});
	const table = new ConnectionTable({maxConnections: 1_000_000});
	const clockMs = () => Number(process.hrtime.bigint()) / 1e6;
	let failure: Error | undefined;
	feedTable(source, table, clockMs, error => {
		failure = error;
	});
	t.teardown(async () => source.stop());
	const registry = metricsRegistry(table, clockMs);
	const scrape = async () => parseExposition(await registry.metrics());
	const before = await scrape();

	const closed = 5;
	const open = 2;
	const refused = 3;
	const reset = 2;
	for (let i = 0; i < closed; i++) {
		await connectAndCloseOn('127.0.0.1', server.port);
	}

	for (let i = 0; i < refused; i++) {
		await connectRefused('127.0.0.1', refusing);
	}

	for (let i = 0; i < reset; i++) {
		await connectAndReset('127.0.0.1', server.port);
	}

	await server.settled();
	for (let i = 0; i < open; i++) {
		held.push(await connectOpen('127.0.0.1', server.port));
	}

	const connects = closed + open + refused + reset;
	const rose = (after: Map<string, Family>, name: string, labels?: Record<string, string>) => (value(after, name, labels) ?? 0) - (value(before, name, labels) ?? 0);
	const expected: Array<[string, Record<string, string> | undefined, number]> = [
		['tcptop_transitions_total', {from: 'CLOSE', to: 'SYN_SENT'}, connects],
		['tcptop_transitions_total', {from: 'SYN_SENT', to: 'ESTABLISHED'}, closed + open + reset],
		['tcptop_transitions_total', {from: 'SYN_SENT', to: 'CLOSE'}, refused],
		['tcptop_transitions_total', {from: 'ESTABLISHED', to: 'CLOSE'}, reset],
		['tcptop_transitions_total', {from: 'ESTABLISHED', to: 'FIN_WAIT1'}, closed],
		['tcptop_connections_opened_total', undefined, connects],
		['tcptop_connect_failures_total', undefined, refused],
		['tcptop_resets_total', undefined, reset],
		['tcptop_sockets', {state: 'ESTABLISHED'}, open],
		['tcptop_sockets', {state: 'TIME_WAIT'}, closed],
	];
	// Changes reach the table at the capture's next delivery: until each figure has come (or
	// 10 s), then each must be exact, no more.
	let after = await scrape();
	for (let waited = 0; waited < 10_000 && expected.some(([name, labels, count]) => rose(after, name, labels) < count); waited += 50) {
		await new Promise(resolve => setTimeout(resolve, 50));
		after = await scrape();
	}

	t.is(failure, undefined);
	for (const [name, labels, count] of expected) {
		t.is(rose(after, name, labels), count, `${name} ${JSON.stringify(labels ?? {})}`);
	}

	t.is(rose(after, 'tcptop_events_lost_total'), 0);
});

test('tcptop_handshake_seconds: each handshake in its bucket and the ones above, by side, with their sum', async t => {
	const table = new ConnectionTable();
	const registry = metricsRegistry(table, () => 10_000);
	// Three client handshakes of 2 ms, one server handshake of 300 ms.
	for (const atMs of [1000, 2000, 3000]) {
		const port = nextPort++;
		table.apply(transition(CLOSE, SYN_SENT, atMs, {lport: 0, sock: port, pid: 5, comm: 'curl'}));
		table.apply(transition(SYN_SENT, ESTABLISHED, atMs + 2, {lport: port, sock: port}));
	}

	const port = nextPort++;
	table.apply(transition(LISTEN, SYN_RECV, 4000, {lport: 443, rport: port, sock: port}));
	table.apply(transition(SYN_RECV, ESTABLISHED, 4300, {lport: 443, rport: port, sock: port}));
	const families = parseExposition(await registry.metrics());
	const bucket = (side: string, le: string) => value(families, 'tcptop_handshake_seconds', {side, le});
	t.is(families.get('tcptop_handshake_seconds')?.type, 'histogram');
	t.is(bucket('client', '0.001'), 0);
	t.is(bucket('client', '0.0025'), 3);
	t.is(bucket('client', '+Inf'), 3);
	t.is(bucket('server', '0.25'), 0);
	t.is(bucket('server', '0.5'), 1);
	t.is(bucket('server', '+Inf'), 1);
	const sample = (name: string, side: string) => families.get('tcptop_handshake_seconds')?.samples.find(candidate => candidate.name === name && candidate.labels.side === side)?.value;
	t.is(sample('tcptop_handshake_seconds_count', 'client'), 3);
	t.true(Math.abs(sample('tcptop_handshake_seconds_sum', 'client')! - 0.006) < 1e-9);
	t.true(Math.abs(sample('tcptop_handshake_seconds_sum', 'server')! - 0.3) < 1e-9);
});
