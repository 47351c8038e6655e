// The Transitions pane's rows: the named series (new connections, failed connects, resets,
// lost events; and where the source reads the namespace's counters, retransmits and listen
// drops), then every OLD -> NEW edge seen, each with its count since start, its rate
// over the last 1, 10 and 60 seconds and its per-second counts over the last minute.
import {formatCount} from '../core/format.js';
import {TcpState} from '../core/transition.js';
import {displayStateName} from '../core/tcp-states.js';
import {RateSeries, type TransitionRates} from '../model/transition-rates.js';
import type {Quantiles} from '../model/durations.js';

export type TransitionRow = {
	/** Stable across frames: the selection follows it. */
	readonly key: string;
	readonly label: string;
	readonly series: boolean;
	/** Failure edges and series (failed connects, resets, lost): highlighted while they happen. */
	readonly failure: boolean;
	/** For ordering edges along a connection's life. */
	readonly order: number;
	readonly total: number;
	readonly rate1: number;
	readonly rate10: number;
	readonly rate60: number;
	/** Per-second counts over the last minute, oldest first. */
	readonly history: readonly number[];
	/** A timed edge's time in its old state over the last minute, in ms (see durations.ts); undefined otherwise. */
	readonly p50?: number;
	readonly p99?: number;
};

export const sparklineSeconds = 60;

const namedSeries: ReadonlyArray<{series: RateSeries; label: string; failure: boolean}> = [
	{series: RateSeries.opened, label: 'new connections', failure: false},
	{series: RateSeries.failedConnects, label: 'failed connects', failure: true},
	{series: RateSeries.resets, label: 'resets', failure: true},
	{series: RateSeries.lost, label: 'lost events', failure: true},
];

/** The namespace's counters, read with the socket passes (none in a replay). */
const counterSeries: ReadonlyArray<{series: RateSeries; label: string; failure: boolean}> = [
	{series: RateSeries.retransmits, label: 'retransmits', failure: false},
	{series: RateSeries.synRetransmits, label: 'SYN retransmits', failure: false},
	{series: RateSeries.listenOverflows, label: 'listen overflows', failure: true},
	{series: RateSeries.listenDrops, label: 'listen drops', failure: true},
];

// States in the order a connection meets them, so edges read like a lifecycle.
const lifecycle: readonly number[] = [
	TcpState.CLOSE, TcpState.LISTEN, TcpState.SYN_SENT, TcpState.SYN_RECV, TcpState.NEW_SYN_RECV, TcpState.ESTABLISHED,
	TcpState.FIN_WAIT1, TcpState.FIN_WAIT2, TcpState.CLOSING, TcpState.TIME_WAIT, TcpState.CLOSE_WAIT, TcpState.LAST_ACK,
];

// Ending in CLOSE from these states is a refused or timed-out connect, or a reset.
const failingFrom = new Set<number>([TcpState.SYN_SENT, TcpState.SYN_RECV, TcpState.ESTABLISHED, TcpState.FIN_WAIT1, TcpState.CLOSE_WAIT]);

export function isFailureEdge(from: number, to: number): boolean {
	return to === TcpState.CLOSE && failingFrom.has(from);
}

/**
 * `counters`: whether the source reads the namespace's counters (retransmits, listen drops);
 * the kernel's TCP drops follow them, a row per reason seen.
 */
export function summariseTransitions(rates: TransitionRates, counters = false, times: (from: number, to: number) => Quantiles | undefined = () => undefined): TransitionRow[] {
	const rows: TransitionRow[] = [...namedSeries, ...(counters ? counterSeries : [])].map(({series, label, failure}, index) => ({
		key: `series ${series}`,
		label,
		series: true,
		failure,
		order: index,
		total: rates.seriesTotal(series),
		rate1: rates.seriesRate(series, 1),
		rate10: rates.seriesRate(series, 10),
		rate60: rates.seriesRate(series, 60),
		history: rates.seriesHistory(series, sparklineSeconds),
	}));
	for (const reason of rates.dropReasons()) {
		rows.push({
			key: `drops ${reason}`,
			label: `drops: ${reason}`,
			series: true,
			failure: true,
			order: rows.length,
			total: rates.dropTotal(reason),
			rate1: rates.dropRate(reason, 1),
			rate10: rates.dropRate(reason, 10),
			rate60: rates.dropRate(reason, 60),
			history: rates.dropHistory(reason, sparklineSeconds),
		});
	}

	for (const {from, to} of rates.edges()) {
		const quantiles = times(from, to);
		rows.push({
			p50: quantiles?.p50,
			p99: quantiles?.p99,
			key: `edge ${from} ${to}`,
			label: `${displayStateName(from)} → ${displayStateName(to)}`,
			series: false,
			failure: isFailureEdge(from, to),
			order: 100 + (rank(from) * 16) + rank(to),
			total: rates.edgeTotal(from, to),
			rate1: rates.edgeRate(from, to, 1),
			rate10: rates.edgeRate(from, to, 10),
			rate60: rates.edgeRate(from, to, 60),
			history: rates.edgeHistory(from, to, sparklineSeconds),
		});
	}

	return rows;
}

function rank(state: number): number {
	const index = lifecycle.indexOf(state);
	return index === -1 ? lifecycle.length : index;
}

export type TransitionColumn = {
	readonly key: string;
	readonly title: string;
	compare(a: TransitionRow, b: TransitionRow): number;
	readonly descendingByDefault: boolean;
};

/** The pane's sortable columns; the named series stay on top whatever the order. */
export const transitionColumns: readonly TransitionColumn[] = [
	{key: 'transition', title: 'TRANSITION', compare: (a, b) => a.order - b.order, descendingByDefault: false},
	{key: 'total', title: 'TOTAL', compare: (a, b) => a.total - b.total, descendingByDefault: true},
	{key: 'rate1', title: '1s', compare: (a, b) => a.rate1 - b.rate1, descendingByDefault: true},
	{key: 'rate10', title: '10s', compare: (a, b) => a.rate10 - b.rate10, descendingByDefault: true},
	{key: 'rate60', title: '60s', compare: (a, b) => a.rate60 - b.rate60, descendingByDefault: true},
	{key: 'p50', title: 'p50', compare: (a, b) => (a.p50 ?? -1) - (b.p50 ?? -1), descendingByDefault: true},
	{key: 'p99', title: 'p99', compare: (a, b) => (a.p99 ?? -1) - (b.p99 ?? -1), descendingByDefault: true},
];

export function transitionColumnByKey(key: string): TransitionColumn | undefined {
	return transitionColumns.find(column => column.key === key);
}

/** Series first in their own order, then the edges by the column (ties in lifecycle order). */
export function sortTransitions(rows: readonly TransitionRow[], sortKey: string, descending: boolean): TransitionRow[] {
	const column = transitionColumnByKey(sortKey) ?? transitionColumns[0]!;
	const sign = descending ? -1 : 1;
	return [...rows].sort((a, b) => {
		if (a.series || b.series) {
			return a.series === b.series ? a.order - b.order : (a.series ? -1 : 1);
		}

		return (sign * column.compare(a, b)) || a.order - b.order;
	});
}

/** Rates per second: "0", "0.02", "3.5", "1,204". */
export function formatEdgeRate(perSecond: number): string {
	if (perSecond === 0) {
		return '0';
	}

	if (perSecond < 1) {
		return perSecond.toFixed(2);
	}

	return perSecond < 10 ? perSecond.toFixed(1) : formatCount(perSecond);
}
