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

/**
 * Every kind of row the trouble order tells apart, 400 of them: listeners (one with a full
 * queue), connects stuck or not, connections idle, busy, retransmitting, dropping, left out
 * of the last pass or never sampled, CLOSE_WAIT, TIME-WAIT, closed by a reset or a connect
 * that failed, and rows gone (free slots); with each pass's retransmits and drops counted live or not.
 */
function variedHost(live: boolean): ConnectionTable {
	const table = new ConnectionTable();
	const ports = Array.from({length: 400}, (_, index) => 1000 + index);
	const kind = (lport: number) => lport % 13;
	table.loadSnapshot({...counters(0, [
		socket(80, LISTEN, {raddr: '0.0.0.0', rport: 0, queue: {acceptQueue: 5, acceptBacklog: 4, synQueue: 0, drops: 0}}),
		socket(81, LISTEN, {raddr: '0.0.0.0', rport: 0, queue: {acceptQueue: 0, acceptBacklog: 4, synQueue: 0, drops: 0}}),
	]), complete: true});
	for (const lport of ports) {
		const at = lport * 10;
		if (kind(lport) === 0) {
			table.apply(transition(lport, CLOSE, SYN_SENT, at));
			continue;
		}

		table.apply(transition(lport, SYN_RECV, ESTABLISHED, at));
		if (kind(lport) === 1) {
			table.apply(transition(lport, ESTABLISHED, CLOSE_WAIT, at + 5));
		} else if (kind(lport) === 2) {
			table.apply(transition(lport, ESTABLISHED, FIN_WAIT2, at + 5));
			table.apply(transition(lport, FIN_WAIT2, TIME_WAIT, at + 6));
		}
	}

	const sampled = (lport: number) => kind(lport) > 2 && kind(lport) !== 12;
	const figuresAt = (lport: number, scale: number): SocketFigures => ({
		bytesAcked: kind(lport) === 4 ? scale * lport : 0, bytesReceived: kind(lport) === 5 ? scale * 7 : 0, srttUs: 100,
		retransmits: kind(lport) === 6 || kind(lport) === 8 ? scale : 0, drops: kind(lport) === 7 ? scale * 2 : 0, dropReason: kind(lport) === 7 ? 'QDISC_DROP' : '',
	});
	const pass = (monoMs: number, scale: number, leftOut: (lport: number) => boolean, liveCounts?: number[]): SocketPass => ({
		...counters(monoMs, ports.filter(lport => sampled(lport) && !leftOut(lport)).map(lport => socket(lport, ESTABLISHED, {figures: figuresAt(lport, scale)}))),
		drops: new Map([['QDISC_DROP', scale * 10]]),
		...(liveCounts ? {live: {fromMs: monoMs - 1000, toMs: monoMs, counts: liveCounts, missed: 0}} : {}),
	});
	// Counted live, the retransmits of kind 8 are not (the counters' are what two passes read).
	const liveCounts = live ? ports.filter(lport => kind(lport) === 6 || kind(lport) === 7).flatMap(lport => [lport, kind(lport) === 6 ? 2 : 0, kind(lport) === 7 ? 4 : 0]) : undefined;
	table.applyPass(pass(9000, 1, () => false, live ? [] : undefined));
	table.applyPass(pass(10_000, 2, () => false, liveCounts));
	// The last pass leaves out every ninth connection: its counters did not move.
	table.applyPass(pass(11_000, 3, lport => lport % 9 === 0, liveCounts));
	// Some end: reset, or a connect that failed; those that ended first are gone already.
	for (const lport of ports.filter(lport => lport % 17 === 0)) {
		table.apply(transition(lport, kind(lport) === 0 ? SYN_SENT : ESTABLISHED, CLOSE, 12_000 + (lport % 3 === 0 ? 0 : 5000)));
	}

	table.sweep(16_000);
	return table;
}

test('the trouble order\'s keys read from the columns are its keys read through each row, and pick the same rows', t => {
	for (const live of [false, true]) {
		const table = variedHost(live);
		const {key} = table.columns;
		t.true(key.some(k => k === undefined), 'some slots are free');
		const keys = new Float64Array(table.slotCount);
		for (const nowMs of [16_500, 40_000, 200_000]) {
			const moment = {nowMs, isStuck: (connection: Parameters<ConnectionTable['isStuck']>[0], atMs: number) => table.isStuck(connection, atMs)};
			troubleOrder.orderKeys!(table, moment, keys);
			const view = table.view(0);
			const tiers = new Set<number>();
			for (let slot = 0; slot < table.slotCount; slot++) {
				if (key[slot] === undefined) {
					t.true(Number.isNaN(keys[slot]), `free slot ${slot}`);
					continue;
				}

				view.slot = slot;
				const expected = troubleOrder.orderKey(view, moment);
				tiers.add(Math.floor(expected / (2 ** 45)));
				if (keys[slot] !== expected) {
					t.fail(`live ${String(live)}, at ${nowMs} ms, port ${view.lport} (${view.state}): ${keys[slot]} against ${expected}`);
				}
			}

			t.deepEqual([...tiers].sort(), [0, 1, 2, 3], 'rows in every tier');
			const perRow = {...troubleOrder, orderKeys: undefined};
			for (const descending of [true, false]) {
				const fast = selectRows(table, {order: troubleOrder, descending, limit: 60, nowMs});
				const slow = selectRows(table, {order: perRow, descending, limit: 60, nowMs});
				t.deepEqual(fast.rows.map(row => row.slot), slow.rows.map(row => row.slot));
				t.is(fast.matched, slow.matched);
			}
		}
	}
});

test('rows gone since the last frame are not picked, whatever keys their slots had', t => {
	const table = new ConnectionTable();
	for (let lport = 1; lport <= 300; lport++) {
		table.apply(transition(lport, SYN_RECV, ESTABLISHED, lport));
	}

	const pid = columnByKey('pid')!;
	for (const order of [pid, troubleOrder]) {
		t.is(selectRows(table, {order, descending: false, limit: 1000, nowMs: 1000}).rows.length, 300);
	}

	// Every third ends, and is gone once the closed linger (3 s) is over: its slot is free.
	for (let lport = 3; lport <= 300; lport += 3) {
		table.apply(transition(lport, ESTABLISHED, CLOSE, 2000));
	}

	table.sweep(10_000);
	t.is(table.size, 200);
	for (const order of [pid, troubleOrder]) {
		for (const descending of [false, true]) {
			const {rows, matched} = selectRows(table, {order, descending, limit: 1000, nowMs: 10_000});
			t.is(matched, 200);
			t.deepEqual(rows.map(row => row.lport).sort((a, b) => a - b), Array.from({length: 300}, (_, index) => index + 1).filter(lport => lport % 3 !== 0));
		}
	}
});
