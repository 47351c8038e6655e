// What happened between two looks at the table, for outputs that report per interval (batch
// mode): the differences of the rates' running totals, so an interval of any length counts
// every transition once, whichever second it fell in.
import {TcpState} from '../core/transition.js';
import {edgeIndex, RateSeries, type TransitionRates} from './transition-rates.js';

export type EdgeCount = {readonly from: number; readonly to: number; readonly count: number};

export type Interval = {
	readonly ms: number;
	/** Edges with transitions in the interval, in (from, to) order. */
	readonly edges: readonly EdgeCount[];
	readonly transitions: number;
	readonly opened: number;
	/** Transitions to CLOSE. */
	readonly closed: number;
	readonly failedConnects: number;
	readonly resets: number;
	readonly lost: number;
	/** Attempts listeners dropped (ListenDrops), those for a full accept queue among them (ListenOverflows). */
	readonly listenOverflows: number;
	readonly listenDrops: number;
	/** Segments retransmitted, SYNs and SYN-ACKs among them. */
	readonly retransmits: number;
	readonly synRetransmits: number;
	/** TCP packets the kernel dropped, and by reason (the reasons with drops in the interval, by name). */
	readonly drops: number;
	readonly dropsByReason: ReadonlyArray<{readonly reason: string; readonly count: number}>;
};

export class IntervalCounter {
	private readonly seenEdges = new Map<number, number>();
	private readonly seenSeries = new Float64Array(Object.keys(RateSeries).length);
	private readonly seenDrops = new Map<string, number>();

	constructor(private readonly rates: TransitionRates, private startMs: number) {}

	/** The counts since the previous call (the first: since the start). */
	take(nowMs: number): Interval {
		const edges: EdgeCount[] = [];
		let closed = 0;
		for (const {from, to} of this.rates.edges()) {
			const edge = edgeIndex(from, to);
			const total = this.rates.edgeTotal(from, to);
			const count = total - (this.seenEdges.get(edge) ?? 0);
			this.seenEdges.set(edge, total);
			if (count > 0) {
				edges.push({from, to, count});
				if (to === TcpState.CLOSE) {
					closed += count;
				}
			}
		}

		const series = (name: RateSeries) => {
			const total = this.rates.seriesTotal(name);
			const count = total - this.seenSeries[name]!;
			this.seenSeries[name] = total;
			return count;
		};

		const dropsByReason: Array<{reason: string; count: number}> = [];
		for (const reason of this.rates.dropReasons()) {
			const total = this.rates.dropTotal(reason);
			const count = total - (this.seenDrops.get(reason) ?? 0);
			this.seenDrops.set(reason, total);
			if (count > 0) {
				dropsByReason.push({reason, count});
			}
		}

		const interval = {
			ms: nowMs - this.startMs,
			edges,
			transitions: series(RateSeries.transitions),
			opened: series(RateSeries.opened),
			closed,
			failedConnects: series(RateSeries.failedConnects),
			resets: series(RateSeries.resets),
			lost: series(RateSeries.lost),
			listenOverflows: series(RateSeries.listenOverflows),
			listenDrops: series(RateSeries.listenDrops),
			retransmits: series(RateSeries.retransmits),
			synRetransmits: series(RateSeries.synRetransmits),
			drops: series(RateSeries.drops),
			dropsByReason,
		};
		this.startMs = nowMs;
		return interval;
	}
}
