// One frame of the connection list: pick the 50 rows to show from 100,000 connections by a
// column (top-K), then format every cell of those rows. Reported per column, both directions,
// with and without a filter, as the median of repeated frames.
//
//   node --import=tsx bench/model-frame.ts [connections=100000] [rows=50]
import {performance} from 'node:perf_hooks';
import {TcpState} from '../src/capture/transition.js';
import {columns} from '../src/model/columns.js';
import {ConnectionTable} from '../src/model/connection-table.js';
import {compileFilter} from '../src/model/filter.js';
import {selectRows, type RowSelection} from '../src/model/select-rows.js';

const connections = Number(process.argv[2] ?? 100_000);
const rows = Number(process.argv[3] ?? 50);
const frames = 21;
const {SYN_RECV, ESTABLISHED, CLOSE_WAIT} = TcpState;

const table = new ConnectionTable({maxConnections: connections});
for (let index = 0; index < connections; index++) {
	const tuple = {
		netns: 1, laddr: `10.0.${(index >> 8) & 255}.${index & 255}`, lport: 1024 + (index % 50_000),
		raddr: `172.16.${index % 200}.${index % 250}`, rport: [443, 80, 5432, 6379][index % 4]!,
	};
	const base = {wallMs: 0, sock: index, pid: 1000 + (index % 500), tid: 0, comm: `worker-${index % 37}`, family: 4 as const, ...tuple};
	table.apply({...base, monoMs: index / 10, oldstate: SYN_RECV, newstate: ESTABLISHED, ms: null});
	if (index % 3 === 0) {
		table.apply({...base, monoMs: (index / 10) + 500, oldstate: ESTABLISHED, newstate: CLOSE_WAIT, ms: null});
	}

	table.applyStats({...tuple, monoMs: 10_000, bytesAcked: index * 7, bytesReceived: index * 3, srttUs: 50 + (index % 9000), retransmits: index % 5});
	table.applyStats({...tuple, monoMs: 11_000, bytesAcked: index * 13, bytesReceived: index * 5, srttUs: 60 + (index % 9000), retransmits: index % 7});
}

const now = 20_000;
function frame(selection: RowSelection): void {
	for (const row of selectRows(table, selection).rows) {
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

console.log(`${table.size.toLocaleString('en-US')} connections, ${rows} rows per frame, median of ${frames} frames (ms)`);
console.log('column      ascending  descending  filtered');
for (const column of columns) {
	const ascending = median({column, descending: false, limit: rows});
	const descending = median({column, descending: true, limit: rows});
	const filtered = median({column, descending: column.descendingByDefault, limit: rows, filter: filter.filter});
	console.log(`${column.title.padEnd(10)} ${ascending.toFixed(2).padStart(10)} ${descending.toFixed(2).padStart(11)} ${filtered.toFixed(2).padStart(9)}`);
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
