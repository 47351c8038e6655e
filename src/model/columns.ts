// The connection list's columns as data (htop's model): sorting by any column is one code path,
// and adding a column is adding a row here.
import {TcpState} from '../core/transition.js';
import type {Connection} from './connection.js';
import {remoteAddressOffset} from './connection-key.js';
import {formatBytes, formatDuration, formatEndpoint, formatMicroseconds, formatPerSecond} from '../core/format.js';
import {displayStateName} from '../core/tcp-states.js';

export type Column = {
	readonly key: string;
	readonly title: string;
	readonly width: number;
	/** Narrowest the column may be cut to (its text truncated) to keep other columns on screen. */
	readonly minWidth?: number;
	/** 1 is kept longest; as the terminal narrows, columns with the highest number go first. */
	readonly priority: number;
	readonly align: 'left' | 'right';
	format(connection: Connection, nowMs: number): string;
	/**
	 * The column's order as a number per connection: a smaller key sorts first (ascending; a
	 * sort direction flips it). A sort reads it once per connection per frame, and compares
	 * numbers.
	 */
	orderKey(connection: Connection): number;
	/**
	 * The order of connections whose keys are equal, for a column whose key holds only part of
	 * its value (a text's first characters, an IPv6 endpoint); absent where equal keys are equal
	 * values.
	 */
	readonly compareTied?: (a: Connection, b: Connection) => number;
	/** The whole order, ascending: orderKey, then compareTied (made from them; see ordered). */
	compare(a: Connection, b: Connection): number;
	/** Sort biggest first when the user picks the column (rates, ages), as top does. */
	readonly descendingByDefault: boolean;
	/** Left out of batch mode's text when no row printed has a value for it ('-' in every cell). */
	readonly onlyWhenKnown?: boolean;
};

/**
 * An order key worked out from a connection's key string, kept by slot with the string it came
 * from: a frame sorted by an address reads it for every connection, and parsing the address
 * each time cost a million rows 40-60 ms a frame. A slot whose key string is another (a new
 * connection in the slot, a connect given its port) is worked out again. Kept only for the
 * columns sorted by, about 12 bytes a slot. (Declared ahead of the column list, which makes one
 * for each address column.)
 */
class KeyCache {
	#strings: Array<string | undefined> = [];
	#values = new Float64Array(0);

	constructor(private readonly work: (key: string, connection: Connection) => number) {}

	of(connection: Connection): number {
		const {slot, key} = connection;
		if (this.#strings[slot] === key) {
			return this.#values[slot]!;
		}

		if (slot >= this.#values.length) {
			const values = new Float64Array(Math.max(1024, slot + 1, 2 * this.#values.length));
			values.set(this.#values);
			this.#values = values;
		}

		const value = this.work(key, connection);
		this.#strings[slot] = key;
		this.#values[slot] = value;
		return value;
	}
}

/** A column as the list below states it: its order once, by orderKey and compareTied (see ordered). */
type ColumnSpec = Omit<Column, 'compare'>;

export const columns: readonly Column[] = ([
	{
		key: 'pid', title: 'PID', width: 7, priority: 3, align: 'right', descendingByDefault: false,
		format: c => (c.pid === 0 ? '-' : String(c.pid)),
		orderKey: c => c.pid,
	},
	{
		key: 'comm', title: 'COMMAND', width: 15, minWidth: 8, priority: 2, align: 'left', descendingByDefault: false,
		format: c => c.comm || '-',
		// A text's order: its first characters as the key, the whole text on equal keys. Written
		// out in each text column: closures made by one helper for both would read the text
		// through one more call, and sorting by COMMAND (every comparison a tie when commands
		// share their first characters) takes a third longer so.
		orderKey: c => textKey(c.comm),
		compareTied: (a, b) => compareText(a.comm, b.comm),
	},
	{
		// Dropped first as the terminal narrows: hosts without containers show systemd units here.
		key: 'container', title: 'CONTAINER', width: 12, priority: 9, align: 'left', descendingByDefault: false, onlyWhenKnown: true,
		format: c => c.container || '-',
		orderKey: c => textKey(c.container),
		compareTied: (a, b) => compareText(a.container, b.container),
	},
	{
		key: 'local', title: 'LOCAL', width: 21, priority: 1, align: 'left', descendingByDefault: false,
		format: c => formatEndpoint(c.laddr, c.lport),
		...byEndpoint(() => 0, c => c.lport),
	},
	{
		key: 'remote', title: 'REMOTE', width: 21, priority: 1, align: 'left', descendingByDefault: false,
		format: c => formatEndpoint(c.raddr, c.rport),
		...byEndpoint(remoteAddressOffset, c => c.rport),
	},
	{
		key: 'state', title: 'STATE', width: 10, priority: 1, align: 'left', descendingByDefault: false,
		format: c => displayStateName(c.state),
		orderKey: c => c.state,
	},
	{
		key: 'age', title: 'AGE', width: 7, priority: 5, align: 'right', descendingByDefault: true,
		// ">12s": found already open, so at least that old.
		format: (c, now) => (c.ageIsLowerBound ? '>' : '') + formatDuration(now - c.firstSeenMs),
		// Older first-seen means greater age.
		orderKey: c => -c.firstSeenMs,
	},
	{
		key: 'inState', title: 'IN STATE', width: 8, priority: 4, align: 'right', descendingByDefault: true,
		format: (c, now) => (c.inStateIsLowerBound ? '>' : '') + formatDuration(now - c.stateSinceMs),
		orderKey: c => -c.stateSinceMs,
	},
	{
		key: 'tx', title: 'TX/s', width: 6, priority: 6, align: 'right', descendingByDefault: true,
		format: c => optional(c.txBytesPerSec, formatBytes),
		orderKey: c => optionalKey(c.txBytesPerSec),
	},
	{
		key: 'rx', title: 'RX/s', width: 6, priority: 6, align: 'right', descendingByDefault: true,
		format: c => optional(c.rxBytesPerSec, formatBytes),
		orderKey: c => optionalKey(c.rxBytesPerSec),
	},
	{
		key: 'rtt', title: 'RTT', width: 7, priority: 7, align: 'right', descendingByDefault: true,
		format: c => optional(c.srttUs, formatMicroseconds),
		orderKey: c => optionalKey(c.srttUs),
	},
	{
		key: 'retrans', title: 'RETRANS', width: 7, priority: 8, align: 'right', descendingByDefault: true,
		// A connect's retransmits are its SYN's: "SYN×3" says it is retrying.
		format: c => optional(c.retransmits, count => (c.state === TcpState.SYN_SENT && count > 0 ? `SYN×${count}` : String(count))),
		orderKey: c => optionalKey(c.retransmits),
	},
	{
		key: 'retransRate', title: 'RETR/s', width: 6, priority: 8, align: 'right', descendingByDefault: true,
		format: c => optional(c.retransmitsPerSec, formatPerSecond),
		orderKey: c => optionalKey(c.retransmitsPerSec),
	},
	{
		// Packets the kernel dropped for it since tcptop started; '-' for none (or not counted).
		key: 'drops', title: 'DROPS', width: 6, priority: 9, align: 'right', descendingByDefault: true, onlyWhenKnown: true,
		format: c => (c.drops ? (c.drops < 10_000 ? String(c.drops) : formatPerSecond(c.drops)) : '-'),
		orderKey: c => optionalKey(c.drops),
	},
	{
		// A listener's accept queue over its backlog, as ss shows them (Recv-Q/Send-Q).
		key: 'queue', title: 'QUEUE', width: 7, priority: 8, align: 'right', descendingByDefault: true, onlyWhenKnown: true,
		format: c => queueText(c.queue),
		orderKey: c => optionalKey(c.queue?.acceptQueue),
	},
] satisfies ColumnSpec[]).map(ordered);

/** A column with its compare, made from its order key and, on equal keys, its compareTied. */
function ordered(spec: ColumnSpec): Column {
	const {orderKey, compareTied} = spec;
	// Every field named, in one order, whether the column has it or not: each column then has
	// one shape, and selectRows' read of orderKey, made for every connection, meets only it.
	return {
		key: spec.key,
		title: spec.title,
		width: spec.width,
		minWidth: spec.minWidth,
		priority: spec.priority,
		align: spec.align,
		format: spec.format,
		orderKey,
		compareTied,
		descendingByDefault: spec.descendingByDefault,
		onlyWhenKnown: spec.onlyWhenKnown,
		compare(a, b) {
			const x = orderKey(a);
			const y = orderKey(b);
			if (x !== y) {
				return x < y ? -1 : 1;
			}

			return compareTied === undefined ? 0 : compareTied(a, b);
		},
	};
}

/**
 * Orders by an endpoint: the address held in the connection key from start(key), as numbers
 * (see compareAddress), then the port. The key of an IPv4 endpoint is the whole of it; every
 * IPv6 endpoint has one key (see endpointKey), and is ordered on equal keys.
 */
function byEndpoint(start: (key: string) => number, port: (connection: Connection) => number): Pick<Column, 'orderKey' | 'compareTied'> {
	const keys = new KeyCache((key, c) => endpointKey(key, start(key), port(c)));
	return {
		orderKey: c => keys.of(c),
		compareTied: (a, b) => compareAddress(a.key, start(a.key), b.key, start(b.key)) || port(a) - port(b),
	};
}

/** "5/4", and the drops since tcptop started when there were any ("5/4 !12"). */
function queueText(queue: Connection['queue']): string {
	if (queue === undefined) {
		return '-';
	}

	return `${queue.acceptQueue}/${queue.acceptBacklog}${queue.drops > 0 ? ` !${queue.drops}` : ''}`;
}

export function columnByKey(key: string): Column | undefined {
	return columns.find(column => column.key === key);
}

/**
 * The column a user names, as --sort takes it: by its key or its title, in any case, without
 * punctuation and with a rate's "/s" left off ("in-state", "TX/s", "tx", "retr").
 */
export function columnNamed(name: string): Column | undefined {
	const wanted = normalisedName(name);
	return columns.find(column => normalisedName(column.key) === wanted || normalisedName(column.title) === wanted);
}

function normalisedName(name: string): string {
	return name.toLowerCase().replace(/\/s$/, '').replace(/[^a-z]/g, '');
}

/**
 * The columns that fit in a terminal width (one space between columns), in table order:
 * cuts columns that have a minWidth when that is enough (as top cuts COMMAND), else drops the
 * highest priority numbers first, and never the priority-1 columns. A cut column comes back as
 * a copy with its narrower width.
 */
export function fitColumns(width: number, from: readonly Column[] = columns): Column[] {
	const kept = [...from];
	const used = () => kept.reduce((sum, column) => sum + column.width, 0) + Math.max(0, kept.length - 1);
	const slack = () => kept.reduce((sum, column) => sum + column.width - (column.minWidth ?? column.width), 0);
	while (used() > width) {
		if (used() - slack() <= width) {
			let excess = used() - width;
			return kept.map(column => {
				const cut = Math.min(excess, column.width - (column.minWidth ?? column.width));
				excess -= cut;
				return cut > 0 ? {...column, width: column.width - cut} : column;
			});
		}

		const widest = Math.max(...kept.map(column => column.priority));
		if (widest <= 1) {
			break;
		}

		kept.splice(kept.findLastIndex(column => column.priority === widest), 1);
	}

	return kept;
}

function optional(value: number | undefined, format: (value: number) => string): string {
	return value === undefined ? '-' : format(value);
}

/** An optional value's order key: unknown values sort below every known one. */
function optionalKey(value: number | undefined): number {
	return value ?? Number.NEGATIVE_INFINITY;
}

/** The first three UTF-16 units, each one more than its code (a missing one is 0): string order. */
function textKey(text: string): number {
	let key = 0;
	for (let index = 0; index < 3; index++) {
		key = (key * 65_537) + (index < text.length ? text.charCodeAt(index) + 1 : 0);
	}

	return key;
}

const ipv6Key = 2 ** 48;

/**
 * An endpoint held in a connection key from `start`: an IPv4 address and port as one number
 * below 2^48 (the order compareAddress gives); every IPv6 address as 2^48, after all of IPv4,
 * leaving their order to compare.
 */
function endpointKey(key: string, start: number, port: number): number {
	let address = 0;
	let field = 0;
	for (let index = start; index < key.length; index++) {
		const code = key.charCodeAt(index);
		if (code === 32) {
			break;
		}

		if (code === 46) {
			address = (address * 256) + field;
			field = 0;
		} else if (code >= 48 && code <= 57) {
			field = (field * 10) + code - 48;
		} else {
			return ipv6Key;
		}
	}

	return (((address * 256) + field) * 65_536) + port;
}

function compareText(a: string, b: string): number {
	return a < b ? -1 : (a > b ? 1 : 0);
}

/**
 * Orders two addresses held inside longer strings (connection keys) from the given offsets to
 * the next space or the end: IPv4 before IPv6, then field by field as numbers ("10.0.0.9"
 * before "10.0.0.10"). It reads characters in place because it runs for every comparison of a
 * sort. IPv6 "::" compares as one empty field, which orders the common cases (::1, fe80::...)
 * sensibly without expanding them.
 */
export function compareAddress(a: string, aStart: number, b: string, bStart: number): number {
	const aEnd = endOfField(a, aStart);
	const bEnd = endOfField(b, bStart);
	const hex = isIPv6(a, aStart, aEnd);
	if (hex !== isIPv6(b, bStart, bEnd)) {
		return hex ? 1 : -1;
	}

	let i = aStart;
	let j = bStart;
	while (i < aEnd || j < bEnd) {
		let aValue = 0;
		for (let digit; i < aEnd && (digit = digitValue(a.charCodeAt(i), hex)) >= 0; i++) {
			aValue = (aValue * 16) + digit;
		}

		let bValue = 0;
		for (let digit; j < bEnd && (digit = digitValue(b.charCodeAt(j), hex)) >= 0; j++) {
			bValue = (bValue * 16) + digit;
		}

		if (aValue !== bValue) {
			return aValue - bValue;
		}

		// Compare the separators; running out (the end of the address) sorts first.
		const separator = (i < aEnd ? a.charCodeAt(i) : -1) - (j < bEnd ? b.charCodeAt(j) : -1);
		if (separator !== 0) {
			return separator;
		}

		i++;
		j++;
	}

	return 0;
}

function endOfField(text: string, start: number): number {
	const space = text.indexOf(' ', start);
	return space === -1 ? text.length : space;
}

function isIPv6(text: string, start: number, end: number): boolean {
	const colon = text.indexOf(':', start);
	return colon !== -1 && colon < end;
}

/** A digit's value, or -1 for a separator. Decimal digits are scaled as hex: order is kept. */
function digitValue(code: number, hex: boolean): number {
	if (code >= 48 && code <= 57) {
		return code - 48;
	}

	const lower = code | 32;
	return hex && lower >= 97 && lower <= 102 ? lower - 87 : -1;
}
