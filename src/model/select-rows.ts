// The rows a frame shows: filter, then the first k in an order (a column's, or trouble first),
// through one code path for every order.
import type {Connection} from './connection.js';
import type {ConnectionTable} from './connection-table.js';
import type {Filter} from './filter.js';
import type {OrderMoment, SortOrder} from './sort-orders.js';
import {TopK} from './top-k.js';
import {formatEndpoint} from '../core/format.js';
import {displayStateName} from '../core/tcp-states.js';

export type RowSelection = {
	readonly order: SortOrder;
	readonly descending: boolean;
	/** The frame's time, for the orders that read it. */
	readonly nowMs: number;
	/** How many rows to return. */
	readonly limit: number;
	readonly filter?: Filter;
};

/** One slot in this many is visited first (see selectRows); a power of two. */
const sampleStride = 64;

/** Order keys by slot, kept from frame to frame (a million connections: 8 MB not made again). */
let keys = new Float64Array(0);

/**
 * The order of two slots whose order keys are in `slotKeys`: by key, then the order's
 * compareTied, then storage order. True when x comes before y.
 */
function slotOrder(table: ConnectionTable, order: SortOrder, descending: boolean, slotKeys: Float64Array): (x: number, y: number) => boolean {
	const sign = descending ? -1 : 1;
	const {compareTied} = order;
	const a = table.view(0);
	const b = table.view(0);
	return (x, y) => {
		const kx = slotKeys[x]!;
		const ky = slotKeys[y]!;
		if (kx !== ky) {
			return descending ? kx > ky : kx < ky;
		}

		if (compareTied !== undefined) {
			a.slot = x;
			b.slot = y;
			const tied = sign * compareTied(a, b);
			if (tied !== 0) {
				return tied < 0;
			}
		}

		return x < y;
	};
}

function momentOf(table: ConnectionTable, nowMs: number): OrderMoment {
	return {nowMs, isStuck: (connection, atMs) => table.isStuck(connection, atMs)};
}

function keysFor(table: ConnectionTable): Float64Array {
	if (keys.length < table.slotCount) {
		keys = new Float64Array(Math.max(table.slotCount, 2 * keys.length));
	}

	return keys;
}

/** SortOrder.orderKeys for an order without it: orderKey through one view a row. */
function keysByRow(table: ConnectionTable, order: SortOrder, moment: OrderMoment, keys: Float64Array): void {
	const connection = table.view(0);
	const end = table.slotCount;
	for (let slot = 0; slot < end; slot++) {
		if (table.holds(slot)) {
			connection.slot = slot;
			keys[slot] = order.orderKey(connection, moment);
		} else {
			keys[slot] = Number.NaN;
		}
	}
}

/** The first `limit` matching connections in the order; ties keep storage order. */
export function selectRows(table: ConnectionTable, selection: RowSelection): {rows: Connection[]; matched: number} {
	const {order, filter, descending} = selection;
	const moment = momentOf(table, selection.nowMs);
	// Each connection's order key is read once; the order's compareTied, where it has one,
	// runs only on equal keys, and storage order settles the rest.
	const slotKeys = keysFor(table);
	const top = new TopK(selection.limit, slotOrder(table, order, descending, slotKeys));
	const end = table.slotCount;
	// Every sampleStride-th slot first: storage order often follows a column (rows are stored
	// as they open, so AGE is in order), and met in that order every row would beat the rows
	// kept so far. A sample across the table sets a bar near the final one at once.
	if (filter === undefined) {
		// Every row's key first, in storage order; then the rows are picked by their keys alone
		// (NaN, which no comparison passes, where no row is): a million in 2 ms.
		if (order.orderKeys === undefined) {
			keysByRow(table, order, moment, slotKeys);
		} else {
			order.orderKeys(table, moment, slotKeys);
		}

		// The bar's key: a row must come before it to be kept (no bar yet: every row is). No
		// closure reads it, so it stays in a register: offering is written out twice.
		let barKey = descending ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
		for (let slot = 0; slot < end; slot += sampleStride) {
			if (descending ? slotKeys[slot]! >= barKey : slotKeys[slot]! <= barKey) {
				top.offer(slot);
				barKey = top.last === undefined ? barKey : slotKeys[top.last]!;
			}
		}

		// The others, in the order of the loop below, without its division a row.
		for (let slot = 0; slot < end; slot++) {
			const key = slotKeys[slot]!;
			if ((descending ? key >= barKey : key <= barKey) && (slot & (sampleStride - 1)) !== 0) {
				top.offer(slot);
				barKey = top.last === undefined ? barKey : slotKeys[top.last]!;
			}
		}

		return {rows: top.sorted().map(slot => table.view(slot)), matched: table.size};
	}

	let matched = 0;
	const connection = table.view(0);
	const sampled = Math.ceil(end / sampleStride);
	for (let index = 0; index < end; index++) {
		const rest = index - sampled;
		const slot = rest < 0 ? index * sampleStride : rest + Math.floor(rest / (sampleStride - 1)) + 1;
		if (!table.holds(slot)) {
			continue;
		}

		connection.slot = slot;
		if (filter !== undefined && !filter.matchConnection(connection)) {
			continue;
		}

		matched++;
		const key = order.orderKey(connection, moment);
		slotKeys[slot] = key;
		// Most connections come after the k-th kept so far: one comparison of numbers.
		const bar = top.last;
		if (bar === undefined || (descending ? key >= slotKeys[bar]! : key <= slotKeys[bar]!)) {
			top.offer(slot);
		}
	}

	return {rows: top.sorted().map(slot => table.view(slot)), matched};
}

/**
 * The next row in the list (order and filter as `selection`) after the row of `fromKey`, or
 * before it with direction -1, that `wanted` accepts, wrapping around the list (to the row
 * itself when it is the only one); undefined when none is. With its index in the list.
 */
export function findRow(table: ConnectionTable, selection: Omit<RowSelection, 'limit'>, wanted: (connection: Connection) => boolean, fromKey: string | undefined, direction: 1 | -1): {index: number; key: string} | undefined {
	const {order, filter, descending} = selection;
	const moment = momentOf(table, selection.nowMs);
	const slotKeys = keysFor(table);
	order.orderKeys?.(table, moment, slotKeys);
	const before = slotOrder(table, order, descending, slotKeys);
	const from = fromKey === undefined ? undefined : table.get(fromKey)?.slot;
	const connection = table.view(0);
	const listed: number[] = [];
	// The nearest match past the row (in the direction), and the farthest back, for the wrap.
	let next: number | undefined;
	let wrapped: number | undefined;
	for (let slot = 0; slot < table.slotCount; slot++) {
		if (!table.holds(slot)) {
			continue;
		}

		connection.slot = slot;
		if (filter !== undefined && !filter.matchConnection(connection)) {
			continue;
		}

		if (!order.orderKeys) {
			slotKeys[slot] = order.orderKey(connection, moment);
		}

		listed.push(slot);
	}

	const fromListed = from !== undefined && listed.includes(from) ? from : undefined;
	const ahead = (x: number, y: number) => (direction === 1 ? before(x, y) : before(y, x));
	for (const slot of listed) {
		connection.slot = slot;
		if (!wanted(connection)) {
			continue;
		}

		if (fromListed !== undefined && slot !== fromListed && ahead(fromListed, slot)) {
			if (next === undefined || ahead(slot, next)) {
				next = slot;
			}
		} else if (wrapped === undefined || ahead(slot, wrapped)) {
			wrapped = slot;
		}
	}

	const found = next ?? wrapped;
	if (found === undefined) {
		return undefined;
	}

	let index = 0;
	for (const slot of listed) {
		if (before(slot, found)) {
			index++;
		}
	}

	return {index, key: table.view(found).key};
}

/** Whether a connection's row shows `text` (any case): its PID, command, container, endpoints or state. */
export function rowShows(text: string): (connection: Connection) => boolean {
	const needle = text.toLowerCase();
	return connection => `${connection.pid} ${connection.comm} ${connection.container} ${formatEndpoint(connection.laddr, connection.lport)} ${formatEndpoint(connection.raddr, connection.rport)} ${displayStateName(connection.state)}`.toLowerCase().includes(needle);
}
