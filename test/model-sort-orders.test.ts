// The default order of the connection list, trouble first, and how a user names an order.
import test from 'ava';
import type {SocketPass} from '../src/core/source.js';
import {TcpState, type ExistingSocket, type SocketFigures, type Transition} from '../src/core/transition.js';
import {columnByKey} from '../src/model/columns.js';
import {ConnectionTable} from '../src/model/connection-table.js';
import {selectRows} from '../src/model/select-rows.js';
import {sortOrderByKey, sortOrderNamed, sortOrders, troubleOrder} from '../src/model/sort-orders.js';

const {CLOSE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT2, TIME_WAIT, CLOSE_WAIT, LAST_ACK, LISTEN} = TcpState;
const netns = 4_026_531_840;

function transition(lport: number, oldstate: number, newstate: number, monoMs: number): Transition {
	return {monoMs, wallMs: 0, sock: lport, netns, pid: 0, tid: 0, comm: '', family: 4, laddr: '10.0.0.1', lport, raddr: '10.0.0.2', rport: 443, oldstate, newstate, ms: null};
}

function socket(lport: number, state: number, fields: Partial<ExistingSocket> = {}): ExistingSocket {
	return {monoMs: 0, wallMs: 0, sock: lport, netns, family: 4, laddr: '10.0.0.1', lport, raddr: '10.0.0.2', rport: 443, state, pid: 0, comm: '', figures: undefined, ...fields};
}

function counters(monoMs: number, sockets: ExistingSocket[]): SocketPass {
	return {monoMs, wallMs: 0, sockets, namespaces: [netns], owners: false, complete: false};
}

const figures = (bytesAcked: number, retransmits: number): SocketFigures => ({bytesAcked, bytesReceived: 0, srttUs: 100, retransmits});

/**
 * At 60 s: each tier's connections, by local port. Trouble: a CLOSE_WAIT of 60 s (1), a
 * listener whose accept queue is full (9, listed since 1 s), a connection retransmitting (6,
 * established at 20 s), a connect waiting 10 s (2), a connect that timed out at 59 s (7). Busy:
 * one sending (3). Idle: one established at 0 (4). Last: a TIME-WAIT (5), one closed by its FIN (8).
 */
function hostAt60s(): ConnectionTable {
	const table = new ConnectionTable();
	table.loadSnapshot({...counters(1000, [socket(9, LISTEN, {monoMs: 1000, raddr: '0.0.0.0', rport: 0, queue: {acceptQueue: 5, acceptBacklog: 4, synQueue: 0, drops: 0}})]), complete: true});
	table.apply(transition(1, ESTABLISHED, CLOSE_WAIT, 0));
	table.apply(transition(4, SYN_RECV, ESTABLISHED, 0));
	table.apply(transition(3, SYN_RECV, ESTABLISHED, 1000));
	table.apply(transition(5, FIN_WAIT2, TIME_WAIT, 10_000));
	table.apply(transition(6, SYN_RECV, ESTABLISHED, 20_000));
	table.applyPass(counters(50_000, [socket(3, ESTABLISHED, {figures: figures(1000, 0)}), socket(6, ESTABLISHED, {figures: figures(0, 1)})]));
	table.applyPass(counters(51_000, [socket(3, ESTABLISHED, {figures: figures(9000, 0)}), socket(6, ESTABLISHED, {figures: figures(0, 4)})]));
	table.apply(transition(2, CLOSE, SYN_SENT, 50_000));
	table.apply(transition(7, CLOSE, SYN_SENT, 58_000));
	table.apply(transition(7, SYN_SENT, CLOSE, 59_000));
	table.apply(transition(8, LAST_ACK, CLOSE, 59_500));
	return table;
}

test('trouble first: stuck, full, retransmitting and failed, longest first; then the busiest; then the rest; TIME-WAIT and closed last', t => {
	const table = hostAt60s();
	const ports = (nowMs: number) => selectRows(table, {order: troubleOrder, descending: true, limit: 20, nowMs}).rows.map(row => row.lport);
	t.deepEqual(ports(60_000), [1, 9, 6, 2, 7, 3, 4, 5, 8]);
	// At 52 s the connect (2) has waited 2 s: not yet in trouble (3 s), one of the open ones.
	t.deepEqual(ports(52_000), [1, 9, 6, 7, 3, 4, 2, 5, 8], 'the connect not yet stuck');
	t.deepEqual(selectRows(table, {order: troubleOrder, descending: false, limit: 3, nowMs: 60_000}).rows.map(row => row.lport), [8, 5, 4], 'inverted: last first');
});

test('the trouble order by its name; a column by its key or title; the picker lists trouble first', t => {
	t.is(sortOrderNamed('trouble'), troubleOrder);
	t.is(sortOrderNamed(' Trouble'), troubleOrder);
	t.is(sortOrderNamed('in-state'), columnByKey('inState'));
	t.is(sortOrderNamed('TX/s'), columnByKey('tx'));
	t.is(sortOrderNamed('troubles'), undefined);
	t.is(sortOrderByKey('trouble'), troubleOrder);
	t.is(sortOrderByKey('pid'), columnByKey('pid'));
	t.is(sortOrders[0], troubleOrder);
	t.true(troubleOrder.descendingByDefault);
});
