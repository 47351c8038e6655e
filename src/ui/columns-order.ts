import {columns} from '../model/columns.js';

/** The next (step 1) or previous (step -1) column in the table's order, wrapping around. */
export function neighbourColumn(sortKey: string, step: 1 | -1): string {
	const index = columns.findIndex(column => column.key === sortKey);
	return columns[(index + step + columns.length) % columns.length]!.key;
}
