// A row as one line of fixed-width cells, so each connection is a single <Text>.
import {columns, type Column} from './columns.js';

/** The cell for one column: padded to its width, cut to it when longer. */
export function cell(text: string, column: Pick<Column, 'width' | 'align'>): string {
	const fitted = text.length > column.width ? text.slice(0, column.width) : text;
	return column.align === 'right' ? fitted.padStart(column.width) : fitted.padEnd(column.width);
}

// fitColumns hands back copies of the columns it narrows: cells are found by key.
const indexByKey = new Map(columns.map((column, index) => [column.key, index]));

/** A row's cells (indexed as the model's column table) for the columns shown, one space apart. */
export function rowText(cells: readonly string[], shown: readonly Column[]): string {
	return shown.map(column => cell(cells[indexByKey.get(column.key)!] ?? '', column)).join(' ');
}
