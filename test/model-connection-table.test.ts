import test from 'ava';
import type {SocketPass} from '../src/core/source.js';
import {TcpState, type ExistingSocket, type Reset, type SocketFigures, type Transition} from '../src/core/transition.js';
import {ConnectionTable} from '../src/model/connection-table.js';
import {Direction, Ending, OwnerSource} from '../src/model/connection.js';
import {RateSeries} from '../src/model/transition-rates.js';

const {CLOSE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING} = TcpState;

const client = {laddr: '10.0.0.1', lport: 40_000, raddr: '10.0.0.2', rport: 443};
const server = {laddr: '10.0.0.2', lport: 443, raddr: '10.0.0.1', rport: 40_000};

function transition(fields: Partial<Transition> & {oldstate: number; newstate: number; monoMs: number}): Transition {
	return {
		wallMs: 1_700_000_000_000 + fields.monoMs,
		sock: 0xA1,
		netns: 4_026_531_840,
		pid: 0,
		tid: 0,
		comm: 'swapper/0',
		family: 4,
		...client,
		ms: null,
		...fields,
	};
}

/** Feeds [oldstate, newstate, monoMs, extra] steps. */
function play(table: ConnectionTable, steps: Array<[number, number, number, Partial<Transition>?]>, common: Partial<Transition> = {}): void {
	for (const [oldstate, newstate, monoMs, extra] of steps) {
		table.apply(transition({...common, oldstate, newstate, monoMs, ...extra}));
	}
}

const connecting = {pid: 4242, tid: 4242, comm: 'curl', lport: 0};

/** Rows the table flags as stuck at nowMs, as the live view flags each row it shows (isStuck). */
function stuckRows(table: ConnectionTable, nowMs: number): number {
	let count = 0;
	table.forEach(connection => {
		count += table.isStuck(connection, nowMs) ? 1 : 0;
	});
	return count;
}

test('an active open joins the lport-0 SYN_SENT to the socket\'s later events and keeps the connect()er as owner', t => {
	const table = new ConnectionTable();
	play(table, [[CLOSE, SYN_SENT, 1000, connecting]]);
	t.is(table.size, 1);
	t.is(table.countInState(SYN_SENT), 1);
	play(table, [[SYN_SENT, ESTABLISHED, 1001.5]]);

	t.is(table.size, 1, 'no phantom entry with port 0 is left behind');
	const connection = table.find({netns: 4_026_531_840, ...client});
	t.truthy(connection);
	t.is(connection!.lport, 40_000);
	t.is(connection!.laddr, '10.0.0.1');
	t.is(connection!.raddr, '10.0.0.2');
	t.is(connection!.state, ESTABLISHED);
	t.is(connection!.previousState, SYN_SENT);
	t.is(connection!.direction, Direction.active);
	t.is(connection!.pid, 4242);
	t.is(connection!.comm, 'curl');
	t.is(connection!.ownerSource, OwnerSource.connect);
	t.is(connection!.firstSeenMs, 1000);
	t.is(connection!.stateSinceMs, 1001.5);
	t.deepEqual(connection!.history, [
		{from: CLOSE, to: SYN_SENT, ms: null},
		{from: SYN_SENT, to: ESTABLISHED, ms: 1.5},
	]);
	t.is(table.countInState(SYN_SENT), 0);
	t.is(table.countInState(ESTABLISHED), 1);
});

test('an active close ends in a synthesised TIME_WAIT for 60 s, then leaves', t => {
	const table = new ConnectionTable();
	play(table, [
		[CLOSE, SYN_SENT, 0, connecting],
		[SYN_SENT, ESTABLISHED, 1],
		[ESTABLISHED, FIN_WAIT1, 5000, {pid: 4242, comm: 'curl'}],
		[FIN_WAIT1, FIN_WAIT2, 5001],
		[FIN_WAIT2, CLOSE, 5002, {ms: 1}],
	]);
	const connection = table.find({netns: 4_026_531_840, ...client})!;
	t.is(connection.state, TIME_WAIT);
	t.is(connection.ending, Ending.fin);
	t.is(connection.transitionCount, 5);
	t.is(table.countInState(TIME_WAIT), 1);
	t.is(table.countInState(CLOSE), 0);
	t.deepEqual(connection.history.map(entry => [entry.from, entry.to, entry.ms]), [
		[SYN_SENT, ESTABLISHED, 1],
		[ESTABLISHED, FIN_WAIT1, 4999],
		[FIN_WAIT1, FIN_WAIT2, 1],
		[FIN_WAIT2, TIME_WAIT, 1],
	], 'keeps the last four transitions');
	t.is(table.rates.edgeTotal(FIN_WAIT2, CLOSE), 1, 'rates count the edge the kernel reported');

	table.sweep(5002 + 59_999);
	t.is(table.size, 1);
	table.sweep(5002 + 60_000);
	t.is(table.size, 0);
	t.is(table.countInState(TIME_WAIT), 0);
});

test('simultaneous close through CLOSING also leaves a TIME_WAIT', t => {
	const table = new ConnectionTable();
	play(table, [
		[CLOSE, SYN_SENT, 0, connecting],
		[SYN_SENT, ESTABLISHED, 1],
		[ESTABLISHED, FIN_WAIT1, 10, {pid: 4242}],
		[FIN_WAIT1, CLOSING, 11],
		[CLOSING, CLOSE, 12],
	]);
	const connection = table.find({netns: 4_026_531_840, ...client})!;
	t.is(connection.state, TIME_WAIT);
	t.is(connection.previousState, CLOSING);
	t.is(connection.ending, Ending.fin);
});

test('a passive connection takes its owner from the listener, never from softirq context', t => {
	const table = new ConnectionTable();
	const listener = {laddr: '0.0.0.0', lport: 443, raddr: '0.0.0.0', rport: 0, sock: 0xB0};
	play(table, [[CLOSE, LISTEN, 0, {...listener, pid: 77, comm: 'nginx'}]]);
	play(table, [
		[LISTEN, SYN_RECV, 100, {pid: 0, comm: 'swapper/1'}],
		[SYN_RECV, ESTABLISHED, 100.2, {pid: 999, comm: 'unrelated'}],
		[ESTABLISHED, CLOSE_WAIT, 200],
		[CLOSE_WAIT, LAST_ACK, 210, {pid: 78, comm: 'nginx-worker'}],
		[LAST_ACK, CLOSE, 211],
	], {...server, sock: 0xC0});

	const connection = table.find({netns: 4_026_531_840, ...server})!;
	t.is(connection.direction, Direction.passive);
	t.is(connection.pid, 77);
	t.is(connection.comm, 'nginx');
	t.is(connection.ownerSource, OwnerSource.listener);
	t.is(connection.state, CLOSE, 'a passive close has no TIME_WAIT');
	t.is(connection.ending, Ending.fin);
	t.is(table.countInState(LISTEN), 1);
	t.is(table.size, 2);
});

test('a passive connection without a known listener gets its owner from close()', t => {
	const table = new ConnectionTable();
	play(table, [
		[LISTEN, SYN_RECV, 100],
		[SYN_RECV, ESTABLISHED, 100.2, {pid: 999, comm: 'unrelated'}],
		[ESTABLISHED, CLOSE_WAIT, 200],
		[CLOSE_WAIT, LAST_ACK, 210, {pid: 78, comm: 'server'}],
	], {...server, sock: 0xC0});
	const connection = table.find({netns: 4_026_531_840, ...server})!;
	t.is(connection.pid, 78);
	t.is(connection.comm, 'server');
	t.is(connection.ownerSource, OwnerSource.close);
});

test('a listener lives under its own key and lingers after close', t => {
	const table = new ConnectionTable({lingerMs: 2000});
	const listener = {laddr: '0.0.0.0', lport: 8080, raddr: '0.0.0.0', rport: 0, pid: 5, comm: 'node'};
	play(table, [[CLOSE, LISTEN, 0, {...listener, sock: 1}], [CLOSE, LISTEN, 0, {...listener, sock: 2}]]);
	t.is(table.size, 2, 'SO_REUSEPORT listeners on one tuple stay apart');
	play(table, [[LISTEN, CLOSE, 500, {...listener, sock: 1}]]);
	t.is(table.countInState(LISTEN), 1);
	t.is(table.countInState(CLOSE), 1);
	table.sweep(2500);
	t.is(table.size, 1);
});

test('a refused connect ends quickly in CLOSE marked refused and counts as a failed connect', t => {
	const table = new ConnectionTable({lingerMs: 3000});
	play(table, [
		[CLOSE, SYN_SENT, 1000, connecting],
		[SYN_SENT, CLOSE, 1000.3, {pid: 0}],
	]);
	const connection = table.find({netns: 4_026_531_840, ...client})!;
	t.is(connection.state, CLOSE);
	t.is(connection.ending, Ending.refused);
	t.is(table.rates.seriesTotal(RateSeries.failedConnects), 1);
	t.is(table.rates.seriesTotal(RateSeries.opened), 1);

	table.sweep(3999);
	t.is(table.size, 1, 'lingers, visible as closed');
	table.sweep(4000.3);
	t.is(table.size, 0);
	t.is(table.countInState(CLOSE), 0);
});

test('a connect that stays in SYN_SENT past the first retransmission ends as timed out', t => {
	const table = new ConnectionTable();
	play(table, [[CLOSE, SYN_SENT, 0, connecting], [SYN_SENT, CLOSE, 127_000]]);
	t.is(table.find({netns: 4_026_531_840, ...client})!.ending, Ending.timedOut);
});

function reset(fields: Partial<Reset> & {state: number; sent: boolean; monoMs: number}): Reset {
	return {wallMs: 0, sock: 0xA1, netns: 4_026_531_840, pid: 0, comm: 'swapper/0', family: 4, ...client, ...fields};
}

test('a reset received in SYN_SENT makes a failed connect refused, however long it waited', t => {
	const table = new ConnectionTable();
	play(table, [[CLOSE, SYN_SENT, 0, connecting]]);
	table.applyReset(reset({state: SYN_SENT, sent: false, monoMs: 3000}));
	play(table, [[SYN_SENT, CLOSE, 3000]]);
	t.is(table.find({netns: 4_026_531_840, ...client})!.ending, Ending.refused);
});

test('an abort\'s reset, sent just after the change to CLOSE, makes the ending reset-sent', t => {
	const table = new ConnectionTable();
	play(table, [
		[CLOSE, SYN_SENT, 0, connecting],
		[SYN_SENT, ESTABLISHED, 1],
		// Taken from softirq context, the close alone would read as a reset received.
		[ESTABLISHED, CLOSE, 50, {pid: 0}],
	]);
	const found = () => table.find({netns: 4_026_531_840, ...client})!;
	t.is(found().ending, Ending.resetReceived);
	table.applyReset(reset({state: CLOSE, sent: true, monoMs: 50}));
	t.is(found().ending, Ending.resetSent);
	t.is(table.rates.seriesTotal(RateSeries.resets), 1);
});

test('a reset for a connection the table does not hold changes nothing', t => {
	const table = new ConnectionTable();
	table.applyReset(reset({state: ESTABLISHED, sent: false, monoMs: 0}));
	t.is(table.size, 0);
});

test('a connect that fails before getting a port ends without leaving a port-0 entry behind', t => {
	const table = new ConnectionTable({lingerMs: 10});
	play(table, [[CLOSE, SYN_SENT, 0, connecting], [SYN_SENT, CLOSE, 1, {lport: 0}]]);
	t.is(table.size, 1);
	table.sweep(11);
	t.is(table.size, 0);
	play(table, [[CLOSE, SYN_SENT, 20, connecting], [SYN_SENT, ESTABLISHED, 21]]);
	t.is(table.size, 1, 'the next connect on the same socket address joins normally');
	t.is(table.find({netns: 4_026_531_840, ...client})!.state, ESTABLISHED);
});

test('a reset close skips TIME_WAIT; who was on the CPU tells sent from received', t => {
	const table = new ConnectionTable();
	play(table, [
		[CLOSE, SYN_SENT, 0, connecting],
		[SYN_SENT, ESTABLISHED, 1],
		[ESTABLISHED, CLOSE, 50, {pid: 4242, comm: 'curl'}],
	]);
	const sent = table.find({netns: 4_026_531_840, ...client})!;
	t.is(sent.state, CLOSE);
	t.is(sent.ending, Ending.resetSent);
	t.is(table.countInState(TIME_WAIT), 0);

	const other = {...client, lport: 40_001, sock: 0xA2};
	play(table, [
		[CLOSE, SYN_SENT, 100, {...connecting, sock: 0xA2}],
		[SYN_SENT, ESTABLISHED, 101],
		[ESTABLISHED, CLOSE, 150, {pid: 0}],
	], other);
	t.is(table.find({netns: 4_026_531_840, ...other})!.ending, Ending.resetReceived);
	t.is(table.rates.seriesTotal(RateSeries.resets), 2);
});

test('a reused tuple starts a fresh lifecycle instead of continuing the old one', t => {
	const table = new ConnectionTable();
	play(table, [
		[CLOSE, SYN_SENT, 0, connecting],
		[SYN_SENT, ESTABLISHED, 1],
		[ESTABLISHED, FIN_WAIT1, 2, {pid: 4242}],
		[FIN_WAIT1, FIN_WAIT2, 3],
		[FIN_WAIT2, CLOSE, 4],
	]);
	t.is(table.countInState(TIME_WAIT), 1);
	play(table, [
		[CLOSE, SYN_SENT, 1000, {pid: 5151, comm: 'wget', lport: 0, sock: 0xA9}],
		[SYN_SENT, ESTABLISHED, 1001, {sock: 0xA9}],
	]);
	t.is(table.size, 1);
	t.is(table.countInState(TIME_WAIT), 0, 'the timewait socket is replaced, as the kernel does');
	const connection = table.find({netns: 4_026_531_840, ...client})!;
	t.is(connection.firstSeenMs, 1000);
	t.is(connection.transitionCount, 2);
	t.is(connection.pid, 5151);
	t.is(connection.ending, Ending.open);

	table.sweep(60_004);
	t.is(table.size, 1, 'the old TIME_WAIT deadline does not remove the new connection');
});

test('a passive open on a lingering tuple starts afresh', t => {
	const table = new ConnectionTable();
	play(table, [
		[LISTEN, SYN_RECV, 0],
		[SYN_RECV, ESTABLISHED, 1],
		[ESTABLISHED, CLOSE, 2],
		[LISTEN, SYN_RECV, 3],
	], server);
	const connection = table.find({netns: 4_026_531_840, ...server})!;
	t.is(connection.state, SYN_RECV);
	t.is(connection.transitionCount, 1);
	t.is(table.countInState(CLOSE), 0);
});

test('a mid-life connection seen for the first time is tracked with unknown direction', t => {
	const table = new ConnectionTable();
	play(table, [[ESTABLISHED, FIN_WAIT1, 10_000, {ms: 9000, pid: 31, comm: 'app'}]]);
	const connection = table.find({netns: 4_026_531_840, ...client})!;
	t.is(connection.direction, Direction.unknown);
	t.is(connection.state, FIN_WAIT1);
	t.is(connection.pid, 31);
	t.deepEqual(connection.history, [{from: ESTABLISHED, to: FIN_WAIT1, ms: 9000}]);
});

test('identical tuples in different network namespaces stay apart', t => {
	const table = new ConnectionTable();
	play(table, [[SYN_RECV, ESTABLISHED, 0, {netns: 1}], [SYN_RECV, ESTABLISHED, 0, {netns: 2}]]);
	t.is(table.size, 2);
	t.is(table.find({netns: 2, ...client})!.netns, 2);
});

test('the table is bounded: the least recently active connection is evicted and counted', t => {
	const table = new ConnectionTable({maxConnections: 3});
	for (let port = 1; port <= 3; port++) {
		play(table, [[SYN_RECV, ESTABLISHED, port, {lport: port}]]);
	}

	play(table, [[ESTABLISHED, CLOSE_WAIT, 10, {lport: 1}]]);
	play(table, [[SYN_RECV, ESTABLISHED, 11, {lport: 4}]]);
	t.is(table.size, 3);
	t.is(table.evictions, 1);
	t.is(table.find({netns: 4_026_531_840, ...client, lport: 2}), undefined, 'port 2 was the least recently active');
	t.truthy(table.find({netns: 4_026_531_840, ...client, lport: 1}));
	t.is(table.countInState(ESTABLISHED), 2);
	t.is(table.countInState(CLOSE_WAIT), 1);

	for (let port = 5; port < 1005; port++) {
		play(table, [[CLOSE, SYN_SENT, port, {lport: 0, sock: port}], [SYN_SENT, ESTABLISHED, port, {lport: port, sock: port}]]);
	}

	t.is(table.size, 3);
	t.is(table.evictions, 1001);
	let established = 0;
	table.forEach(connection => {
		established += connection.state === ESTABLISHED ? 1 : 0;
	});
	t.is(established, 3);
	t.is(table.countInState(ESTABLISHED), 3);
	t.is(table.countInState(SYN_SENT), 0);
});

test('stuck connections are flagged once their state outlasts its threshold', t => {
	const table = new ConnectionTable({stuckAfterMs: {[CLOSE_WAIT]: 1000}});
	play(table, [[ESTABLISHED, CLOSE_WAIT, 0]]);
	play(table, [[SYN_RECV, ESTABLISHED, 0, {lport: 2}]]);
	const connection = table.find({netns: 4_026_531_840, ...client})!;
	t.false(table.isStuck(connection, 999));
	t.true(table.isStuck(connection, 1000));
	t.is(stuckRows(table, 5000), 1, 'ESTABLISHED never counts as stuck');
});

test('the default stuck policy flags a SYN_SENT that is not answered within 3 s', t => {
	const table = new ConnectionTable();
	play(table, [[CLOSE, SYN_SENT, 0, connecting]]);
	t.is(stuckRows(table, 2999), 0);
	t.is(stuckRows(table, 3000), 1);
});

test('the start-up snapshot adds existing sockets without overriding what events said', t => {
	const table = new ConnectionTable({timeWaitMs: 60_000});
	play(table, [[SYN_RECV, ESTABLISHED, 0]]);
	const tuple = {netns: 4_026_531_840, ...client};
	table.upsertFromSnapshot({...tuple, sock: 1, family: 4, state: CLOSE_WAIT, pid: 12, comm: 'java', monoMs: 5});
	const known = table.find(tuple)!;
	t.is(known.state, ESTABLISHED);
	t.is(known.pid, 12, 'but fills an unknown owner');
	t.is(known.ownerSource, OwnerSource.snapshot);

	const waiting = {...tuple, lport: 50_000};
	table.upsertFromSnapshot({...waiting, sock: 2, family: 4, state: TIME_WAIT, pid: 0, comm: '', monoMs: 10});
	t.is(table.countInState(TIME_WAIT), 1);
	table.sweep(60_010);
	t.is(table.find(waiting), undefined, 'a TIME_WAIT from the snapshot expires too');

	table.upsertFromSnapshot({...tuple, laddr: '0.0.0.0', lport: 22, raddr: '0.0.0.0', rport: 0, sock: 3, family: 4, state: LISTEN, pid: 1, comm: 'sshd', monoMs: 10});
	play(table, [[LISTEN, SYN_RECV, 20, {laddr: '10.0.0.2', lport: 22, raddr: '10.0.0.9', rport: 5555}]]);
	t.is(table.find({...tuple, laddr: '10.0.0.2', lport: 22, raddr: '10.0.0.9', rport: 5555})!.comm, 'sshd');
});

test('counters passes fill bytes, RTT, retransmits and per-second rates', t => {
	const table = new ConnectionTable();
	play(table, [[SYN_RECV, ESTABLISHED, 0]]);
	const tuple = {netns: 4_026_531_840, ...client};
	const connection = table.find(tuple)!;
	t.is(connection.bytesAcked, undefined);
	const sampled = (monoMs: number, figures: SocketFigures, fields: Partial<ExistingSocket> = {}): ExistingSocket =>
		({monoMs, wallMs: 0, sock: 0xA1, family: 4, ...tuple, state: ESTABLISHED, pid: 0, comm: '', figures, ...fields});
	const counters = (monoMs: number, sockets: ExistingSocket[]): SocketPass =>
		({monoMs, wallMs: 0, sockets, namespaces: [tuple.netns], owners: false, complete: false});
	table.applyPass(counters(1000, [sampled(1000, {bytesAcked: 1000, bytesReceived: 500, srttUs: 250, retransmits: 0})]));
	t.is(connection.bytesAcked, 1000);
	t.is(connection.txBytesPerSec, undefined, 'a rate needs two samples');
	table.applyPass(counters(3000, [
		sampled(3000, {bytesAcked: 5000, bytesReceived: 2500, srttUs: 300, retransmits: 2}),
		sampled(3000, {bytesAcked: 0, bytesReceived: 0, srttUs: 0, retransmits: 0}, {sock: 0xB2, lport: 1}),
	]));
	t.is(connection.txBytesPerSec, 2000);
	t.is(connection.rxBytesPerSec, 1000);
	t.is(connection.srttUs, 300);
	t.is(connection.retransmits, 2);
	t.is(table.size, 1, 'a socket the table does not hold is not added');
	t.is(table.find({...tuple, lport: 1}), undefined);
});

test('state counts list the states with sockets in lifecycle order, ESTABLISHED always', t => {
	const table = new ConnectionTable();
	t.deepEqual(table.stateCounts(), [{state: ESTABLISHED, count: 0}]);
	play(table, [[CLOSE, LISTEN, 0, {lport: 22, raddr: '0.0.0.0', rport: 0, sock: 1}]]);
	play(table, [[ESTABLISHED, CLOSE_WAIT, 0, {lport: 2, sock: 2}]]);
	play(table, [[CLOSE, SYN_SENT, 0, {...connecting, sock: 3}]]);
	play(table, [[SYN_RECV, ESTABLISHED, 0, {lport: 4, sock: 4}], [ESTABLISHED, CLOSE, 5, {lport: 4, sock: 4}]]);
	t.deepEqual(table.stateCounts(), [
		{state: ESTABLISHED, count: 0}, {state: SYN_SENT, count: 1}, {state: CLOSE_WAIT, count: 1}, {state: LISTEN, count: 1}, {state: CLOSE, count: 1},
	]);
});

test('lost events count into the rates', t => {
	const table = new ConnectionTable();
	table.recordLost(7, 1500);
	table.sweep(2000);
	t.is(table.rates.seriesRate(RateSeries.lost, 1), 7);
});
