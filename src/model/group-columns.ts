// The group list's columns and orders (see groups.ts), as the connection list's are data in
// columns.ts: the view and batch mode show and sort groups through these.
import {formatBytes, formatMicroseconds, formatPerSecond} from '../core/format.js';
import {lifecycleOrder} from '../core/tcp-states.js';
import {TcpState} from '../core/transition.js';
import type {GroupKind, GroupRow} from './groups.js';

export type GroupColumn = {
	readonly key: string;
	readonly title: string;
	readonly width: number;
	readonly align: 'left' | 'right';
	readonly descendingByDefault: boolean;
	format(row: GroupRow): string;
	/** Ascending. */
	compare(a: GroupRow, b: GroupRow): number;
};

/** Per second over the row's span. */
export function perSecond(row: GroupRow, count: number): number {
	return row.seconds > 0 ? count / row.seconds : 0;
}

const byNumber = (value: (row: GroupRow) => number) => (a: GroupRow, b: GroupRow) => value(a) - value(b);

/** The columns after the group's name (the first column, titled by the grouping). */
const figureColumns: readonly GroupColumn[] = [
	{key: 'conns', title: 'CONNS', width: 7, align: 'right', descendingByDefault: true, format: row => String(row.connections), compare: byNumber(row => row.connections)},
	{key: 'new', title: 'NEW/s', width: 7, align: 'right', descendingByDefault: true, format: row => formatPerSecond(perSecond(row, row.opened)), compare: byNumber(row => row.opened / Math.max(row.seconds, 1e-9))},
	{key: 'failed', title: 'FAIL/s', width: 7, align: 'right', descendingByDefault: true, format: row => formatPerSecond(perSecond(row, row.failed)), compare: byNumber(row => row.failed / Math.max(row.seconds, 1e-9))},
	{key: 'resets', title: 'RST/s', width: 7, align: 'right', descendingByDefault: true, format: row => formatPerSecond(perSecond(row, row.resets)), compare: byNumber(row => row.resets / Math.max(row.seconds, 1e-9))},
	{key: 'retr', title: 'RETR/s', width: 7, align: 'right', descendingByDefault: true, format: row => formatPerSecond(perSecond(row, row.retransmits)), compare: byNumber(row => row.retransmits / Math.max(row.seconds, 1e-9))},
	{key: 'tx', title: 'TX/s', width: 7, align: 'right', descendingByDefault: true, format: row => formatBytes(row.txBytesPerSec), compare: byNumber(row => row.txBytesPerSec)},
	{key: 'rx', title: 'RX/s', width: 7, align: 'right', descendingByDefault: true, format: row => formatBytes(row.rxBytesPerSec), compare: byNumber(row => row.rxBytesPerSec)},
	{key: 'hs50', title: 'HS p50', width: 7, align: 'right', descendingByDefault: true, format: row => latency(row.handshake()?.p50), compare: byNumber(row => row.handshake()?.p50 ?? -1)},
	{key: 'hs99', title: 'HS p99', width: 7, align: 'right', descendingByDefault: true, format: row => latency(row.handshake()?.p99), compare: byNumber(row => row.handshake()?.p99 ?? -1)},
	{key: 'states', title: 'STATES', width: 40, align: 'left', descendingByDefault: false, format: row => statesText(row.states), compare: byNumber(row => row.connections)},
];

/** A duration in ms as a narrow cell: "85us", "1.20ms", "340ms"; "-" for none. */
export function latency(ms: number | undefined): string {
	return ms === undefined ? '-' : formatMicroseconds(Math.round(ms * 1000));
}

/** The group list's columns for a grouping: its name first, titled as the grouping is. */
export function groupColumns(kind: GroupKind): GroupColumn[] {
	return [
		{key: 'group', title: kind.title, width: 24, align: 'left', descendingByDefault: false, format: row => row.key, compare: (a, b) => a.key < b.key ? -1 : (a.key > b.key ? 1 : 0)},
		...figureColumns,
	];
}

/**
 * Trouble first, as the connection list's default (and, like it, descending): groups with
 * failed connects or resets in the last span (most first), then the busiest (TX/s + RX/s),
 * then the biggest; ascending is the reverse.
 */
export const groupTroubleOrder = {
	key: 'trouble',
	title: 'TROUBLE',
	descendingByDefault: true,
	compare(a: GroupRow, b: GroupRow): number {
		return (a.failed + a.resets) - (b.failed + b.resets)
			|| (a.txBytesPerSec + a.rxBytesPerSec) - (b.txBytesPerSec + b.rxBytesPerSec)
			|| a.connections - b.connections;
	},
} as const;

export type GroupOrder = Pick<GroupColumn, 'key' | 'title' | 'descendingByDefault' | 'compare'>;

/** The orders groups can be listed in, by key: trouble first, then each column. */
export function groupOrders(kind: GroupKind): GroupOrder[] {
	return [groupTroubleOrder, ...groupColumns(kind)];
}

/** Sorts group rows by an order (descending flips it; ties in the group's name). */
export function sortGroups(rows: GroupRow[], order: GroupOrder, descending: boolean): GroupRow[] {
	return rows.sort((a, b) => (descending ? order.compare(b, a) : order.compare(a, b)) || (a.key < b.key ? -1 : (a.key > b.key ? 1 : 0)));
}

// States as a group's STATES cell names them: short, the usual ones as people say them.
const shortNames = new Map<number, string>([
	[TcpState.ESTABLISHED, 'ESTAB'], [TcpState.SYN_SENT, 'SS'], [TcpState.SYN_RECV, 'SR'],
	[TcpState.NEW_SYN_RECV, 'NSR'], [TcpState.FIN_WAIT1, 'FW1'], [TcpState.FIN_WAIT2, 'FW2'],
	[TcpState.TIME_WAIT, 'TW'], [TcpState.CLOSE_WAIT, 'CW'], [TcpState.LAST_ACK, 'LA'],
	[TcpState.CLOSING, 'CLOSING'], [TcpState.LISTEN, 'LISTEN'], [TcpState.CLOSE, 'CLOSED'],
]);

/** "ESTAB 812 · CW 57 · TW 3.1k": the states with members, in lifecycle order. */
export function statesText(states: readonly number[]): string {
	return lifecycleOrder
		.filter(state => (states[state] ?? 0) > 0)
		.map(state => `${shortNames.get(state)} ${compactCount(states[state]!)}`)
		.join(' · ');
}

/** 812, 3.1k, 45k, 1.2M. */
export function compactCount(count: number): string {
	if (count < 1000) {
		return String(count);
	}

	if (count < 1_000_000) {
		return count < 10_000 ? `${(count / 1000).toFixed(1)}k` : `${Math.round(count / 1000)}k`;
	}

	return `${(count / 1_000_000).toFixed(1)}M`;
}

