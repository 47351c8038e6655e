// The orders the connection list can be in: any column's, and, by default, trouble first.
//
// A host's first screen should say what is wrong or busy, not what is merely old: sorted by
// time in state, a host after a burst of short connections shows nothing but TIME-WAIT. So the
// default order is in four tiers, each from its most to its least:
//   1. trouble: a connection in a state that should have ended by now, a listener whose accept
//      queue is full or that drops connection attempts (ConnectionTable.isStuck), one
//      retransmitting now, one that ended refused, timed out or reset (while it is still
//      listed): longest in its state first;
//   2. busy: sending or receiving (TX/s + RX/s), busiest first;
//   3. the rest that are open (idle connections, listeners, handshakes under way), longest in
//      their state first;
//   4. TIME-WAIT and the closed ones, longest in their state first.
// An explicit sort (a column) orders as it always has.
import {TcpState} from '../core/transition.js';
import {columnByKey, columnNamed, columns, type Column} from './columns.js';
import {Ending, type Connection} from './connection.js';
import type {ConnectionTable} from './connection-table.js';

/** What an order may read besides the connection: the frame's time, and the table's verdict on trouble. */
export type OrderMoment = {
	readonly nowMs: number;
	/** Whether the connection is in trouble at nowMs (ConnectionTable.isStuck). */
	readonly isStuck: (connection: Connection, nowMs: number) => boolean;
};

/**
 * An order of the connection list, as selectRows reads it (a column is one: its order is the
 * connection's alone, and it reads no moment).
 */
export type SortOrder = Pick<Column, 'key' | 'title' | 'compareTied' | 'descendingByDefault'> & {
	/** As Column.orderKey: smaller sorts first; read once per connection per frame. */
	orderKey(connection: Connection, moment: OrderMoment): number;
	/**
	 * Where an order has it: orderKey of every row of the table at once, into keys[slot] for each
	 * slot below the table's slotCount (NaN where it holds no row), read from the table's
	 * columns rather than through a view per row. The same keys as orderKey's.
	 */
	orderKeys?(table: ConnectionTable, moment: OrderMoment, keys: Float64Array): void;
};

/** A tier's share of the key: each tier's connections above every one of the tiers below. */
const tierSize = 2 ** 45;

const failedEndings: ReadonlySet<number> = new Set([Ending.refused, Ending.timedOut, Ending.resetSent, Ending.resetReceived]);

function troubleKey(connection: Connection, {nowMs, isStuck}: OrderMoment): number {
	const {state} = connection;
	const inStateMs = Math.min(tierSize - 1, Math.max(0, nowMs - connection.stateSinceMs));
	// The commonest state on a busy host first, and what it needs only.
	if (state === TcpState.TIME_WAIT) {
		return inStateMs;
	}

	if (state === TcpState.CLOSE) {
		return failedEndings.has(connection.ending) ? (3 * tierSize) + inStateMs : inStateMs;
	}

	if (isStuck(connection, nowMs) || (connection.retransmitsPerSec ?? 0) > 0 || (connection.dropsPerSec ?? 0) > 0) {
		return (3 * tierSize) + inStateMs;
	}

	const busy = (connection.txBytesPerSec ?? 0) + (connection.rxBytesPerSec ?? 0);
	return busy > 0 ? (2 * tierSize) + Math.min(tierSize - 1, busy) : tierSize + inStateMs;
}

/** troubleKey of the row in a slot, through `view`. */
function troubleKeyOf(view: Connection, slot: number, moment: OrderMoment): number {
	view.slot = slot;
	return troubleKey(view, moment);
}

/**
 * troubleKey of every row, read from the table's columns (a million rows: 11-17 ms, against 21-26
 * through a view per row). Listeners and closed rows, whose keys read Maps (queues, how they
 * ended), and the few rows with rates in a Map (counted live, or packets dropped) take
 * troubleKey itself; for the rest, the rates are as Connection's getters give them: 0 for a row
 * left out of the last pass, not known (0 here) while NaN, and retransmits come from the
 * columns only where the source counts none live.
 */
function troubleKeys(table: ConnectionTable, moment: OrderMoment, keys: Float64Array): void {
	const {nowMs} = moment;
	const rows = table.columns;
	const {key, state: states, stateSinceMs, statsAtMs, lastPassMs, retransmitsPerSec, txBytesPerSec, rxBytesPerSec, liveRates} = rows;
	const stuckAfterMs = table.stuckAfterMs;
	const countedLive = liveRates !== undefined;
	const view = table.view(0);
	const end = table.slotCount;
	for (let slot = 0; slot < end; slot++) {
		if (key[slot] === undefined) {
			keys[slot] = Number.NaN;
			continue;
		}

		const state = states[slot]!;
		if (state === TcpState.CLOSE || state === TcpState.LISTEN) {
			keys[slot] = troubleKeyOf(view, slot, moment);
			continue;
		}

		const msInState = nowMs - stateSinceMs[slot]!;
		const inStateMs = Math.min(tierSize - 1, Math.max(0, msInState));
		if (state === TcpState.TIME_WAIT) {
			keys[slot] = inStateMs;
			continue;
		}

		// Sampled by the last pass, or not yet by any (its rates are NaN then).
		const current = !(statsAtMs[slot]! < lastPassMs);
		if (msInState >= stuckAfterMs[state]! || (!countedLive && current && retransmitsPerSec[slot]! > 0)) {
			keys[slot] = (3 * tierSize) + inStateMs;
			continue;
		}

		const tx = txBytesPerSec[slot]!;
		const rx = rxBytesPerSec[slot]!;
		const busy = current ? (Number.isNaN(tx) ? 0 : tx) + (Number.isNaN(rx) ? 0 : rx) : 0;
		keys[slot] = busy > 0 ? (2 * tierSize) + Math.min(tierSize - 1, busy) : tierSize + inStateMs;
	}

	// (Apart: iterating them here made the loop above a half slower.)
	keyMappedRows(table, moment, keys);
}

/** troubleKey of the rows with rates in a Map (see troubleKeys). */
function keyMappedRows(table: ConnectionTable, moment: OrderMoment, keys: Float64Array): void {
	const {key, liveRates, drops, dropsCounted} = table.columns;
	const view = table.view(0);
	for (const slots of [liveRates?.keys() ?? [], dropsCounted ? drops.keys() : []]) {
		for (const slot of slots) {
			if (slot < table.slotCount && key[slot] !== undefined) {
				keys[slot] = troubleKeyOf(view, slot, moment);
			}
		}
	}
}

export const troubleOrder: SortOrder = {
	key: 'trouble',
	title: 'TROUBLE',
	compareTied: undefined,
	descendingByDefault: true,
	orderKey: troubleKey,
	orderKeys: troubleKeys,
};

/** The default order, then every column's, as the sort picker lists them. */
export const sortOrders: readonly SortOrder[] = [troubleOrder, ...columns];

export function sortOrderByKey(key: string): SortOrder | undefined {
	return key === troubleOrder.key ? troubleOrder : columnByKey(key);
}

/** The order a user names, as --sort takes it: "trouble", or a column (see columnNamed). */
export function sortOrderNamed(name: string): SortOrder | undefined {
	return name.trim().toLowerCase() === troubleOrder.key ? troubleOrder : columnNamed(name);
}
