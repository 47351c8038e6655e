import test from 'ava';
import type {SocketPass} from '../src/core/source.js';
import {TcpState, type ExistingSocket, type Transition} from '../src/core/transition.js';
import {ConnectionTable} from '../src/model/connection-table.js';
import {groupKindByKey, networkOf, type GroupRow} from '../src/model/groups.js';
import {IntervalCounter} from '../src/model/interval-counts.js';
import {sortOrderByKey} from '../src/model/sort-orders.js';
import {takeFrame} from '../src/output/batch-format.js';

const {CLOSE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT1, CLOSE_WAIT, LAST_ACK, LISTEN} = TcpState;
const netns = 4_026_531_840;

let nextSock = 0x100;

function transition(fields: Partial<Transition> & {oldstate: number; newstate: number; monoMs: number}): Transition {
	return {wallMs: 0, sock: 0xA1, netns, pid: 0, tid: 0, comm: 'swapper/0', family: 4, laddr: '10.0.0.1', lport: 0, raddr: '10.0.0.2', rport: 443, ms: null, ...fields};
}

/** A connect from `comm` (pid) to raddr:rport from local port lport, established at monoMs. */
function connect(table: ConnectionTable, monoMs: number, fields: {pid: number; comm: string; raddr: string; rport: number; lport: number}): Partial<Transition> {
	const sock = nextSock++;
	const {pid, comm, raddr, rport, lport} = fields;
	table.apply(transition({oldstate: CLOSE, newstate: SYN_SENT, monoMs, sock, pid, tid: pid, comm, raddr, rport, lport: 0}));
	table.apply(transition({oldstate: SYN_SENT, newstate: ESTABLISHED, monoMs: monoMs + 1, sock, raddr, rport, lport}));
	return {sock, raddr, rport, lport};
}

function rowOf(rows: GroupRow[], key: string): GroupRow {
	const row = rows.find(group => group.key === key);
	if (!row) {
		throw new Error(`no group ${key} in ${rows.map(group => group.key).join(', ')}`);
	}

	return row;
}

test('groups count their connections by state as connections open, move and close', t => {
	const table = new ConnectionTable({lingerMs: 1000});
	table.groupBy(groupKindByKey('process'), 1000);
	const a = connect(table, 1000, {pid: 10, comm: 'curl', raddr: '10.0.0.2', rport: 443, lport: 40_001});
	connect(table, 1000, {pid: 10, comm: 'curl', raddr: '10.0.0.3', rport: 443, lport: 40_002});
	connect(table, 1000, {pid: 20, comm: 'psql', raddr: '10.0.1.9', rport: 5432, lport: 40_003});
	// One of curl's is closed by its peer: CLOSE_WAIT.
	table.apply(transition({oldstate: ESTABLISHED, newstate: CLOSE_WAIT, monoMs: 1100, ...a}));

	let rows = table.groups!.sample(2000);
	const curl = rowOf(rows, 'curl 10');
	t.is(curl.connections, 2);
	t.is(curl.states[ESTABLISHED], 1);
	t.is(curl.states[CLOSE_WAIT], 1);
	t.is(curl.opened, 2, 'two opened over the first second');
	t.is(rowOf(rows, 'psql 20').connections, 1);

	// curl closes it; the row lingers closed, then goes, and its group counts it no more.
	table.apply(transition({oldstate: CLOSE_WAIT, newstate: LAST_ACK, monoMs: 2100, ...a, pid: 10, comm: 'curl'}));
	table.apply(transition({oldstate: LAST_ACK, newstate: CLOSE, monoMs: 2101, ...a}));
	rows = table.groups!.sample(3000);
	t.is(rowOf(rows, 'curl 10').states[CLOSE], 1);
	t.is(rowOf(rows, 'curl 10').opened, 0, 'none opened in the second second');
	table.sweep(4000);
	rows = table.groups!.sample(4000);
	t.is(rowOf(rows, 'curl 10').connections, 1);
	t.is(rowOf(rows, 'curl 10').states[CLOSE], 0);
	t.is(rowOf(rows, 'curl 10').states[LAST_ACK], 0);
});

test('failed connects and resets are counted by group, and make it trouble', t => {
	const table = new ConnectionTable();
	table.groupBy(groupKindByKey('service'), 1000);
	// Two connects to :5432 refused; one connection to :443 reset by its peer; one to :80 fine.
	for (const sock of [1, 2]) {
		table.apply(transition({oldstate: CLOSE, newstate: SYN_SENT, monoMs: 1000, sock, pid: 5, comm: 'app', rport: 5432}));
		table.apply(transition({oldstate: SYN_SENT, newstate: CLOSE, monoMs: 1002, sock, lport: 50_000 + sock, rport: 5432}));
	}

	const reset = connect(table, 1000, {pid: 5, comm: 'app', raddr: '10.0.0.2', rport: 443, lport: 41_000});
	table.apply(transition({oldstate: ESTABLISHED, newstate: CLOSE, monoMs: 1500, ...reset}));
	connect(table, 1000, {pid: 5, comm: 'app', raddr: '10.0.0.2', rport: 80, lport: 41_001});
	const rows = table.groups!.sample(2000);
	t.is(rowOf(rows, 'to :5432').failed, 2);
	t.true(rowOf(rows, 'to :5432').trouble);
	t.is(rowOf(rows, 'to :443').resets, 1);
	t.true(rowOf(rows, 'to :443').trouble);
	t.false(rowOf(rows, 'to :80').trouble);
	t.is(rowOf(rows, 'to :80').states[ESTABLISHED], 1);
});

test('a service groups what a listener accepted under its port, connections out under the port they reach', t => {
	const table = new ConnectionTable();
	table.groupBy(groupKindByKey('service'), 1000);
	table.apply(transition({oldstate: CLOSE, newstate: LISTEN, monoMs: 1000, sock: 0x50, laddr: '0.0.0.0', lport: 8080, raddr: '0.0.0.0', rport: 0, pid: 7, comm: 'web'}));
	for (const lport of [8080]) {
		for (const rport of [50_001, 50_002, 50_003]) {
			const tuple = {sock: rport, laddr: '10.0.0.1', lport, raddr: '10.0.0.9', rport};
			table.apply(transition({oldstate: LISTEN, newstate: SYN_RECV, monoMs: 1001, ...tuple}));
			table.apply(transition({oldstate: SYN_RECV, newstate: ESTABLISHED, monoMs: 1002, ...tuple}));
		}
	}

	connect(table, 1000, {pid: 7, comm: 'web', raddr: '10.0.0.3', rport: 6379, lport: 44_000});
	const rows = table.groups!.sample(2000);
	t.is(rowOf(rows, ':8080').connections, 4, 'the listener and the three it accepted');
	t.is(rowOf(rows, ':8080').states[LISTEN], 1);
	t.is(rowOf(rows, ':8080').opened, 3);
	t.is(rowOf(rows, 'to :6379').connections, 1);
});

function pass(monoMs: number, sockets: ExistingSocket[]): SocketPass {
	return {monoMs, wallMs: 0, sockets, namespaces: [netns], owners: true, complete: true};
}

function existing(fields: Partial<ExistingSocket> & {state: number; sock: number}): ExistingSocket {
	return {monoMs: 0, wallMs: 0, netns, family: 4, laddr: '10.0.0.1', lport: 40_000, raddr: '10.0.0.2', rport: 443, pid: 0, comm: '', figures: undefined, ...fields};
}

test('connections found by the snapshot are grouped, those of a port with a listener as its service, and bytes counted by group between passes', t => {
	const table = new ConnectionTable();
	table.groupBy(groupKindByKey('service'), 1000);
	const figures = (bytesAcked: number, bytesReceived: number) => ({bytesAcked, bytesReceived, srttUs: 100, retransmits: 0});
	// Listed before its listener, as a pass lists them: still :22's once the pass is in.
	const ssh = existing({state: ESTABLISHED, sock: 1, lport: 22, raddr: '10.0.5.5', rport: 51_000, pid: 3, comm: 'sshd', figures: figures(1000, 500)});
	const listener = existing({state: LISTEN, sock: 2, laddr: '0.0.0.0', lport: 22, raddr: '0.0.0.0', rport: 0, pid: 3, comm: 'sshd'});
	const out = existing({state: ESTABLISHED, sock: 3, lport: 40_000, raddr: '10.0.0.2', rport: 443, pid: 4, comm: 'curl', figures: figures(0, 0)});
	table.loadSnapshot(pass(1000, [ssh, listener, out]));
	let rows = table.groups!.sample(1000);
	t.is(rowOf(rows, ':22').connections, 2);
	t.is(rowOf(rows, 'to :443').connections, 1);

	table.applyPass(pass(3000, [
		{...ssh, figures: figures(3000, 1500)},
		listener,
		{...out, figures: {...figures(0, 4_000_000), retransmits: 6}},
	]));
	rows = table.groups!.sample(3000);
	t.is(rowOf(rows, ':22').txBytesPerSec, 1000, '2,000 bytes over 2 s');
	t.is(rowOf(rows, ':22').rxBytesPerSec, 500);
	t.is(rowOf(rows, 'to :443').rxBytesPerSec, 2_000_000);
	t.is(rowOf(rows, 'to :443').retransmits, 6, 'segments retransmitted between the passes');
	t.is(rowOf(rows, ':22').retransmits, 0);
});

test('switching the grouping places every row once; other kinds group as named', t => {
	const table = new ConnectionTable();
	const first = connect(table, 1000, {pid: 10, comm: 'curl', raddr: '10.0.1.2', rport: 443, lport: 40_001});
	connect(table, 1000, {pid: 11, comm: 'curl', raddr: '10.0.1.3', rport: 443, lport: 40_002});
	connect(table, 1000, {pid: 12, comm: 'wget', raddr: '10.0.2.3', rport: 80, lport: 40_003});
	t.is(table.groups, undefined);
	table.groupBy(groupKindByKey('subnet'), 1000);
	let rows = table.groups!.sample(2000);
	t.deepEqual(rows.map(row => [row.key, row.connections]).sort(), [['10.0.1.0/24', 2], ['10.0.2.0/24', 1]]);
	table.groupBy(groupKindByKey('remote'), 1000);
	rows = table.groups!.sample(2000);
	t.is(rows.length, 3);
	table.groupBy(groupKindByKey('state'), 1000);
	rows = table.groups!.sample(2000);
	t.deepEqual(rows.map(row => [row.key, row.connections]), [['ESTAB', 3]]);
	// A state group follows the state.
	table.apply(transition({oldstate: ESTABLISHED, newstate: FIN_WAIT1, monoMs: 3000, ...first, pid: 10, comm: 'curl'}));
	rows = table.groups!.sample(3000);
	t.deepEqual(rows.filter(row => row.connections > 0).map(row => [row.key, row.connections]).sort(), [['ESTAB', 2], ['FIN-WAIT-1', 1]]);
	table.groupBy(undefined, 1000);
	t.is(table.groups, undefined);
});

test('networkOf: /24 for IPv4 (and IPv4-mapped), /64 for IPv6', t => {
	t.is(networkOf('10.1.2.3'), '10.1.2.0/24');
	t.is(networkOf('::ffff:192.168.7.9'), '192.168.7.0/24');
	t.is(networkOf('2001:db8:0:1:aa::1'), '2001:db8:0:1::/64');
	t.is(networkOf('2001:db8::1'), '2001:db8::/64');
	t.is(networkOf('::1'), '::/64');
	t.is(networkOf('fe80::1:2:3:4'), 'fe80::/64');
});

test('-b --group-by lists groups trouble first, or by --sort where groups have the column (tx, rx, retr)', t => {
	const table = new ConnectionTable();
	const kind = groupKindByKey('remote')!;
	table.groupBy(kind, 1000);
	const figures = (bytesReceived: number) => ({bytesAcked: 0, bytesReceived, srttUs: 100, retransmits: 0});
	const sockets = ['10.0.0.2', '10.0.0.3', '10.0.0.4'].map((raddr, index) => existing({state: ESTABLISHED, sock: 10 + index, raddr, lport: 41_000 + index, pid: 5, comm: 'app', figures: figures(0)}));
	table.loadSnapshot(pass(1000, sockets));
	// 10.0.0.3 receives most; 10.0.0.4 has a connection reset.
	table.applyPass(pass(2000, sockets.map((socket, index) => ({...socket, figures: figures([1000, 9000, 10][index]!)}))));
	connect(table, 1500, {pid: 5, comm: 'app', raddr: '10.0.0.4', rport: 443, lport: 42_000});
	table.apply(transition({oldstate: ESTABLISHED, newstate: CLOSE, monoMs: 1600, raddr: '10.0.0.4', rport: 443, lport: 42_000}));
	const counter = new IntervalCounter(table.rates, 1000);
	const keys = (order: string) => {
		const sortOrder = sortOrderByKey(order)!;
		const frame = takeFrame(table, counter, {order: sortOrder, descending: sortOrder.descendingByDefault, filter: undefined, nowMs: 3000, startedAtMs: 1000, wallMs: 0, groupBy: kind});
		return frame.groups!.rows.map(row => row.key);
	};

	t.deepEqual(keys('trouble'), ['10.0.0.4', '10.0.0.3', '10.0.0.2'], 'the reset first, then the busiest');
	t.deepEqual(keys('rx'), ['10.0.0.3', '10.0.0.2', '10.0.0.4'], 'by RX/s, most first');
	t.deepEqual(keys('pid'), ['10.0.0.4', '10.0.0.3', '10.0.0.2'], 'a column groups lack: trouble first');
});
