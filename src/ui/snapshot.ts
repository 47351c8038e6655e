// One frame's worth of data, copied out of the connection table: the table's views are only
// valid until it next changes, and a paused display must keep showing what it showed.
import {TcpState, type Transition} from '../core/transition.js';
import {sanitize} from '../core/sanitize.js';
import {columns} from '../model/columns.js';
import type {Connection} from '../model/connection.js';
import type {ConnectionTable, StateCount} from '../model/connection-table.js';
import {compileFilter, type Filter, type FilterSubject, type TransitionOwner} from '../model/filter.js';
import {findRow, rowShows, selectRows} from '../model/select-rows.js';
import {sortOrderByKey, troubleOrder} from '../model/sort-orders.js';
import {groupColumns, groupOrders, groupTroubleOrder, sortGroups} from '../model/group-columns.js';
import {groupKindByKey} from '../model/groups.js';
import {longWindowMs} from '../model/durations.js';
import type {TransitionLog} from '../model/transition-log.js';
import {RateSeries} from '../model/transition-rates.js';
import {connectionDetail, type ConnectionDetail} from './connection-detail.js';
import {edgeDetail, groupDetail, type EdgeDetail} from './edge-detail.js';
import {logLine, type LogLine} from './log-line.js';
import {summariseTransitions, type TransitionRow} from './transitions-summary.js';
import {quickStates, type ViewState} from './view-state.js';

export type RowView = {
	readonly key: string;
	/** Formatted and sanitised, one per entry of the model's column table. */
	readonly cells: readonly string[];
	readonly closed: boolean;
	readonly stuck: boolean;
};

/** A group as the list shows it (see model/groups.ts). */
export type GroupRowView = {
	readonly key: string;
	/** Formatted and sanitised, one per entry of groupColumns. */
	readonly cells: readonly string[];
	/** Failed connects or resets since the refresh before. */
	readonly trouble: boolean;
};

/** Seconds the namespace's counters' rates are taken over: passes, which bring them, may be seconds apart. */
const countersRateSeconds = 5;

export type Snapshot = {
	readonly nowMs: number;
	/** Every state with connections in it, in lifecycle order; ESTABLISHED always. */
	readonly stateCounts: readonly StateCount[];
	readonly tracked: number;
	/** Per second, over the last completed second. */
	readonly opened: number;
	readonly closed: number;
	readonly failedConnects: number;
	readonly resets: number;
	readonly transitions: number;
	/**
	 * Connection attempts listeners dropped in tcptop's namespace, per second over the last few
	 * (passes bring the counts); undefined where the source has no counts (a replay).
	 */
	readonly listenDrops: number | undefined;
	/** TCP packets the kernel dropped per second (undefined where the source cannot say). */
	readonly drops: number | undefined;
	/** Segments retransmitted per second, likewise. */
	readonly retransmits: number | undefined;
	/** Totals since start. */
	readonly lost: number;
	readonly evictions: number;
	/** The first rows in sort order, from the top of the list (not only the visible ones). */
	readonly rows: readonly RowView[];
	/** Connections that pass the filters. */
	readonly matched: number;
	/** The Transitions pane's rows, in no particular order. */
	readonly edges: readonly TransitionRow[];
	/** The event log's lines that pass the filters, newest first (none while it is hidden). */
	readonly log: readonly LogLine[];
	/** The connection of the open detail view. */
	readonly detail: ConnectionDetail | undefined;
	/** The distribution of the open edge detail view. */
	readonly edgeDetail: EdgeDetail | undefined;
	/** The open group detail view's (i on a group); undefined when the group has gone. */
	readonly groupDetail: EdgeDetail | undefined;
	/** Every group in the group list's order, while the list shows groups (see showsGroups). */
	readonly groups: readonly GroupRowView[] | undefined;
};

const quickStateFilters = quickStates.map(word => {
	const result = compileFilter(`state ${word}`);
	if (!result.ok) {
		throw new Error(`quick state filter '${word}': ${result.error.message}`);
	}

	return result.filter;
});

export type SnapshotRequest = {
	readonly view: ViewState;
	readonly nowMs: number;
	/** How many rows from the top of the sorted list to copy. */
	readonly limit: number;
	/** The frame before; its order is kept while the view holds sorting still. */
	readonly previous: Snapshot | undefined;
	readonly log?: TransitionLog;
	/** How many event log lines to copy. */
	readonly logLimit?: number;
	/** What the host calls a network namespace, for the detail view (see Origin.namespaceName). */
	readonly namespaceName?: (inode: number) => string | undefined;
};

export function takeSnapshot(table: ConnectionTable, request: SnapshotRequest): Snapshot {
	const {view, nowMs, limit, previous, log, logLimit = 0, namespaceName} = request;
	// The table counts groups only while the view is grouped.
	const kind = view.groupBy === undefined ? undefined : groupKindByKey(view.groupBy);
	table.groupBy(kind, nowMs);
	const filter = combinedFilter(view, table);
	let rows: RowView[];
	let matched: number;
	let groups: GroupRowView[] | undefined;
	if (kind && table.groups && view.drill === undefined) {
		const order = groupOrders(kind).find(candidate => candidate.key === view.groupSort.key) ?? groupTroubleOrder;
		const shown = groupColumns(kind);
		groups = sortGroups(table.groups.sample(nowMs), order, view.groupSort.descending)
			.map(row => ({key: row.key, cells: shown.map(column => sanitize(column.format(row))), trouble: row.trouble}));
		rows = [];
		matched = table.size;
	} else if (previous && nowMs < view.holdUntilMs && limit <= previous.rows.length) {
		// Same connections in the same order, with fresh values; the ones gone since drop out.
		rows = [];
		for (const {key} of previous.rows) {
			const connection = table.get(key);
			if (connection && (!filter || filter.matchConnection(connection))) {
				rows.push(rowView(table, connection, nowMs));
			}
		}

		matched = countMatching(table, filter);
	} else {
		const order = sortOrderByKey(view.sortKey) ?? troubleOrder;
		const selection = selectRows(table, {order, descending: view.descending, limit, filter, nowMs});
		rows = selection.rows.map(connection => rowView(table, connection, nowMs));
		matched = selection.matched;
	}

	const {rates} = table;
	let closed = 0;
	for (const edge of rates.edges()) {
		if (edge.to === TcpState.CLOSE) {
			closed += rates.edgeRate(edge.from, edge.to, 1);
		}
	}

	let detail: ConnectionDetail | undefined;
	if (view.detail !== undefined) {
		const connection = table.get(view.detail);
		const last = previous?.detail?.key === view.detail ? previous.detail : undefined;
		detail = connection
			? connectionDetail(connection, nowMs, table.isStuck(connection, nowMs), namespaceName)
			: (last ? {...last, gone: true} : undefined);
	}

	return {
		nowMs,
		stateCounts: table.stateCounts(),
		tracked: table.size,
		opened: rates.seriesRate(RateSeries.opened, 1),
		closed,
		failedConnects: rates.seriesRate(RateSeries.failedConnects, 1),
		resets: rates.seriesRate(RateSeries.resets, 1),
		transitions: rates.seriesRate(RateSeries.transitions, 1),
		listenDrops: table.netCounters === undefined ? undefined : rates.seriesRate(RateSeries.listenDrops, countersRateSeconds),
		retransmits: table.netCounters === undefined ? undefined : rates.seriesRate(RateSeries.retransmits, countersRateSeconds),
		drops: table.dropsKnown ? rates.seriesRate(RateSeries.drops, countersRateSeconds) : undefined,
		lost: rates.seriesTotal(RateSeries.lost),
		evictions: table.evictions,
		rows,
		matched,
		edges: summariseTransitions(rates, table.netCounters !== undefined, (from, to) => table.durations.of(from, to)?.quantiles(nowMs, longWindowMs)),
		// A change is judged by its connection's container, as the row knows it.
		groups,
		edgeDetail: view.edgeDetail === undefined ? undefined : edgeDetail(view.edgeDetail, (from, to) => table.durations.of(from, to), nowMs),
		groupDetail: groupDetailOf(view, table, groups, nowMs),
		log: log && logLimit > 0 ? log.recent(logLimit, filter && (t => filter.matchTransition(t, change => table.find(change)))).map(logLine) : [],
		detail,
	};
}

function rowView(table: ConnectionTable, connection: Connection, nowMs: number): RowView {
	return {
		key: connection.key,
		cells: columns.map(column => sanitize(column.format(connection, nowMs))),
		closed: connection.state === TcpState.CLOSE,
		stuck: table.isStuck(connection, nowMs),
	};
}

/** The open group detail: the group's row as the list shows it, and its handshakes. */
function groupDetailOf(view: ViewState, table: ConnectionTable, groups: readonly GroupRowView[] | undefined, nowMs: number): EdgeDetail | undefined {
	const kind = view.groupBy === undefined ? undefined : groupKindByKey(view.groupBy);
	const row = groups?.find(group => group.key === view.groupDetail);
	if (!kind || !row || !table.groups) {
		return undefined;
	}

	const shown = groupColumns(kind);
	const facts = shown.slice(1).map((column, index) => `${column.title} ${row.cells[index + 1]}`).join(' · ');
	return groupDetail(kind.title, row.key, facts, table.groups.handshakesOf(row.key), nowMs);
}

/** The typed filter, the quick state filter and `c`'s clearing, as one filter; undefined for none. */
/**
 * The next connection in the view's list after the one of `fromKey` (before it with -1) whose
 * row shows `text`, wrapping around (see findRow): what a search selects.
 */
export function findConnection(table: ConnectionTable, view: ViewState, nowMs: number, text: string, direction: 1 | -1, fromKey: string | undefined): {index: number; key: string} | undefined {
	const order = sortOrderByKey(view.sortKey) ?? troubleOrder;
	return findRow(table, {order, descending: view.descending, filter: combinedFilter(view, table), nowMs}, rowShows(text), fromKey, direction);
}

/** The next group in the list after `fromKey` (before it with -1) whose name holds `text`, wrapping around. */
export function findGroup(groups: readonly GroupRowView[], text: string, direction: 1 | -1, fromKey: string | undefined): {index: number; key: string} | undefined {
	const from = groups.findIndex(group => group.key === fromKey);
	const needle = text.toLowerCase();
	for (let step = 1; step <= groups.length; step++) {
		const index = (((from + (direction * step)) % groups.length) + groups.length) % groups.length;
		if (groups[index]!.cells.some(cell => cell.toLowerCase().includes(needle))) {
			return {index, key: groups[index]!.key};
		}
	}

	return undefined;
}

function combinedFilter(view: ViewState, table: ConnectionTable): Filter | undefined {
	const parts: Array<(connection: Connection) => boolean> = [];
	const transitionParts: Array<(transition: Transition, owner?: TransitionOwner) => boolean> = [];
	if (view.filter) {
		parts.push(view.filter.matchConnection);
		transitionParts.push(view.filter.matchTransition);
	}

	const quick = quickStateFilters[view.quickState];
	if (quick) {
		parts.push(quick.matchConnection);
		transitionParts.push(quick.matchTransition);
	}

	const {drill} = view;
	const kind = view.groupBy === undefined ? undefined : groupKindByKey(view.groupBy);
	const grouping = table.groups;
	if (drill && kind && grouping) {
		// The group opened: its connections, as the table counts them in it.
		parts.push(connection => grouping.keyOf(connection.slot) === drill.key);
		transitionParts.push(transition => {
			const connection = table.find(transition);
			return connection !== undefined && grouping.keyOf(connection.slot) === drill.key;
		});
	}

	if (view.clearedAtMs > Number.NEGATIVE_INFINITY) {
		const {clearedAtMs} = view;
		parts.push(connection => !(connection.state === TcpState.CLOSE && connection.stateSinceMs <= clearedAtMs));
	}

	if (parts.length === 0) {
		return undefined;
	}

	return {
		text: [view.filter?.text, quick?.text, drill && kind ? `${kind.key} ${drill.key}` : undefined].filter(Boolean).join(' and '),
		// selectRows and countMatching hand it connections, never bare subjects.
		matchConnection: (subject: FilterSubject) => parts.every(part => part(subject as Connection)),
		// A transition is judged by the state it enters; `c` clears connections, not the log.
		matchTransition: (transition: Transition, owner?: TransitionOwner) => transitionParts.every(part => part(transition, owner)),
	};
}

function countMatching(table: ConnectionTable, filter: Filter | undefined): number {
	if (!filter) {
		return table.size;
	}

	let count = 0;
	table.forEach(connection => {
		if (filter.matchConnection(connection)) {
			count++;
		}
	});
	return count;
}
