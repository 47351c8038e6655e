// Batch mode's documents from a table fed through feedTable by a source the test drives: the
// figures of each interval, the connection fields, and the text layout.
import test from 'ava';
import {finishNow, type SocketPass, type SourceHandlers, type TransitionSource, type TransitionBatch} from '../src/core/source.js';
import {TcpState, type ExistingSocket, type Transition} from '../src/core/transition.js';
import {columnByKey} from '../src/model/columns.js';
import {ConnectionTable} from '../src/model/connection-table.js';
import {feedTable} from '../src/model/feed-table.js';
import {compileFilter, type Filter} from '../src/model/filter.js';
import {IntervalCounter} from '../src/model/interval-counts.js';
import {formatText, frameJson, frameJsonLine, takeFrame, type TextOptions} from '../src/output/batch-format.js';
import {jsonLine} from '../src/core/sanitize.js';

const {CLOSE, SYN_SENT, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT, LISTEN} = TcpState;
const netns = 4_026_531_840;

class DrivenSource implements TransitionSource {
	handlers!: SourceHandlers;
	constructor(private readonly existing: readonly ExistingSocket[]) {}

	start(handlers: SourceHandlers): void {
		this.handlers = handlers;
		handlers.snapshot?.(pass(0, this.existing));
	}

	async stop(): Promise<void> {}

	batch(transitions: Transition[], lost = 0): void {
		const batch: TransitionBatch = {transitions, resets: [], accepted: [], dropped: 0, lost};
		this.handlers.batch(batch);
	}
}

function pass(monoMs: number, sockets: readonly ExistingSocket[]): SocketPass {
	return {monoMs, wallMs: 1_700_000_000_000 + monoMs, sockets, namespaces: [netns], owners: true, complete: true};
}

function existing(fields: Partial<ExistingSocket> & {lport: number; rport: number; state: number}): ExistingSocket {
	return {
		monoMs: 0, wallMs: 1_700_000_000_000, sock: (fields.lport * 65_536) + fields.rport, netns, family: 4,
		laddr: '10.0.0.1', raddr: '10.0.0.2', pid: 0, comm: '', figures: undefined, ...fields,
	};
}

function transition(oldstate: number, newstate: number, monoMs: number, fields: Partial<Transition> = {}): Transition {
	return {
		monoMs, wallMs: 1_700_000_000_000 + monoMs, sock: 7, netns, family: 4, pid: 0, tid: 0, comm: 'swapper/0',
		laddr: '10.0.0.1', lport: 41_000, raddr: '10.0.0.9', rport: 443, oldstate, newstate, ms: null, ...fields,
	};
}

const inState = columnByKey('inState')!;

function filterOf(text: string): Filter {
	const result = compileFilter(text);
	if (!result.ok) {
		throw new Error(result.error.message);
	}

	return result.filter;
}

function setUp(sockets: readonly ExistingSocket[]) {
	const source = new DrivenSource(sockets);
	const table = new ConnectionTable();
	feedTable(source, table, () => 0, error => {
		throw error;
	});
	const counter = new IntervalCounter(table.rates, 0);
	const frame = (nowMs: number, filter?: Filter) => takeFrame(table, counter, {
		order: inState, descending: true, filter, nowMs, startedAtMs: 0, wallMs: 1_700_000_000_000 + nowMs,
	});
	return {source, table, frame};
}

const counted = {bytesAcked: 1000, bytesReceived: 2000, srttUs: 150, retransmits: 1};
const startUp = [
	existing({lport: 5432, rport: 50_000, state: ESTABLISHED, pid: 42, comm: 'postgres', figures: counted}),
	existing({lport: 5432, rport: 50_001, state: CLOSE_WAIT, pid: 42, comm: 'postgres'}),
	existing({lport: 5432, rport: 0, raddr: '0.0.0.0', state: LISTEN, pid: 42, comm: 'postgres'}),
];

test('JSON: sockets per state, the connections with their counters, null where there are none', t => {
	const {frame} = setUp(startUp);
	const document = frameJson(frame(500));
	t.is(document.time, new Date(1_700_000_000_500).toISOString());
	t.deepEqual(document.states, {ESTABLISHED: 1, CLOSE_WAIT: 1, LISTEN: 1});
	t.deepEqual(document.transitions, []);
	t.is(document.interval_s, 0.5);
	t.is(document.lost, 0);
	t.is(document.evicted, 0);
	const byPort = new Map(document.connections.map(connection => [connection.rport, connection]));
	t.deepEqual(byPort.get(50_000), {
		pid: 42, comm: 'postgres', cgroup: null, container: null, pod: null, family: 4, netns, laddr: '10.0.0.1', lport: 5432, raddr: '10.0.0.2', rport: 50_000,
		state: 'ESTABLISHED', age_s: 0.5, state_s: 0.5, tx_bytes: 1000, rx_bytes: 2000, rtt_us: 150, retransmits: 1, retransmits_per_s: null, drops: null,
		listener: null,
	});
	t.like(byPort.get(50_001), {state: 'CLOSE_WAIT', tx_bytes: null, rx_bytes: null, rtt_us: null, retransmits: null});
	// A listener found by a pass without its queue (a recording made before queues) has none.
	t.like(byPort.get(0), {state: 'LISTEN', lport: 5432, listener: null});
});

test('a later socket pass updates the counters', t => {
	const {source, frame} = setUp(startUp);
	finishNow(source.handlers.pass!(pass(1000, [{...startUp[0]!, figures: {...counted, bytesAcked: 9000}}])));
	const connection = frameJson(frame(1500)).connections.find(connection => connection.rport === 50_000);
	t.like(connection, {tx_bytes: 9000, rx_bytes: 2000});
});

test('each document counts the transitions since the one before, per edge and per second', t => {
	const {source, frame} = setUp([]);
	source.batch([
		transition(CLOSE, SYN_SENT, 100, {lport: 0, pid: 7, comm: 'curl'}),
		transition(SYN_SENT, ESTABLISHED, 101),
	]);
	const first = frameJson(frame(1000));
	t.deepEqual(first.transitions.map(({ms: _, ...edge}) => edge), [
		{from: 'SYN_SENT', to: 'ESTABLISHED', count: 1, per_second: 1},
		{from: 'CLOSE', to: 'SYN_SENT', count: 1, per_second: 1},
	]);
	// The handshake's 1 ms, as HdrHistogram keeps it (its bucket's top); no time kept for the connect's start.
	t.like(first.transitions[0]!.ms, {count: 1, max: 1});
	t.true(Math.abs(first.transitions[0]!.ms!.p50 - 1) < 0.01);
	t.is(first.transitions[1]!.ms, null);
	t.deepEqual(first.new, {count: 1, per_second: 1});
	t.deepEqual(first.states, {ESTABLISHED: 1});

	source.batch([
		transition(ESTABLISHED, FIN_WAIT1, 1100, {pid: 7, comm: 'curl'}),
		transition(FIN_WAIT1, FIN_WAIT2, 1101),
		transition(FIN_WAIT2, CLOSE, 1102),
	], 3);
	const second = frameJson(frame(1500));
	t.is(second.interval_s, 0.5);
	t.deepEqual(second.transitions.map(({from, to, count, per_second}) => `${from}>${to} ${count} ${per_second}`), [
		'ESTABLISHED>FIN_WAIT1 1 2', 'FIN_WAIT1>FIN_WAIT2 1 2', 'FIN_WAIT2>CLOSE 1 2',
	]);
	t.deepEqual(second.new, {count: 0, per_second: 0});
	t.deepEqual(second.closes, {count: 1, per_second: 2});
	t.is(second.lost, 3);
	// The actively closed connection is in TIME_WAIT, as ss would show it.
	t.deepEqual(second.states, {TIME_WAIT: 1});
	t.like(second.connections[0], {state: 'TIME_WAIT', pid: 7, comm: 'curl', lport: 41_000});
});

test('the filter picks the connections; the header figures stay the host\'s', t => {
	const {frame} = setUp(startUp);
	const document = frameJson(frame(500, filterOf('state close-wait')));
	t.deepEqual(document.connections.map(connection => connection.rport), [50_001]);
	t.deepEqual(document.states, {ESTABLISHED: 1, CLOSE_WAIT: 1, LISTEN: 1});
});

const text: TextOptions = {host: 'db-7', kernel: '6.18.0', delaySeconds: 1, order: inState, descending: true, filter: undefined, width: undefined};

test('text: header lines, then every column as wide as its widest cell', t => {
	const long = 'fd00:1234:5678:9abc:def0:1234:5678:9abc';
	const {frame} = setUp([
		...startUp,
		existing({lport: 443, rport: 60_000, laddr: long, raddr: long, family: 6, state: ESTABLISHED, pid: 9, comm: 'nginx'}),
	]);
	const lines = formatText(frame(2000), text).split('\n');
	t.regex(lines[0]!, /^tcptop - \d\d:\d\d:\d\d - db-7 - Linux 6\.18\.0 - up 2\.0s - every 1s$/);
	t.is(lines[1], 'ESTAB 2 · CLOSE-WAIT 1 · LISTEN 1');
	t.regex(lines[2]!, /^tracked 4 · new 0\/s .* lost 0 · evicted 0$/);
	t.is(lines[3], 'transitions in 2.0s: none');
	t.is(lines[4], 'Sort: IN STATE ▼ · 4 of 4 shown');
	const titles = lines[5]!;
	t.regex(titles, /^\s+PID COMMAND\s+LOCAL\s+REMOTE\s+STATE\s+AGE IN STATE\s+TX\/s\s+RX\/s\s+RTT RETRANS RETR\/s$/);
	const rows = lines.slice(6, -2);
	t.is(rows.length, 4);
	t.deepEqual(lines.slice(-2), ['', ''], 'a blank line ends the iteration');
	const wide = rows.find(row => row.includes('nginx'))!;
	t.true(wide.includes(`[${long}]:443 [${long}]:60000`), 'addresses are never cut');
	// Columns line up: each row's STATE starts under the title's.
	for (const row of rows) {
		t.regex(row.slice(titles.indexOf('STATE')), /^(ESTAB|CLOSE-WAIT|LISTEN) /);
	}
});

test('text: a width drops the columns the view drops first; names are escaped', t => {
	const {frame} = setUp([
		...startUp,
		existing({lport: 8080, rport: 60_001, state: ESTABLISHED, pid: 9, comm: 'evil\u001B]0;x\u0007'}),
	]);
	const filter = filterOf('sport = :8080');
	const lines = formatText(frame(2000, filter), {...text, width: 80, filter}).split('\n');
	t.is(lines[4], 'Sort: IN STATE ▼ · Filter: sport = :8080 · 1 of 4 shown');
	t.regex(lines[5]!, /^\s+PID COMMAND\s+LOCAL\s+REMOTE\s+STATE\s+IN STATE$/);
	t.true(lines.slice(5).every(line => line.length <= 80), 'the table fits; header lines are never cut');
	t.true(lines[6]!.includes(' evil\\x1b '), 'escaped, then cut to 8 characters as the view cuts COMMAND');
	t.false(lines.join('\n').includes('\u001B'));
	const json = jsonLine(frameJson(frame(2000, filter)));
	t.false(json.includes('\u001B'));
	t.is((JSON.parse(json) as {connections: Array<{comm: string}>}).connections[0]!.comm, 'evil\u001B]0;x\u0007');
});

test('JSON: the document written in pieces is the document, whatever the names hold', t => {
	const names = ['postgres', '', 'evil\u001B]0;x\u0007', 'c1\u009Bcsi', 'bidi\u202Eloof', 'quote"back\\slash', 'ünïcode·'];
	const sockets = Array.from({length: 5000}, (_, index) => existing({
		lport: 1000 + (index % 50_000), rport: 40_000 + index, state: index % 7 === 0 ? CLOSE_WAIT : ESTABLISHED,
		pid: index % 3 === 0 ? 0 : 100 + index, comm: names[index % names.length]!,
		figures: index % 2 === 0 ? {bytesAcked: 2 ** 40 + index, bytesReceived: index, srttUs: 99, retransmits: 0} : undefined,
	}));
	const {frame} = setUp(sockets);
	const taken = frame(1234.5678);
	const pieces = [...frameJsonLine(taken)];
	t.true(pieces.length > 2, 'several pieces');
	t.is(pieces.join(''), jsonLine(frameJson(taken)) + '\n');
	t.false(pieces.join('').includes('\u001B'));
	t.is((JSON.parse(pieces.join('')) as {connections: unknown[]}).connections.length, 5000);
	const empty = setUp([]).frame(10);
	t.is([...frameJsonLine(empty)].join(''), jsonLine(frameJson(empty)) + '\n');
});
