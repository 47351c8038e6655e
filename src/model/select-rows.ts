// The rows a frame shows: filter, then the first k by a column, through one code path for
// every column.
import type {Column} from './columns.js';
import type {Connection} from './connection.js';
import type {ConnectionTable} from './connection-table.js';
import type {Filter} from './filter.js';
import {TopK} from './top-k.js';

export type RowSelection = {
	readonly column: Column;
	readonly descending: boolean;
	/** How many rows to return. */
	readonly limit: number;
	readonly filter?: Filter;
};

/** The first `limit` matching connections in column order; ties keep storage order. */
export function selectRows(table: ConnectionTable, selection: RowSelection): {rows: Connection[]; matched: number} {
	const {column, filter, descending} = selection;
	const sign = descending ? -1 : 1;
	// Each connection's order key is read once; the column's compare runs only on equal keys.
	const keys = new Float64Array(table.slotCount);
	const a = table.view(0);
	const b = table.view(0);
	const top = new TopK(selection.limit, (x, y) => {
		const kx = keys[x]!;
		const ky = keys[y]!;
		if (kx !== ky) {
			return descending ? kx > ky : kx < ky;
		}

		a.slot = x;
		b.slot = y;
		const order = sign * column.compare(a, b);
		return order < 0 || (order === 0 && x < y);
	});
	let matched = 0;
	table.forEach(connection => {
		if (filter === undefined || filter.matchConnection(connection)) {
			matched++;
			keys[connection.slot] = column.orderKey(connection);
			top.offer(connection.slot);
		}
	});
	return {rows: top.sorted().map(slot => table.view(slot)), matched};
}
