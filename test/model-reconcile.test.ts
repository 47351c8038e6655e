// Socket passes and accept() owners in the connection table: counters, reconciliation with
// what the kernel holds, and who owns a passive connection.
import test from 'ava';
import type {SocketPass, SourceHandlers} from '../src/core/source.js';
import {TcpState, type ExistingSocket, type SocketFigures, type Transition} from '../src/core/transition.js';
import {columnByKey} from '../src/model/columns.js';
import {ConnectionTable} from '../src/model/connection-table.js';
import {Ending, OwnerSource, type Connection} from '../src/model/connection.js';
import {feedTable} from '../src/model/feed-table.js';
import {RateSeries} from '../src/model/transition-rates.js';
import {connectionDetail} from '../src/ui/connection-detail.js';

const {CLOSE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE_WAIT, LISTEN} = TcpState;
const netns = 4_026_531_840;
const client = {laddr: '10.0.0.1', lport: 40_000, raddr: '10.0.0.2', rport: 443};
const server = {laddr: '10.0.0.2', lport: 443, raddr: '10.0.0.1', rport: 40_000};

function transition(fields: Partial<Transition> & {oldstate: number; newstate: number; monoMs: number}): Transition {
	return {wallMs: 0, sock: 0xA1, netns, pid: 0, tid: 0, comm: 'swapper/0', family: 4, ...client, ms: null, ...fields};
}

function socket(fields: Partial<ExistingSocket> & {state: number}): ExistingSocket {
	return {monoMs: 0, wallMs: 0, sock: 0xA1, netns, family: 4, ...client, pid: 0, comm: '', figures: undefined, ...fields};
}

function pass(monoMs: number, sockets: ExistingSocket[], inNetns = netns): SocketPass {
	return {monoMs, wallMs: 0, sockets, namespaces: [inNetns], owners: false, complete: true};
}

function figures(bytesAcked: number, bytesReceived: number): SocketFigures {
	return {bytesAcked, bytesReceived, srttUs: 120, retransmits: 2};
}

/** An established client connection, opened at 1000 ms by curl. */
function established(table: ConnectionTable): void {
	table.apply(transition({oldstate: CLOSE, newstate: SYN_SENT, monoMs: 1000, pid: 4242, comm: 'curl'}));
	table.apply(transition({oldstate: SYN_SENT, newstate: ESTABLISHED, monoMs: 1001}));
}

test('passes give counters and the transfer rates between two of them', t => {
	const table = new ConnectionTable();
	established(table);
	table.applyPass(pass(2000, [socket({state: ESTABLISHED, figures: figures(1001, 0)})]));
	const connection = table.find({netns, ...client})!;
	t.is(connection.bytesAcked, 1001);
	t.is(connection.txBytesPerSec, undefined, 'one sample makes no rate');
	t.is(connection.srttUs, 120);
	table.applyPass(pass(4000, [socket({state: ESTABLISHED, figures: figures(1_001_001, 300_000)})]));
	t.is(table.find({netns, ...client})!.txBytesPerSec, 500_000);
	t.is(table.find({netns, ...client})!.rxBytesPerSec, 150_000);
	t.is(table.find({netns, ...client})!.retransmits, 2);
	t.is(table.reconciled, 0);
	table.applyPass(pass(5000, [socket({state: ESTABLISHED, figures: {...figures(1_001_001, 300_000), srttUs: 0}})]));
	t.is(table.find({netns, ...client})!.srttUs, undefined, 'no RTT measured yet is not an RTT of 0');
});

test('a counters pass leaves out what did not change: its rates read 0, and the next change is over one interval', t => {
	const table = new ConnectionTable();
	established(table);
	const counters = (monoMs: number, sockets: ExistingSocket[]): SocketPass => ({...pass(monoMs, sockets), complete: false});
	table.applyPass(pass(2000, [socket({state: ESTABLISHED, figures: figures(1000, 0)})]));
	table.applyPass(counters(3000, [socket({state: ESTABLISHED, figures: figures(5000, 0)})]));
	const connection = table.find({netns, ...client})!;
	t.is(connection.txBytesPerSec, 4000);
	table.applyPass(counters(4000, []));
	t.is(connection.txBytesPerSec, 0, 'left out: nothing sent since the pass before');
	t.is(connection.bytesAcked, 5000, 'the counters stay');
	table.applyPass(counters(5000, []));
	table.applyPass(counters(6000, [socket({state: ESTABLISHED, figures: figures(8000, 0)})]));
	t.is(connection.txBytesPerSec, 3000, 'sent between the passes at 5 and 6 s, not spread since the sample at 3 s');
});

test('a connect still waiting for its port takes it from a pass, keeping its owner and history', t => {
	for (const complete of [false, true]) {
		const table = new ConnectionTable();
		table.apply(transition({oldstate: CLOSE, newstate: SYN_SENT, monoMs: 1000, lport: 0, pid: 4242, comm: 'curl'}));
		t.is(table.find({netns, ...client}), undefined, 'no port yet');
		table.applyPass({...pass(2000, [socket({state: SYN_SENT, figures: figures(0, 0)})]), complete});
		const connection = table.find({netns, ...client})!;
		t.is(connection?.lport, client.lport, complete ? 'from a complete pass' : 'from a counters pass');
		t.like(connection, {state: SYN_SENT, pid: 4242, comm: 'curl', transitionCount: 1});
		table.apply(transition({oldstate: SYN_SENT, newstate: ESTABLISHED, monoMs: 3000}));
		t.like(table.find({netns, ...client}), {state: ESTABLISHED, pid: 4242, transitionCount: 2});
		t.is(table.size, 1, 'one row throughout');
	}
});

test('a socket the stream missed is added when two passes in a row find it, age shown as a lower bound', t => {
	const table = new ConnectionTable();
	const missed = socket({...server, state: CLOSE_WAIT});
	table.applyPass(pass(2000, [missed]));
	t.is(table.size, 0, 'its opening may still be on the way');
	table.applyPass(pass(3000, [missed]));
	const connection = table.find({netns, ...server})!;
	t.is(connection.state, CLOSE_WAIT);
	t.true(connection.ageIsLowerBound);
	t.true(connection.inStateIsLowerBound);
	t.is(table.countInState(CLOSE_WAIT), 1);
	t.is(table.reconciled, 1);
});

test('a socket whose opening arrives after the pass that found it is not added twice', t => {
	const table = new ConnectionTable();
	table.applyPass(pass(2000, [socket({state: ESTABLISHED})]));
	established(table);
	table.applyPass(pass(3000, [socket({state: ESTABLISHED})]));
	t.is(table.size, 1);
	t.false(table.find({netns, ...client})!.ageIsLowerBound, 'seen opening: its age is exact');
	t.is(table.reconciled, 0);
});

test('a row the kernel no longer has is removed after two passes; a TIME_WAIT expiring is not counted as missed', t => {
	const table = new ConnectionTable();
	established(table);
	table.apply(transition({...server, sock: 0xC1, oldstate: LISTEN, newstate: SYN_RECV, monoMs: 1100}));
	table.apply(transition({...server, sock: 0xC1, oldstate: SYN_RECV, newstate: ESTABLISHED, monoMs: 1101}));
	table.apply(transition({...server, sock: 0xC1, oldstate: ESTABLISHED, newstate: FIN_WAIT1, monoMs: 1200}));
	table.apply(transition({...server, sock: 0xC1, oldstate: FIN_WAIT1, newstate: FIN_WAIT2, monoMs: 1201}));
	table.apply(transition({...server, sock: 0xC1, oldstate: FIN_WAIT2, newstate: CLOSE, monoMs: 1202}));
	t.is(table.find({netns, ...server})!.state, TIME_WAIT);

	const both = [socket({state: ESTABLISHED}), socket({...server, state: TIME_WAIT})];
	table.applyPass(pass(2000, both));
	table.applyPass(pass(3000, both));
	t.is(table.size, 2);
	table.applyPass(pass(4000, []));
	t.is(table.size, 2, 'one pass without them is not enough');
	table.applyPass(pass(5000, []));
	t.is(table.size, 0);
	t.is(table.countInState(TIME_WAIT), 0);
	t.is(table.countInState(ESTABLISHED), 0);
	t.is(table.reconciled, 1, 'the established row\'s end was missed; the TIME_WAIT expired as expected');
});

test('a row that changed between passes is not taken for gone', t => {
	const table = new ConnectionTable();
	established(table);
	table.applyPass(pass(2000, []));
	table.apply(transition({oldstate: ESTABLISHED, newstate: FIN_WAIT1, monoMs: 2500, pid: 4242}));
	table.applyPass(pass(3000, []));
	t.is(table.find({netns, ...client})?.state, FIN_WAIT1);
});

test('a row in another state than the kernel\'s moves to it when two passes agree', t => {
	const table = new ConnectionTable();
	established(table);
	table.applyPass(pass(2000, [socket({state: CLOSE_WAIT})]));
	t.is(table.find({netns, ...client})!.state, ESTABLISHED, 'the change may still be on the way');
	table.applyPass(pass(3000, [socket({state: CLOSE_WAIT})]));
	const connection = table.find({netns, ...client})!;
	t.is(connection.state, CLOSE_WAIT);
	t.is(connection.stateSinceMs, 3000);
	t.is(table.countInState(ESTABLISHED), 0);
	t.is(table.countInState(CLOSE_WAIT), 1);
	t.is(table.reconciled, 1);
});

test('a closer shown in TIME_WAIT moves to FIN_WAIT2 when passes find it an orphan whose peer has not closed', t => {
	const table = new ConnectionTable();
	established(table);
	table.apply(transition({oldstate: ESTABLISHED, newstate: FIN_WAIT1, monoMs: 1500}));
	table.apply(transition({oldstate: FIN_WAIT1, newstate: FIN_WAIT2, monoMs: 1501}));
	table.apply(transition({oldstate: FIN_WAIT2, newstate: CLOSE, monoMs: 1600}));
	t.is(table.find({netns, ...client})!.state, TIME_WAIT);
	// A timewait socket (another kernel object) in sub-state FIN_WAIT2: no counters.
	const orphan = socket({sock: 0xF0, state: FIN_WAIT2});
	table.applyPass(pass(2000, [orphan]));
	table.applyPass(pass(3000, [orphan]));
	t.like(table.find({netns, ...client}), {state: FIN_WAIT2, pid: 4242, comm: 'curl'}, 'the same row, its owner kept');
	table.sweep(1600 + 61_000);
	t.is(table.find({netns, ...client})?.state, FIN_WAIT2, 'no longer expires as a TIME_WAIT');
	// Its peer closes: the kernel's sub-state becomes TIME_WAIT, and so does the row.
	table.applyPass(pass(70_000, [{...orphan, state: TIME_WAIT}]));
	table.applyPass(pass(71_000, [{...orphan, state: TIME_WAIT}]));
	t.is(table.find({netns, ...client})!.state, TIME_WAIT);
	t.is(table.size, 1);
});

test('passes leave alone other namespaces, lingering closed rows and connects waiting for a port', t => {
	const table = new ConnectionTable();
	table.apply(transition({oldstate: ESTABLISHED, newstate: CLOSE_WAIT, monoMs: 1000, netns: 7}));
	table.apply(transition({...server, oldstate: SYN_RECV, newstate: CLOSE, monoMs: 1000}));
	table.apply(transition({sock: 0xD1, lport: 0, rport: 8080, oldstate: CLOSE, newstate: SYN_SENT, monoMs: 1000, pid: 1}));
	const before = table.size;
	t.is(before, 3);
	table.applyPass(pass(2000, []));
	table.applyPass(pass(2500, []));
	t.is(table.size, before);
	t.is(table.reconciled, 0);
});

test('the accepting process owns a passive connection, over the listener\'s owner but not over a snapshot\'s', t => {
	const table = new ConnectionTable();
	table.apply(transition({...server, sock: 0xE0, raddr: '0.0.0.0', rport: 0, oldstate: CLOSE, newstate: LISTEN, monoMs: 900, pid: 100, comm: 'master'}));
	table.apply(transition({...server, oldstate: LISTEN, newstate: SYN_RECV, monoMs: 1000, pid: 4242, comm: 'curl'}));
	table.apply(transition({...server, oldstate: SYN_RECV, newstate: ESTABLISHED, monoMs: 1001, pid: 4242, comm: 'curl'}));
	t.like(table.find({netns, ...server}), {pid: 100, comm: 'master', ownerSource: OwnerSource.listener});
	const accepted = {monoMs: 1002, wallMs: 0, sock: 0xA1, netns, family: 4 as const, ...server, tid: 101};
	table.applyAccepted({...accepted, pid: 0, comm: 'swapper/0'});
	t.is(table.find({netns, ...server})!.pid, 100, 'pid 0 is never an owner');
	table.applyAccepted({...accepted, pid: 101, comm: 'worker'});
	t.like(table.find({netns, ...server}), {pid: 101, comm: 'worker', ownerSource: OwnerSource.accept});

	const snapshot = new ConnectionTable();
	snapshot.upsertFromSnapshot({...socket({...server, state: ESTABLISHED, pid: 100, comm: 'master'})});
	snapshot.applyAccepted({...accepted, pid: 101, comm: 'worker'});
	t.like(snapshot.find({netns, ...server}), {pid: 100, ownerSource: OwnerSource.snapshot});
});

test('a pass of full sockets only gives counters and reconciles nothing', t => {
	const table = new ConnectionTable();
	established(table);
	const countersOnly = (monoMs: number, sockets: ExistingSocket[]) => ({...pass(monoMs, sockets), complete: false});
	table.applyPass(countersOnly(2000, [socket({...server, state: CLOSE_WAIT})]));
	table.applyPass(countersOnly(3000, [socket({...server, state: CLOSE_WAIT}), socket({state: ESTABLISHED, figures: figures(10, 20)})]));
	t.is(table.size, 1, 'neither added nor removed');
	t.is(table.find({netns, ...client})!.bytesReceived, 20);
	t.is(table.reconciled, 0);
});

test('a complete pass names the process holding an accepted connection, over the listener\'s owner only', t => {
	const table = new ConnectionTable();
	table.apply(transition({...server, sock: 0xE0, raddr: '0.0.0.0', rport: 0, oldstate: CLOSE, newstate: LISTEN, monoMs: 900, pid: 100, comm: 'master'}));
	table.apply(transition({...server, sock: 0xB1, oldstate: LISTEN, newstate: SYN_RECV, monoMs: 1000}));
	table.apply(transition({...server, sock: 0xB1, oldstate: SYN_RECV, newstate: ESTABLISHED, monoMs: 1001}));
	established(table);
	const holders = [socket({...server, sock: 0xB1, state: ESTABLISHED, pid: 101, comm: 'worker'}), socket({state: ESTABLISHED, pid: 999, comm: 'other'})];
	table.applyPass({...pass(2000, holders), complete: false, owners: false});
	t.like(table.find({netns, ...server}), {pid: 100, ownerSource: OwnerSource.listener}, 'a counters pass names nobody');
	table.applyPass({...pass(3000, holders), owners: true});
	t.like(table.find({netns, ...server}), {pid: 101, comm: 'worker', ownerSource: OwnerSource.holder});
	t.like(table.find({netns, ...client}), {pid: 4242, comm: 'curl', ownerSource: OwnerSource.connect}, 'the connect()er stays');
});

test('a start-up snapshot larger than the table keeps the listeners and connections, losing TIME_WAITs first', t => {
	const table = new ConnectionTable({maxConnections: 4});
	const sockets = [
		socket({sock: 1, lport: 443, raddr: '0.0.0.0', rport: 0, state: LISTEN}),
		...Array.from({length: 5}, (_, index) => socket({sock: 10 + index, rport: 50_000 + index, state: TIME_WAIT})),
		socket({sock: 2, ...server, state: ESTABLISHED}),
		socket({sock: 3, ...client, state: CLOSE_WAIT}),
	];
	const source = {
		start(handlers: SourceHandlers) {
			handlers.snapshot!(pass(1000, sockets));
		},
		stop: async () => {},
	};
	feedTable(source, table, () => 1000, () => {});
	const rows = new Map<number, number>();
	table.forEach(connection => rows.set(connection.state, (rows.get(connection.state) ?? 0) + 1));
	t.deepEqual([...rows].sort(([a], [b]) => a - b), [[ESTABLISHED, 1], [TIME_WAIT, 1], [CLOSE_WAIT, 1], [LISTEN, 1]]);
	t.is(table.evictions, 4);
	t.is(table.countInState(TIME_WAIT), 5, 'the host\'s count: rows evicted or not');
});

test('passes do not bring back what a full table evicted', t => {
	const table = new ConnectionTable({maxConnections: 2});
	const sockets = Array.from({length: 4}, (_, index) => socket({sock: 20 + index, rport: 51_000 + index, state: ESTABLISHED}));
	for (const existing of sockets) {
		table.upsertFromSnapshot(existing);
	}

	t.is(table.evictions, 2);
	table.applyPass(pass(2000, sockets));
	table.applyPass(pass(3000, sockets));
	t.is(table.size, 2);
	t.is(table.evictions, 2, 'no churn: the evicted stay out');
	t.is(table.reconciled, 0);
});

test('a close whose peer had not closed leaves an orphan in FIN_WAIT2, not TIME_WAIT, gone after tcp_fin_timeout', t => {
	const table = new ConnectionTable({finTimeoutMs: 30_000});
	established(table);
	table.apply(transition({oldstate: ESTABLISHED, newstate: FIN_WAIT1, monoMs: 1500, pid: 4242, comm: 'curl'}));
	table.apply(transition({oldstate: FIN_WAIT1, newstate: FIN_WAIT2, monoMs: 1501}));
	table.apply(transition({oldstate: FIN_WAIT2, newstate: CLOSE, monoMs: 1600, orphaned: true}));
	t.like(table.find({netns, ...client}), {state: FIN_WAIT2, ending: Ending.orphaned, pid: 4242});
	t.is(table.countInState(FIN_WAIT2), 1);
	t.is(table.countInState(TIME_WAIT), 0);
	// Its socket is gone: a new socket at the same address starts a row of its own.
	table.apply(transition({oldstate: CLOSE, newstate: SYN_SENT, monoMs: 2000, lport: 0, rport: 80, pid: 7, comm: 'wget'}));
	table.apply(transition({oldstate: SYN_SENT, newstate: ESTABLISHED, monoMs: 2001, lport: 40_001, rport: 80}));
	t.is(table.find({netns, ...client})?.state, FIN_WAIT2, 'the orphan is untouched');
	t.is(table.find({netns, ...client, lport: 40_001, rport: 80})?.pid, 7);
	// A full socket a pass finds at that address is the new one, not the orphan.
	table.applyPass({...pass(2500, [socket({lport: 40_001, rport: 80, state: FIN_WAIT1, figures: figures(10, 0)})]), complete: false});
	t.like(table.find({netns, ...client}), {state: FIN_WAIT2, bytesAcked: undefined});
	table.sweep(1600 + 29_000);
	t.is(table.find({netns, ...client})?.state, FIN_WAIT2);
	table.sweep(1600 + 30_000);
	t.is(table.find({netns, ...client}), undefined, 'tcp_fin_timeout is over');
});

test('an orphan whose peer closes at last is TIME_WAIT once two passes find it so; one reset by the kernel is closed', t => {
	const table = new ConnectionTable();
	established(table);
	table.apply(transition({oldstate: ESTABLISHED, newstate: FIN_WAIT1, monoMs: 1500}));
	table.apply(transition({oldstate: FIN_WAIT1, newstate: FIN_WAIT2, monoMs: 1501}));
	table.apply(transition({oldstate: FIN_WAIT2, newstate: CLOSE, monoMs: 1600, orphaned: true}));
	const timeWait = socket({sock: 0xF0, state: TIME_WAIT});
	table.applyPass(pass(2000, [timeWait]));
	t.is(table.find({netns, ...client})!.state, FIN_WAIT2, 'the change may still be on the way');
	table.applyPass(pass(3000, [timeWait]));
	t.like(table.find({netns, ...client}), {state: TIME_WAIT, ending: Ending.fin});

	// tcp_fin_timeout 0 or less: the kernel resets the peer instead of keeping an orphan.
	const other = {lport: 40_002, sock: 0xB2};
	table.apply(transition({...other, oldstate: CLOSE, newstate: SYN_SENT, monoMs: 4000}));
	table.apply(transition({...other, oldstate: SYN_SENT, newstate: ESTABLISHED, monoMs: 4001}));
	table.apply(transition({...other, oldstate: ESTABLISHED, newstate: FIN_WAIT1, monoMs: 4100}));
	table.apply(transition({...other, oldstate: FIN_WAIT1, newstate: FIN_WAIT2, monoMs: 4101}));
	table.applyReset({...transition({...other, oldstate: FIN_WAIT2, newstate: FIN_WAIT2, monoMs: 4200}), state: FIN_WAIT2, sent: true});
	table.apply(transition({...other, oldstate: FIN_WAIT2, newstate: CLOSE, monoMs: 4200, orphaned: true}));
	t.like(table.find({netns, ...client, lport: 40_002}), {state: CLOSE, ending: Ending.resetSent});
});

test('a listener\'s queue from passes: drops since first seen and lately, trouble when full or dropping, its column', t => {
	const table = new ConnectionTable();
	const listening = {sock: 0xB1, laddr: '0.0.0.0', lport: 8080, raddr: '0.0.0.0', rport: 0};
	const queue = (acceptQueue: number, drops: number) => ({acceptQueue, acceptBacklog: 4, synQueue: 1, drops});
	const counters = (monoMs: number, sockets: ExistingSocket[]): SocketPass => ({...pass(monoMs, sockets), complete: false});
	const quiet = {listenOverflows: 900, listenDrops: 1000, retransmits: 50, synRetransmits: 5};
	table.loadSnapshot({...pass(1000, [socket({state: LISTEN, ...listening, queue: queue(2, 40), monoMs: 1000})]), netCounters: quiet});
	const row = () => {
		let found: {text: string; queue: unknown; trouble: boolean} | undefined;
		table.forEach(connection => {
			found = {text: columnByKey('queue')!.format(connection, 0), queue: connection.queue, trouble: table.isStuck(connection, 0)};
		});
		return found!;
	};

	t.like(row(), {text: '2/4', queue: {acceptQueue: 2, acceptBacklog: 4, synQueue: 1, drops: 0, dropsPerSec: 0, full: false}, trouble: false});
	// A counters pass lists listeners every time.
	table.applyPass({...counters(3000, [socket({state: LISTEN, ...listening, queue: queue(5, 46)})]), netCounters: {listenOverflows: 905, listenDrops: 1006, retransmits: 50, synRetransmits: 5}});
	t.like(row(), {text: '5/4 !6', queue: {acceptQueue: 5, drops: 6, dropsPerSec: 3, full: true}, trouble: true});
	table.applyPass({...counters(4000, [socket({state: LISTEN, ...listening, queue: queue(3, 46)})]), netCounters: {listenOverflows: 905, listenDrops: 1006, retransmits: 50, synRetransmits: 5}});
	t.like(row(), {text: '3/4 !6', queue: {dropsPerSec: 0, full: false}, trouble: false}, 'neither full nor dropping now');
	t.deepEqual((row().queue as {dropsHistory: number[]}).dropsHistory, [6, 0], 'the drops between each pass and the one before');
	const listenerRow = () => {
		let found: Connection | undefined;
		table.forEach(connection => {
			found ??= connection.state === LISTEN ? table.view(connection.slot) : undefined;
		});
		return found!;
	};

	t.regex(connectionDetail(listenerRow(), 4000, false).fields.find(field => field.label === 'drop history')!.value, /^▕█ ▏ the last 2 walks/);
	// The namespace's counters, counted from the first pass that had them.
	t.is(table.rates.seriesTotal(RateSeries.listenDrops), 6);
	t.is(table.rates.seriesTotal(RateSeries.listenOverflows), 5);
	// Other rows have none.
	table.apply(transition({oldstate: CLOSE, newstate: SYN_SENT, monoMs: 4500}));
	let other: unknown = 'unset';
	table.forEach(connection => {
		if (connection.state === SYN_SENT) {
			other = connection.queue;
		}
	});
	t.is(other, undefined);
});

test('a listeners pass between two passes of the connections leaves their rates as those passes found them', t => {
	const table = new ConnectionTable();
	established(table);
	const counters = (monoMs: number, sockets: ExistingSocket[]): SocketPass => ({...pass(monoMs, sockets), complete: false});
	table.applyPass(pass(2000, [socket({state: ESTABLISHED, figures: figures(1000, 0)})]));
	table.applyPass(counters(3000, [socket({state: ESTABLISHED, figures: figures(5000, 0)})]));
	const listening = {sock: 0xB1, laddr: '0.0.0.0', lport: 8080, raddr: '0.0.0.0', rport: 0};
	table.applyPass({...counters(3500, [socket({state: LISTEN, ...listening, queue: {acceptQueue: 1, acceptBacklog: 4, synQueue: 0, drops: 0}})]), listenersOnly: true});
	t.is(table.find({netns, ...client})!.txBytesPerSec, 4000, 'not taken for a pass that left the connection out');
	// Without the mark it would be: the connection was left out of a pass of the connections.
	table.applyPass(counters(4000, []));
	t.is(table.find({netns, ...client})!.txBytesPerSec, 0);
});
