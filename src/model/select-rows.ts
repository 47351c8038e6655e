// The rows a frame shows: filter, then the first k in an order (a column's, or trouble first),
// through one code path for every order.
import type {Connection} from './connection.js';
import type {ConnectionTable} from './connection-table.js';
import type {Filter} from './filter.js';
import type {OrderMoment, SortOrder} from './sort-orders.js';
import {TopK} from './top-k.js';

export type RowSelection = {
	readonly order: SortOrder;
	readonly descending: boolean;
	/** The frame's time, for the orders that read it. */
	readonly nowMs: number;
	/** How many rows to return. */
	readonly limit: number;
	readonly filter?: Filter;
};

/** One slot in this many is visited first (see selectRows). */
const sampleStride = 64;

/** Order keys by slot, kept from frame to frame (a million connections: 8 MB not made again). */
let keys = new Float64Array(0);

/** The first `limit` matching connections in the order; ties keep storage order. */
export function selectRows(table: ConnectionTable, selection: RowSelection): {rows: Connection[]; matched: number} {
	const {order, filter, descending} = selection;
	const moment: OrderMoment = {nowMs: selection.nowMs, isStuck: (connection, nowMs) => table.isStuck(connection, nowMs)};
	const sign = descending ? -1 : 1;
	// Each connection's order key is read once; the order's compareTied, where it has one,
	// runs only on equal keys, and storage order settles the rest.
	if (keys.length < table.slotCount) {
		keys = new Float64Array(Math.max(table.slotCount, 2 * keys.length));
	}

	const slotKeys = keys;
	const {compareTied} = order;
	const a = table.view(0);
	const b = table.view(0);
	const top = new TopK(selection.limit, (x, y) => {
		const kx = slotKeys[x]!;
		const ky = slotKeys[y]!;
		if (kx !== ky) {
			return descending ? kx > ky : kx < ky;
		}

		if (compareTied !== undefined) {
			a.slot = x;
			b.slot = y;
			const order = sign * compareTied(a, b);
			if (order !== 0) {
				return order < 0;
			}
		}

		return x < y;
	});
	let matched = 0;
	const connection = table.view(0);
	const end = table.slotCount;
	// Every sampleStride-th slot first: storage order often follows a column (rows are stored
	// as they open, so AGE is in order), and met in that order every row would beat the rows
	// kept so far. A sample across the table sets a bar near the final one at once.
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
