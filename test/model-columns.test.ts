import test from 'ava';
import type {SocketPass} from '../src/core/source.js';
import {TcpState, type ExistingSocket, type SocketFigures, type Transition} from '../src/core/transition.js';
import {columnByKey, columns, compareAddress, fitColumns} from '../src/model/columns.js';
import type {Connection} from '../src/model/connection.js';
import {ConnectionTable} from '../src/model/connection-table.js';
import {compileFilter} from '../src/model/filter.js';
import {formatBytes, formatDuration, formatEndpoint, formatMicroseconds} from '../src/core/format.js';
import {selectRows} from '../src/model/select-rows.js';
import {sortOrders} from '../src/model/sort-orders.js';
import {TopK} from '../src/model/top-k.js';
import {connectionDetail} from '../src/ui/connection-detail.js';

const {ESTABLISHED, SYN_RECV, CLOSE_WAIT, LISTEN, CLOSE} = TcpState;

function established(table: ConnectionTable, fields: Partial<Transition> & {lport: number}): void {
	table.apply({
		monoMs: 0, wallMs: 0, sock: fields.lport, netns: 1, pid: 0, tid: 0, comm: '', family: 4,
		laddr: '10.0.0.1', raddr: '10.0.0.2', rport: 80, oldstate: SYN_RECV, newstate: ESTABLISHED, ms: null,
		...fields,
	});
}

test('the column table holds every column the list shows, with unique keys', t => {
	t.deepEqual(columns.map(column => column.title), ['PID', 'COMMAND', 'CONTAINER', 'LOCAL', 'REMOTE', 'STATE', 'AGE', 'IN STATE', 'TX/s', 'RX/s', 'RTT', 'RETRANS', 'RETR/s', 'DROPS', 'QUEUE']);
	t.is(new Set(columns.map(column => column.key)).size, columns.length);
	t.is(columnByKey('rtt')?.title, 'RTT');
	t.is(columnByKey('nope'), undefined);
});

test('columns format a connection', t => {
	const table = new ConnectionTable();
	table.apply({
		monoMs: 1000, wallMs: 0, sock: 1, netns: 1, pid: 0, tid: 0, comm: '', family: 6,
		laddr: '::1', lport: 8080, raddr: '::1', rport: 51_000, oldstate: ESTABLISHED, newstate: CLOSE_WAIT, ms: 500,
	});
	const counters = (monoMs: number, figures: SocketFigures): SocketPass => ({
		monoMs, wallMs: 0, namespaces: [1], owners: false, complete: false, sockets: [{
			monoMs, wallMs: 0, sock: 1, netns: 1, family: 6, laddr: '::1', lport: 8080, raddr: '::1', rport: 51_000, state: CLOSE_WAIT, pid: 0, comm: '', figures,
		}],
	});
	table.applyPass(counters(1000, {bytesAcked: 0, bytesReceived: 0, srttUs: 350, retransmits: 3}));
	table.applyPass(counters(2000, {bytesAcked: 1536, bytesReceived: 100, srttUs: 350, retransmits: 3}));
	const connection = table.find({netns: 1, laddr: '::1', lport: 8080, raddr: '::1', rport: 51_000})!;
	const cells = Object.fromEntries(columns.map(column => [column.key, column.format(connection, 73_000)]));
	t.deepEqual(cells, {
		pid: '-', comm: '-', container: '-', local: '[::1]:8080', remote: '[::1]:51000', state: 'CLOSE-WAIT',
		// First seen mid-life: at least that old.
		age: '>1m12s', inState: '1m12s', tx: '1.5K', rx: '100', rtt: '0.35ms', retrans: '3', retransRate: '0', drops: '-', queue: '-',
	});
});

test('a connection\'s drops: counted since the start, per second between passes, the last reason; in trouble while they grow', t => {
	const table = new ConnectionTable();
	for (const lport of [8080, 8081]) {
		established(table, {lport, monoMs: 500});
	}

	const figures = {bytesAcked: 0, bytesReceived: 0, srttUs: 100, retransmits: 0};
	const pass = (monoMs: number, drops: ReadonlyMap<string, number> | undefined, dropped: SocketFigures): SocketPass => ({
		monoMs, wallMs: 0, namespaces: [1], owners: false, complete: false, drops, sockets: [8080, 8081].map(lport => ({
			monoMs, wallMs: 0, sock: lport, netns: 1, family: 4 as const, laddr: '10.0.0.1', lport, raddr: '10.0.0.2', rport: 80, state: ESTABLISHED, pid: 0, comm: '',
			figures: lport === 8081 ? dropped : {...figures, drops: 0, dropReason: ''},
		})),
	});
	const find = (lport: number) => table.find({netns: 1, laddr: '10.0.0.1', lport, raddr: '10.0.0.2', rport: 80})!;
	const drops = columnByKey('drops')!;
	const detail = (lport: number) => {
		const {value, trouble} = connectionDetail(find(lport), 9000, false).fields.find(field => field.label === 'drops')!;
		return {value, trouble};
	};

	const troubleFirst = () => selectRows(table, {order: sortOrders[0]!, descending: true, limit: 10, nowMs: 9000}).rows.map(c => c.lport);

	// A source that does not count them (an old kernel, an old recording): not known.
	table.applyPass(pass(1000, undefined, figures));
	t.is(find(8081).drops, undefined);
	t.is(find(8081).dropsPerSec, undefined);
	t.is(drops.format(find(8081), 0), '-');
	t.is(detail(8081).value, '-');

	table.applyPass(pass(2000, new Map(), {...figures, drops: 0, dropReason: ''}));
	t.is(find(8081).drops, 0);
	t.is(find(8081).dropsPerSec, 0);
	table.applyPass(pass(3000, new Map([['QDISC_DROP', 6]]), {...figures, drops: 6, dropReason: 'QDISC_DROP'}));
	table.applyPass(pass(5000, new Map([['QDISC_DROP', 10]]), {...figures, drops: 10, dropReason: 'NETFILTER_DROP'}));
	const dropping = find(8081);
	t.is(dropping.drops, 10);
	t.is(dropping.dropsPerSec, 2, '4 over the 2 s between the passes');
	t.is(dropping.dropReason, 'NETFILTER_DROP');
	t.is(drops.format(dropping, 0), '10');
	t.is(drops.format(find(8080), 0), '-', 'none');
	t.is(find(8080).drops, 0);
	t.deepEqual(troubleFirst(), [8081, 8080], 'dropping now: trouble');
	t.deepEqual(detail(8081), {value: '10 packets dropped (2.0/s lately), the last NETFILTER_DROP', trouble: true});
	t.deepEqual(detail(8080), {value: 'none', trouble: false});
	t.deepEqual(selectRows(table, {order: drops, descending: true, limit: 10, nowMs: 9000}).rows.map(c => c.lport), [8081, 8080]);

	// A pass that leaves it out: its counters and drops did not move since.
	table.applyPass({...pass(6000, new Map([['QDISC_DROP', 10]]), figures), sockets: []});
	t.is(find(8081).dropsPerSec, 0);
	t.is(find(8081).drops, 10, 'kept');
	t.deepEqual(detail(8081), {value: '10 packets dropped, the last NETFILTER_DROP', trouble: false});
});

test('retransmits and drops per second as the kernel counted them (live), at every pass, passes of the listeners alone included', t => {
	const table = new ConnectionTable();
	for (const lport of [8080, 8081, 8082]) {
		established(table, {lport, monoMs: 500});
	}

	const figures = {bytesAcked: 0, bytesReceived: 0, srttUs: 100, retransmits: 0, drops: 0, dropReason: ''};
	// 8082 is never read by a pass: it has no counters.
	table.applyPass({
		monoMs: 1000, wallMs: 0, namespaces: [1], owners: false, complete: false, drops: new Map(),
		live: {fromMs: 0, toMs: 1000, counts: [8081, 3, 1], missed: 0},
		sockets: [8080, 8081].map(lport => ({
			monoMs: 1000, wallMs: 0, sock: lport, netns: 1, family: 4 as const, laddr: '10.0.0.1', lport, raddr: '10.0.0.2', rport: 80, state: ESTABLISHED, pid: 0, comm: '', figures,
		})),
	});
	const find = (lport: number) => table.find({netns: 1, laddr: '10.0.0.1', lport, raddr: '10.0.0.2', rport: 80})!;
	const rates = () => [8080, 8081, 8082].map(lport => [find(lport).retransmitsPerSec, find(lport).dropsPerSec]);
	t.deepEqual(rates(), [[0, 0], [3, 1], [undefined, undefined]]);
	const troubleFirst = () => selectRows(table, {order: sortOrders[0]!, descending: true, limit: 10, nowMs: 2000}).rows.map(c => c.lport);
	t.is(troubleFirst()[0], 8081);

	// A pass of the listeners alone reads no connection: the rates still come, over its span.
	table.applyPass({
		monoMs: 3000, wallMs: 0, namespaces: [1], owners: false, complete: false, listenersOnly: true, drops: new Map(), sockets: [],
		live: {fromMs: 1000, toMs: 3000, counts: [8080, 4, 0, 8082, 2, 0, 999, 5, 5], missed: 0},
	});
	t.deepEqual(rates(), [[2, 0], [0, 0], [1, 0]], 'a socket no row has is left out; 8082 retransmits before any counters are read');
	t.is(troubleFirst()[0], 8080);
	t.is(columnByKey('retransRate')!.format(find(8080), 0), '2.0');
});

test('formatters', t => {
	t.is(formatDuration(0), '0ms');
	t.is(formatDuration(850.7), '850ms');
	t.is(formatDuration(4250), '4.2s');
	t.is(formatDuration(37_000), '37s');
	t.is(formatDuration(725_000), '12m05s');
	t.is(formatDuration(3_600_000 * 3.12), '3h07m');
	t.is(formatDuration(86_400_000 * 2.2), '2d04h');
	t.is(formatBytes(512), '512');
	t.is(formatBytes(1000), '1.0K');
	t.is(formatBytes(34 * 1024 * 1024), '34M');
	t.is(formatMicroseconds(85), '85us');
	t.is(formatMicroseconds(12_400), '12ms');
	t.is(formatMicroseconds(1_250_000), '1.3s');
	t.is(formatEndpoint('10.0.0.1', 0), '10.0.0.1:*');
});

test('addresses compare as numbers, IPv4 before IPv6', t => {
	const compare = (a: string, b: string) => compareAddress(a, 0, b, 0);
	const sorted = ['10.0.0.10', '::1', '10.0.0.9', '9.255.255.255', 'fe80::1', '10.0.0.9', '::ffff:1.2.3.4', '192.168.0.1'].sort(compare);
	t.deepEqual(sorted, ['9.255.255.255', '10.0.0.9', '10.0.0.9', '10.0.0.10', '192.168.0.1', '::1', '::ffff:1.2.3.4', 'fe80::1']);
	t.is(compare('10.0.0.1', '10.0.0.1'), 0);
	t.true(compareAddress('x 10.0.0.9 1', 2, '10.0.0.10 7 ::1', 0) < 0, 'reads up to the next space inside a longer string');
	t.true(compareAddress('1.2.3.4 5 ::1 6', 10, '1.2.3.4 5 10.0.0.1 6', 10) > 0);
});

test('fitColumns cuts COMMAND before dropping a column, drops the highest priority numbers first, keeps the essentials', t => {
	const titles = (width: number) => fitColumns(width).map(column => column.title);
	const commandWidth = (width: number) => fitColumns(width).find(column => column.key === 'comm')?.width;
	t.is(titles(500).length, columns.length);
	t.is(commandWidth(500), 15);
	t.deepEqual(titles(80), ['PID', 'COMMAND', 'LOCAL', 'REMOTE', 'STATE', 'IN STATE']);
	t.is(commandWidth(80), 8);
	t.deepEqual(titles(86), ['PID', 'COMMAND', 'LOCAL', 'REMOTE', 'STATE', 'IN STATE']);
	t.is(commandWidth(86), 14);
	t.deepEqual(titles(87), ['PID', 'COMMAND', 'LOCAL', 'REMOTE', 'STATE', 'IN STATE']);
	t.is(commandWidth(87), 15);
	t.deepEqual(titles(88), ['PID', 'COMMAND', 'LOCAL', 'REMOTE', 'STATE', 'AGE', 'IN STATE']);
	t.is(commandWidth(88), 8);
	t.deepEqual(titles(91), ['PID', 'COMMAND', 'LOCAL', 'REMOTE', 'STATE', 'AGE', 'IN STATE']);
	t.is(commandWidth(91), 11);
	t.deepEqual(titles(72), ['PID', 'COMMAND', 'LOCAL', 'REMOTE', 'STATE']);
	t.deepEqual(titles(10), ['LOCAL', 'REMOTE', 'STATE']);
	for (const width of [60, 72, 80, 86, 87, 88, 91, 100, 120]) {
		const used = fitColumns(width).reduce((sum, column) => sum + column.width + 1, -1);
		t.true(used <= width, `${width} columns`);
	}
});

test('TopK keeps the first k of an order, whatever the arrival order', t => {
	const values = [5, 3, 9, 1, 7, 2, 8, 6, 4, 0];
	const top = new TopK(4, (a, b) => values[a]! > values[b]!);
	for (let id = 0; id < values.length; id++) {
		top.offer(id);
	}

	t.deepEqual(top.sorted().map(id => values[id]), [9, 8, 7, 6]);
	const none = new TopK(0, () => true);
	none.offer(1);
	t.deepEqual(none.sorted(), []);
});

test('selectRows sorts by any column in both directions and returns only the top k', t => {
	const table = new ConnectionTable();
	const pids = [300, 100, 500, 200, 400];
	for (const [index, pid] of pids.entries()) {
		established(table, {lport: 1000 + index, monoMs: index * 10});
		table.apply({
			monoMs: 100 + index, wallMs: 0, sock: 1000 + index, netns: 1, pid, tid: pid, comm: `app${index}`, family: 4,
			laddr: '10.0.0.1', lport: 1000 + index, raddr: '10.0.0.2', rport: 80, oldstate: ESTABLISHED, newstate: TcpState.FIN_WAIT1, ms: null,
		});
	}

	const pid = columnByKey('pid')!;
	const pidsOf = (descending: boolean, limit: number) => selectRows(table, {order: pid, descending, limit, nowMs: 0}).rows.map(row => row.pid);
	t.deepEqual(pidsOf(false, 3), [100, 200, 300]);
	t.deepEqual(pidsOf(true, 3), [500, 400, 300]);
	t.deepEqual(pidsOf(true, 50), [500, 400, 300, 200, 100]);

	const age = columnByKey('age')!;
	t.deepEqual(selectRows(table, {order: age, descending: age.descendingByDefault, limit: 2, nowMs: 0}).rows.map(row => row.lport), [1000, 1001], 'oldest first');
	const local = columnByKey('local')!;
	t.deepEqual(selectRows(table, {order: local, descending: true, limit: 2, nowMs: 0}).rows.map(row => row.lport), [1004, 1003]);

	const filter = compileFilter('pid >= 300');
	t.true(filter.ok);
	const filtered = selectRows(table, {order: pid, descending: false, limit: 2, filter: filter.ok ? filter.filter : undefined, nowMs: 0});
	t.deepEqual(filtered.rows.map(row => row.pid), [300, 400]);
	t.is(filtered.matched, 3);
});

test('every column sorts a table both ways consistently with its compare', t => {
	const table = new ConnectionTable();
	for (let index = 0; index < 40; index++) {
		established(table, {lport: 2000 + index, monoMs: (index * 7919) % 97, laddr: `10.0.${index % 3}.${index % 11}`, pid: 0});
		if (index % 2 === 0) {
			table.apply({
				monoMs: 200, wallMs: 0, sock: 0, netns: 1, pid: 0, tid: 0, comm: '', family: 4,
				laddr: `10.0.${index % 3}.${index % 11}`, lport: 2000 + index, raddr: '10.0.0.2', rport: 80, oldstate: ESTABLISHED, newstate: index % 4 === 0 ? CLOSE : CLOSE_WAIT, ms: null,
			});
		}
	}

	table.apply({monoMs: 5, wallMs: 0, sock: 9, netns: 1, pid: 1, tid: 1, comm: 'init', family: 4, laddr: '0.0.0.0', lport: 22, raddr: '0.0.0.0', rport: 0, oldstate: CLOSE, newstate: LISTEN, ms: null});
	const slots: number[] = [];
	table.forEach(connection => slots.push(connection.slot));
	for (const column of columns) {
		for (const descending of [false, true]) {
			const {rows} = selectRows(table, {order: column, descending, limit: 10, nowMs: 0});
			const sign = descending ? -1 : 1;
			const fullSort = [...slots].sort((x, y) => (sign * column.compare(table.view(x), table.view(y))) || x - y);
			t.deepEqual(rows.map(row => row.slot), fullSort.slice(0, 10), `${column.key}: the same rows as a full sort`);
			for (let index = 1; index < rows.length; index++) {
				const order = column.compare(rows[index - 1]!, rows[index]!) * (descending ? -1 : 1);
				t.true(order <= 0, `${column.key} ${descending ? 'descending' : 'ascending'} at row ${index}`);
			}
		}
	}
});

test('TopK picks the same k as a full sort when every item beats the ones before it, and in any order', t => {
	const count = 5000;
	for (const order of ['ascending', 'descending', 'shuffled'] as const) {
		const values = Array.from({length: count}, (_, index) => (order === 'shuffled' ? (index * 7919) % count : index));
		if (order === 'descending') {
			values.reverse();
		}

		const top = new TopK(50, (a, b) => values[a]! > values[b]! || (values[a] === values[b] && a < b));
		for (let id = 0; id < count; id++) {
			top.offer(id);
		}

		t.deepEqual(top.sorted().map(id => values[id]), Array.from({length: 50}, (_, index) => count - 1 - index), order);
	}
});

/**
 * Connections over many addresses (IPv4 and IPv6), commands, ages, pids and ports, and counters
 * for every other one (known and unknown values side by side); their slots.
 */
function variedTable(): {table: ConnectionTable; all: number[]} {
	const table = new ConnectionTable();
	const addresses = ['10.0.0.9', '10.0.0.10', '9.255.255.255', '127.0.0.1', '0.0.0.0', '::1', 'fe80::1', '::ffff:10.0.0.1', '2001:db8::10'];
	const comms = ['', 'a', 'ab', 'abc', 'abcd', 'abd', 'b', 'Z', 'é', '\u001B]0;x', 'nginx', 'nginx: worker'];
	let lport = 3000;
	for (const [index, laddr] of addresses.entries()) {
		for (const raddr of addresses.slice(index % 3, (index % 3) + 4)) {
			if (laddr.includes(':') !== raddr.includes(':')) {
				continue;
			}

			const comm = comms[lport % comms.length]!;
			established(table, {lport: lport++, laddr, raddr, rport: 80 + (lport % 3), family: laddr.includes(':') ? 6 : 4, monoMs: lport % 7});
			table.apply({
				monoMs: 50, wallMs: 0, sock: lport, netns: 1, pid: lport % 5, tid: 0, comm, family: laddr.includes(':') ? 6 : 4,
				laddr, lport: lport - 1, raddr, rport: 80 + (lport % 3), oldstate: ESTABLISHED, newstate: TcpState.FIN_WAIT1, ms: null,
			});
		}
	}

	const sampled: ExistingSocket[] = [];
	table.forEach(connection => {
		if (connection.lport % 2 === 0) {
			const {netns, family, laddr, lport, raddr, rport, state} = connection;
			sampled.push({monoMs: 0, wallMs: 0, sock: lport, netns, family, laddr, lport, raddr, rport, state, pid: 0, comm: '', figures: undefined});
		}
	});
	const counters = (monoMs: number, scale: number): SocketPass => ({
		monoMs, wallMs: 0, namespaces: [1], owners: false, complete: false, drops: new Map(),
		sockets: sampled.map(socket => ({...socket, figures: {
			bytesAcked: scale * (socket.lport % 13), bytesReceived: scale * (socket.lport % 7), srttUs: socket.lport % 4, retransmits: scale * (socket.lport % 3),
			drops: scale * (socket.lport % 5), dropReason: 'QDISC_DROP',
		}})),
	});
	table.applyPass(counters(1000, 1));
	table.applyPass(counters(2000, 3));
	const all: number[] = [];
	table.forEach(connection => all.push(connection.slot));
	return {table, all};
}

test('each column\'s order key agrees with its compareTied: a smaller key is never a later value', t => {
	const {table, all} = variedTable();
	t.true(all.length > 20);
	const tied = columns.filter(column => column.compareTied !== undefined);
	t.deepEqual(tied.map(column => column.key), ['comm', 'container', 'local', 'remote']);
	for (const column of tied) {
		for (const x of all) {
			for (const y of all) {
				const a = table.view(x);
				const b = table.view(y);
				if (column.orderKey(a) < column.orderKey(b)) {
					t.true(column.compareTied!(a, b) < 0, `${column.key}: ${a.key} / ${a.comm} before ${b.key} / ${b.comm}`);
				}
			}
		}
	}
});

test('each column orders by its value: text as strings, endpoints by address as numbers then port, unknown below known', t => {
	const {table, all} = variedTable();
	const text = (a: string, b: string) => (a < b ? -1 : (a > b ? 1 : 0));
	const optional = (a: number | undefined, b: number | undefined) =>
		(a === undefined || b === undefined ? (a === undefined ? 0 : 1) - (b === undefined ? 0 : 1) : a - b);
	const byValue: Record<string, (a: Connection, b: Connection) => number> = {
		pid: (a, b) => a.pid - b.pid,
		comm: (a, b) => text(a.comm, b.comm),
		container: (a, b) => text(a.container, b.container),
		local: (a, b) => compareAddress(a.laddr, 0, b.laddr, 0) || a.lport - b.lport,
		remote: (a, b) => compareAddress(a.raddr, 0, b.raddr, 0) || a.rport - b.rport,
		state: (a, b) => a.state - b.state,
		age: (a, b) => b.firstSeenMs - a.firstSeenMs,
		inState: (a, b) => b.stateSinceMs - a.stateSinceMs,
		tx: (a, b) => optional(a.txBytesPerSec, b.txBytesPerSec),
		rx: (a, b) => optional(a.rxBytesPerSec, b.rxBytesPerSec),
		rtt: (a, b) => optional(a.srttUs, b.srttUs),
		retrans: (a, b) => optional(a.retransmits, b.retransmits),
		retransRate: (a, b) => optional(a.retransmitsPerSec, b.retransmitsPerSec),
		drops: (a, b) => optional(a.drops, b.drops),
		queue: (a, b) => optional(a.queue?.acceptQueue, b.queue?.acceptQueue),
	};
	t.deepEqual(Object.keys(byValue), columns.map(column => column.key));
	t.true(all.some(slot => table.view(slot).txBytesPerSec === undefined) && all.some(slot => table.view(slot).txBytesPerSec !== undefined));
	for (const column of columns) {
		for (const x of all) {
			for (const y of all) {
				const a = table.view(x);
				const b = table.view(y);
				t.is(Math.sign(column.compare(a, b)), Math.sign(byValue[column.key]!(a, b)), `${column.key}: ${a.key} / ${a.comm} against ${b.key} / ${b.comm}`);
			}
		}
	}
});

test('LOCAL and REMOTE orders follow a slot given to another connection', t => {
	const table = new ConnectionTable({lingerMs: 0});
	const local = columnByKey('local')!;
	const remote = columnByKey('remote')!;
	const order = (column = local) => selectRows(table, {order: column, descending: false, limit: 10, nowMs: 0}).rows.map(row => `${row.laddr}>${row.raddr}`);
	established(table, {lport: 1, laddr: '10.0.0.5', raddr: '10.0.0.1'});
	established(table, {lport: 2, laddr: '10.0.0.9', raddr: '10.0.0.2'});
	t.deepEqual(order(), ['10.0.0.5>10.0.0.1', '10.0.0.9>10.0.0.2']);
	t.deepEqual(order(remote), ['10.0.0.5>10.0.0.1', '10.0.0.9>10.0.0.2']);
	// The first closes and goes; a new connection takes its slot, with addresses that sort last.
	table.apply({
		monoMs: 10, wallMs: 0, sock: 1, netns: 1, pid: 0, tid: 0, comm: '', family: 4,
		laddr: '10.0.0.5', lport: 1, raddr: '10.0.0.1', rport: 80, oldstate: ESTABLISHED, newstate: CLOSE, ms: null,
	});
	table.sweep(20);
	established(table, {lport: 3, laddr: '10.0.0.200', raddr: '10.0.0.3', sock: 3});
	t.is(table.slotCount, 2, 'the freed slot was given to the new connection');
	t.deepEqual(order(), ['10.0.0.9>10.0.0.2', '10.0.0.200>10.0.0.3']);
	t.deepEqual(order(remote), ['10.0.0.9>10.0.0.2', '10.0.0.200>10.0.0.3']);
});
