// `tcptop -b` output: per interval, the header figures and every connection that passes the
// filter, as plain text (top -b's look) or as one JSON document on one line.
import {stateName, TcpState} from '../core/transition.js';
import {columns, fitColumns, type Column} from '../model/columns.js';
import type {Connection} from '../model/connection.js';
import type {ConnectionTable, StateCount} from '../model/connection-table.js';
import type {Filter} from '../model/filter.js';
import {formatCount, formatDuration, formatRate} from '../core/format.js';
import type {Interval, IntervalCounter} from '../model/interval-counts.js';
import {selectRows} from '../model/select-rows.js';
import type {SortOrder} from '../model/sort-orders.js';
import {displayStateName, lifecycleOrder} from '../core/tcp-states.js';
import {RateSeries} from '../model/transition-rates.js';
import {cell} from '../model/row-text.js';
import {groupColumns, groupOrders, groupTroubleOrder, latency, perSecond as groupPerSecond, sortGroups} from '../model/group-columns.js';
import type {GroupKind, GroupRow} from '../model/groups.js';
import {longWindowMs, timedEdges, type Quantiles} from '../model/durations.js';
import {jsonLine, sanitize} from '../core/sanitize.js';

export type BatchFormat = 'text' | 'json';

/** Connections per piece of the output's text (see frameJsonLine). */
const rowsPerChunk = 2048;

export type FrameRequest = {
	readonly order: SortOrder;
	readonly descending: boolean;
	readonly filter: Filter | undefined;
	/** Monotonic ms (the clock transitions carry) now, and when the capture started. */
	readonly nowMs: number;
	readonly startedAtMs: number;
	readonly wallMs: number;
	/** Groups instead of connections (the table counts them: see ConnectionTable.groupBy). */
	readonly groupBy?: GroupKind;
};

/**
 * Groups in the order --sort names, where a group has that column too (tx, rx, retr; trouble),
 * else trouble first.
 */
function sortGroupRows(rows: GroupRow[], kind: GroupKind, order: SortOrder, descending: boolean): GroupRow[] {
	const groupOrder = groupOrders(kind).find(candidate => candidate.key === order.key);
	return groupOrder ? sortGroups(rows, groupOrder, descending) : sortGroups(rows, groupTroubleOrder, true);
}

/** One iteration's figures. Its rows are views of the table: format them before it changes. */
export type BatchFrame = {
	readonly nowMs: number;
	readonly wallMs: number;
	readonly uptimeMs: number;
	readonly interval: Interval;
	/** Per state, in lifecycle order: the states with connections, and ESTABLISHED always. */
	readonly stateCounts: readonly StateCount[];
	readonly tracked: number;
	/** Whether the source reports the namespace's counters (the interval's listen drops and retransmits mean something). */
	readonly countersKnown: boolean;
	/** Whether the source says what TCP packets the kernel drops (the interval's drops mean something). */
	readonly dropsKnown: boolean;
	/** Totals since start. */
	readonly lost: number;
	readonly evictions: number;
	/** Every connection that passes the filter, in sort order (none when grouped). */
	readonly rows: readonly Connection[];
	/** A timed edge's time in its old state over the last minute (see durations.ts); undefined for others or none. */
	readonly edgeTimes: (from: number, to: number) => Quantiles | undefined;
	/** Every group, trouble first, when grouped. */
	readonly groups?: {readonly kind: GroupKind; readonly rows: readonly GroupRow[]};
};

export function takeFrame(table: ConnectionTable, counter: IntervalCounter, request: FrameRequest): BatchFrame {
	const {order, descending, filter, nowMs, groupBy} = request;
	const grouping = groupBy === undefined ? undefined : table.groups;
	// All of them, as top -b lists every process; the table's cap bounds how many that is.
	const {rows} = grouping ? {rows: []} : selectRows(table, {order, descending, filter, nowMs, limit: table.size});
	return {
		groups: grouping && {kind: grouping.kind, rows: sortGroupRows(grouping.sample(nowMs), grouping.kind, order, descending)},
		edgeTimes: (from, to) => table.durations.of(from, to)?.quantiles(nowMs, longWindowMs),
		nowMs,
		wallMs: request.wallMs,
		uptimeMs: nowMs - request.startedAtMs,
		interval: counter.take(nowMs),
		stateCounts: table.stateCounts(),
		tracked: table.size,
		countersKnown: table.netCounters !== undefined,
		dropsKnown: table.dropsKnown,
		lost: table.rates.seriesTotal(RateSeries.lost),
		evictions: table.evictions,
		rows,
	};
}

export type TextOptions = {
	readonly host: string;
	readonly kernel: string;
	readonly delaySeconds: number;
	readonly order: SortOrder;
	readonly descending: boolean;
	readonly filter: Filter | undefined;
	/** Line width to fit the columns in; undefined for every column. */
	readonly width: number | undefined;
};

/** The view's header lines and its list, without colour or cursor movement; a blank line ends it. */
export function formatText(frame: BatchFrame, options: TextOptions): string {
	return [...formatTextPieces(frame, options)].join('');
}

/** formatText's text in pieces of a few thousand rows (see frameJsonLine). */
export function * formatTextPieces(frame: BatchFrame, options: TextOptions): Generator<string> {
	const {interval} = frame;
	const seconds = interval.ms / 1000;
	const rate = (count: number) => formatRate(seconds > 0 ? count / seconds : 0);
	const time = new Date(frame.wallMs).toTimeString().slice(0, 8);
	const lines = [
		`tcptop - ${time} - ${sanitize(options.host)} - Linux ${sanitize(options.kernel)} - up ${formatDuration(frame.uptimeMs)} - every ${options.delaySeconds}s`,
		frame.stateCounts.map(({state, count}) => `${displayStateName(state)} ${formatCount(count)}`).join(' · '),
		`tracked ${formatCount(frame.tracked)} · new ${rate(interval.opened)}/s · closes ${rate(interval.closed)}/s`
		+ ` · failed ${rate(interval.failedConnects)}/s · resets ${rate(interval.resets)}/s`
		+ ` · transitions ${rate(interval.transitions)}/s`
		+ (frame.countersKnown ? ` · retrans ${rate(interval.retransmits)}/s · listen drops ${rate(interval.listenDrops)}/s` : '')
		+ (frame.dropsKnown ? ` · drops ${rate(interval.drops)}/s${dropReasonsText(interval)}` : '')
		+ ` · lost ${formatCount(frame.lost)} · evicted ${formatCount(frame.evictions)}`,
		`transitions in ${formatDuration(interval.ms)}: ${interval.edges.length === 0
			? 'none'
			: interval.edges.map(({from, to, count}) => `${displayStateName(from)}->${displayStateName(to)} ${formatCount(count)}`).join(' · ')}`,
	];
	const times = timedEdges.flatMap(({from, to, what}) => {
		const quantiles = frame.edgeTimes(from, to);
		return quantiles ? [`${what} p50 ${latency(quantiles.p50)} p99 ${latency(quantiles.p99)}`] : [];
	});
	if (times.length > 0) {
		lines.push(`times in the last 60s: ${times.join(' · ')}`);
	}

	const {groups} = frame;
	if (groups) {
		lines.push(`Group by: ${groups.kind.title} · ${formatCount(groups.rows.length)} groups of ${formatCount(frame.tracked)} connections`);
		yield * groupTextLines(lines, groups.rows, groupColumns(groups.kind));
		return;
	}

	lines.push([
		`Sort: ${options.order.title} ${options.descending ? '▼' : '▲'}`,
		...(options.filter ? [`Filter: ${sanitize(options.filter.text)}`] : []),
		`${formatCount(frame.rows.length)} of ${formatCount(frame.tracked)} shown`,
	].join(' · '));

	const cells = frame.rows.map(connection => columns.map(column => sanitize(column.format(connection, frame.nowMs))));
	const shown = textColumns(cells, options.width);
	const indexByKey = new Map(columns.map((column, index) => [column.key, index]));
	const shownIndex = shown.map(column => indexByKey.get(column.key)!);
	const line = (texts: readonly string[]) => shown.map((column, index) => cell(texts[shownIndex[index]!]!, column)).join(' ').trimEnd();
	lines.push(line(columns.map(column => column.title)));
	let piece = lines.join('\n');
	for (let start = 0; start < cells.length; start += rowsPerChunk) {
		const texts: string[] = [];
		for (let index = start; index < Math.min(cells.length, start + rowsPerChunk); index++) {
			texts.push(line(cells[index]!));
			cells[index] = [];
		}

		yield piece + '\n' + texts.join('\n');
		piece = '';
	}

	yield piece + '\n\n';
}

/** The header lines, then a group list: each column as wide as its widest cell. */
function * groupTextLines(lines: string[], rows: readonly GroupRow[], shown: ReturnType<typeof groupColumns>): Generator<string> {
	const cells = rows.map(row => shown.map(column => sanitize(column.format(row))));
	const widths = shown.map((column, index) => Math.max(column.title.length, ...cells.map(texts => texts[index]!.length)));
	const line = (texts: readonly string[]) => shown.map((column, index) => cell(texts[index]!, {width: widths[index]!, align: column.align})).join(' ').trimEnd();
	yield [...lines, line(shown.map(column => column.title)), ...cells.map(texts => line(texts))].join('\n') + '\n\n';
}

/** The interval's drops by reason, most first: " (NO_SOCKET 12, TCP_RESET 3)"; "" without any. */
function dropReasonsText(interval: Interval): string {
	const reasons = [...interval.dropsByReason].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
	return reasons.length === 0 ? '' : ` (${reasons.map(({reason, count}) => `${reason} ${formatCount(count)}`).join(', ')})`;
}

/**
 * Every column as wide as its widest cell, so nothing is cut, but those only shown when known
 * (CONTAINER) when no row knows them; then fitted to the width, if any.
 */
function textColumns(cells: ReadonlyArray<readonly string[]>, width: number | undefined): Column[] {
	const widened = columns.flatMap((column, index) => {
		let widest = Math.max(column.width, column.title.length);
		let known = false;
		for (const row of cells) {
			widest = Math.max(widest, row[index]!.length);
			known ||= row[index] !== '-';
		}

		if (column.onlyWhenKnown && !known) {
			return [];
		}

		return [widest === column.width ? column : {...column, width: widest}];
	});
	return width === undefined ? widened : fitColumns(width, widened);
}

/** The JSON document; field names are part of tcptop's output contract (README). */
export function frameJson(frame: BatchFrame) {
	return {...documentHead(frame), connections: frame.rows.map(connection => connectionJson(connection, frame.nowMs))};
}

/** A grouped frame's document: the groups in place of the connections. */
export function frameGroupsJson(frame: BatchFrame & {groups: NonNullable<BatchFrame['groups']>}) {
	return {...documentHead(frame), ...groupsJson(frame.groups)};
}

function groupsJson(groups: NonNullable<BatchFrame['groups']>) {
	return {
		group_by: groups.kind.key,
		groups: groups.rows.map(row => {
			const counted = (count: number) => ({count, per_second: round(groupPerSecond(row, count))});
			return {
				key: row.key,
				connections: row.connections,
				states: Object.fromEntries(lifecycleOrder.filter(state => row.states[state]! > 0).map(state => [stateName(state), row.states[state]!])),
				new: counted(row.opened),
				failed: counted(row.failed),
				resets: counted(row.resets),
				retransmits: counted(row.retransmits),
				tx_bytes_per_s: round(row.txBytesPerSec),
				rx_bytes_per_s: round(row.rxBytesPerSec),
				// Over the last minute; null without a handshake in it.
				handshake_ms: quantilesJson(row.handshake()),
			};
		}),
	};
}

/**
 * frameJson's document as jsonLine writes it, and a newline, in pieces of a few thousand
 * connections: at 65,536 connections the document is 15 MB, and a piece is made, written and
 * let go before the next, where the whole document would be built as objects, then as text.
 */
export function * frameJsonLine(frame: BatchFrame): Generator<string> {
	if (frame.groups) {
		yield jsonLine(frameGroupsJson({...frame, groups: frame.groups})) + '\n';
		return;
	}

	const head = jsonLine({...documentHead(frame), connections: []});
	// The connections are the last field: the head's text ends in its empty list and the brace.
	let piece = head.slice(0, -2);
	const {rows, nowMs} = frame;
	for (let start = 0; start < rows.length; start += rowsPerChunk) {
		const list = jsonLine(rows.slice(start, start + rowsPerChunk).map(connection => connectionJson(connection, nowMs)));
		yield piece + (start === 0 ? '' : ',') + list.slice(1, -1);
		piece = '';
	}

	yield piece + ']}\n';
}

function documentHead(frame: BatchFrame) {
	const {interval} = frame;
	const seconds = interval.ms / 1000;
	const counted = (count: number) => ({count, per_second: perSecond(count, seconds)});
	return {
		time: new Date(frame.wallMs).toISOString(),
		uptime_s: round(frame.uptimeMs / 1000),
		interval_s: round(seconds),
		tracked: frame.tracked,
		// Sockets, as ss counts them: closed connections still listed are not.
		states: Object.fromEntries(frame.stateCounts
			.filter(({state, count}) => count > 0 && state !== TcpState.CLOSE)
			.map(({state, count}) => [stateName(state), count])),
		// ms: the time in the old state over the last minute, for the timed edges (handshakes, closes, CLOSE-WAIT).
		transitions: interval.edges.map(({from, to, count}) => ({from: stateName(from), to: stateName(to), ...counted(count), ms: quantilesJson(frame.edgeTimes(from, to))})),
		new: counted(interval.opened),
		closes: counted(interval.closed),
		failed: counted(interval.failedConnects),
		resets: counted(interval.resets),
		// Connection attempts listeners dropped in tcptop's namespace (null when not known).
		listen_overflows: frame.countersKnown ? counted(interval.listenOverflows) : null,
		listen_drops: frame.countersKnown ? counted(interval.listenDrops) : null,
		// Segments retransmitted in tcptop's namespace, and the SYNs and SYN-ACKs among them.
		retransmits: frame.countersKnown ? counted(interval.retransmits) : null,
		syn_retransmits: frame.countersKnown ? counted(interval.synRetransmits) : null,
		// TCP packets the kernel dropped on the host, by reason (null where it cannot say).
		drops: frame.dropsKnown ? interval.dropsByReason.map(({reason, count}) => ({reason, ...counted(count)})) : null,
		lost: frame.lost,
		evicted: frame.evictions,
	};
}

function connectionJson(c: Connection, nowMs: number) {
	return {
		pid: c.pid === 0 ? null : c.pid,
		comm: c.comm === '' ? null : c.comm,
		// The owner's control group, and the container (or systemd unit) and pod it says.
		cgroup: c.cgroup === '' ? null : c.cgroup,
		container: c.container === '' ? null : c.container,
		pod: c.pod === '' ? null : c.pod,
		family: c.family,
		netns: c.netns,
		laddr: c.laddr,
		lport: c.lport,
		raddr: c.raddr,
		rport: c.rport,
		state: stateName(c.state),
		age_s: round((nowMs - c.firstSeenMs) / 1000),
		state_s: round((nowMs - c.stateSinceMs) / 1000),
		// The kernel's counters, null until a socket pass has read them.
		tx_bytes: c.bytesAcked ?? null,
		rx_bytes: c.bytesReceived ?? null,
		rtt_us: c.srttUs ?? null,
		retransmits: c.retransmits ?? null,
		retransmits_per_s: c.retransmitsPerSec === undefined ? null : round(c.retransmitsPerSec),
		drops: dropsJson(c),
		// A listener's queues and what it dropped since tcptop started; null for other sockets
		// (one field, not five nulls, in documents of a hundred thousand connections).
		listener: listenerJson(c.queue),
	};
}

/** Packets the kernel dropped for it, when there were any (one field, as listener). */
function dropsJson(c: Connection) {
	const {drops, dropsPerSec} = c;
	return drops ? {count: drops, per_second: dropsPerSec === undefined ? null : round(dropsPerSec), reason: c.dropReason} : null;
}

function listenerJson(queue: Connection['queue']) {
	return queue === undefined ? null : {
		accept_queue: queue.acceptQueue,
		accept_backlog: queue.acceptBacklog,
		syn_queue: queue.synQueue,
		drops: queue.drops,
		drops_per_s: round(queue.dropsPerSec),
		synack_retransmits: queue.synAckRetransmits ?? null,
	};
}

function quantilesJson(quantiles: Quantiles | undefined) {
	return quantiles === undefined ? null : {
		p50: round(quantiles.p50), p90: round(quantiles.p90), p99: round(quantiles.p99), max: round(quantiles.max), count: quantiles.count,
	};
}

function perSecond(count: number, seconds: number): number {
	return seconds > 0 ? round(count / seconds) : 0;
}

function round(value: number): number {
	return Math.round(value * 1000) / 1000;
}
