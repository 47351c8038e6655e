// One frame of the connection list: pick the 50 rows to show from 100,000 connections by a
// column (top-K), then format every cell of those rows. Reported per column, both directions,
// with and without a filter, as the median of repeated frames; next to it, in the same run,
// the way selectRows picked rows before (a heap of k over the column's compare) and the ratio.
//
//   node --import=tsx bench/model-frame.ts [connections=100000] [rows=50]
import {performance} from 'node:perf_hooks';
import {columns, type Column} from '../src/model/columns.js';
import {compileFilter} from '../src/model/filter.js';
import type {Connection} from '../src/model/connection.js';
import {selectRows, type RowSelection} from '../src/model/select-rows.js';
import {troubleOrder} from '../src/model/sort-orders.js';
import {fillTable} from './fill-table.js';

const connections = Number(process.argv[2] ?? 100_000);
const rows = Number(process.argv[3] ?? 50);
const frames = 21;

const table = fillTable(connections);

/** The previous selectRows: a heap of k ordered by the column's compare, every comparison through it. */
function heapSelect(selection: RowSelection): Connection[] {
	const {filter, limit} = selection;
	const column = selection.order as Column;
	const sign = selection.descending ? -1 : 1;
	const a = table.view(0);
	const b = table.view(0);
	const before = (x: number, y: number) => {
		a.slot = x;
		b.slot = y;
		const order = sign * column.compare(a, b);
		return order < 0 || (order === 0 && x < y);
	};

	const heap: number[] = [];
	const siftDown = (start: number) => {
		for (let index = start; ;) {
			let last = index;
			for (const child of [(2 * index) + 1, (2 * index) + 2]) {
				if (child < heap.length && before(heap[last]!, heap[child]!)) {
					last = child;
				}
			}

			if (last === index) {
				return;
			}

			[heap[last], heap[index]] = [heap[index]!, heap[last]!];
			index = last;
		}
	};

	table.forEach(connection => {
		if (filter !== undefined && !filter.matchConnection(connection)) {
			return;
		}

		if (heap.length < limit) {
			heap.push(connection.slot);
			for (let index = heap.length - 1; index > 0 && before(heap[(index - 1) >> 1]!, heap[index]!); index = (index - 1) >> 1) {
				[heap[(index - 1) >> 1], heap[index]] = [heap[index]!, heap[(index - 1) >> 1]!];
			}
		} else if (before(connection.slot, heap[0]!)) {
			heap[0] = connection.slot;
			siftDown(0);
		}
	});
	return heap.sort((x, y) => (before(x, y) ? -1 : 1)).map(slot => table.view(slot));
}

const now = 20_000;
let select = (selection: RowSelection) => selectRows(table, selection).rows;
function frame(selection: RowSelection): void {
	for (const row of select(selection)) {
		for (const column of columns) {
			column.format(row, now);
		}
	}
}

function median(selection: RowSelection): number {
	const times: number[] = [];
	for (let index = 0; index < frames; index++) {
		const start = performance.now();
		frame(selection);
		times.push(performance.now() - start);
	}

	return times.sort((a, b) => a - b)[frames >> 1]!;
}

const filter = compileFilter('state established and dport = :443 and src 10.0.0.0/16');
if (!filter.ok) {
	throw new Error(filter.error.message);
}

console.log(`${table.size.toLocaleString('en-US')} connections, ${rows} rows per frame, median of ${frames} frames (ms);`);
console.log('each cell: selectRows / the previous heap = ratio');
console.log('column     ascending                 descending                filtered');
const cell = (selection: RowSelection) => {
	select = current => selectRows(table, current).rows;
	const now = median(selection);
	select = heapSelect;
	const before = median(selection);
	return `${now.toFixed(2).padStart(6)} / ${before.toFixed(2).padStart(6)} = ${(now / before).toFixed(2)}`.padEnd(26);
};

for (const column of columns) {
	const ascending = cell({order: column, descending: false, limit: rows, nowMs: 0});
	const descending = cell({order: column, descending: true, limit: rows, nowMs: 0});
	const filtered = cell({order: column, descending: column.descendingByDefault, limit: rows, filter: filter.filter, nowMs: 0});
	console.log(`${column.title.padEnd(10)} ${ascending}${descending}${filtered}`);
}

const fullSort = (() => {
	const column = columns.find(candidate => candidate.key === 'remote')!;
	const start = performance.now();
	const all: number[] = [];
	table.forEach(connection => all.push(connection.slot));
	const a = table.view(0);
	const b = table.view(0);
	all.sort((x, y) => {
		a.slot = x;
		b.slot = y;
		return column.compare(a, b);
	});
	return performance.now() - start;
})();
console.log(`for comparison, one full sort of every connection by REMOTE: ${fullSort.toFixed(1)} ms`);

// The default order reads more of each connection than a column does (its state, trouble,
// rates): side by side with IN STATE, the order it replaced as the default.
select = current => selectRows(table, current).rows;
const inState = columns.find(candidate => candidate.key === 'inState')!;
const byTrouble = median({order: troubleOrder, descending: true, limit: rows, nowMs: now});
const byInState = median({order: inState, descending: true, limit: rows, nowMs: now});
console.log(`TROUBLE (the default) ${byTrouble.toFixed(2)} ms a frame, IN STATE ${byInState.toFixed(2)} ms: ${(byTrouble / byInState).toFixed(2)}`);
