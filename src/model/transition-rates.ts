// How fast each kind of transition happens: per-edge (OLD -> NEW) and per-series counts in
// one-second buckets over the last two minutes, plus totals since start for counters.
//
// Windows cover whole completed seconds (the last W seconds before the current one): a
// partially filled current second would make a 1 s rate jump about as the second fills.

/** Named totals the table counts alongside the edges. */
export const RateSeries = {
	transitions: 0,
	/** Opening transitions: CLOSE -> SYN_SENT and LISTEN -> SYN_RECV. */
	opened: 1,
	/** connect() attempts that ended in SYN_SENT -> CLOSE. */
	failedConnects: 2,
	/** Connections that ended by reset. */
	resets: 3,
	/** Events the capture lost (reported by the source, not seen as transitions). */
	lost: 4,
	/** Connection attempts dropped for a full accept queue (the namespace's ListenOverflows). */
	listenOverflows: 5,
	/** Every connection attempt listeners dropped (ListenDrops). */
	listenDrops: 6,
	/** Segments retransmitted (the namespace's RetransSegs), and the SYNs and SYN-ACKs among them (TCPSynRetrans). */
	retransmits: 7,
	synRetransmits: 8,
	/** TCP packets the kernel dropped on the host, whatever the reason (each reason: dropRate). */
	drops: 9,
} as const;
export type RateSeries = (typeof RateSeries)[keyof typeof RateSeries];

const seriesCount = 10;
/** Kernel state numbers fit in 4 bits, so an edge is from * 16 + to. */
export const edgeCount = 256;

/** An edge's index among the edgeCount: from * 16 + to. */
export function edgeIndex(from: number, to: number): number {
	return ((from & 15) * 16) + (to & 15);
}

export const historySeconds = 120;

export type Edge = {readonly from: number; readonly to: number};

export class TransitionRates {
	private readonly edgeBuckets = new Uint32Array(edgeCount * historySeconds);
	private readonly seriesBuckets = new Uint32Array(seriesCount * historySeconds);
	private readonly edgeTotals = new Float64Array(edgeCount);
	private readonly seriesTotals = new Float64Array(seriesCount);
	/** Per drop reason, as a series: one-second buckets and the total since start. */
	private readonly dropRows = new Map<string, {readonly buckets: Uint32Array; total: number}>();
	private currentSecond = Number.NaN;

	record(from: number, to: number, atMs: number): void {
		const edge = edgeIndex(from, to);
		this.edgeTotals[edge]! += 1;
		this.seriesTotals[RateSeries.transitions]! += 1;
		const bucket = this.bucketFor(atMs);
		if (bucket >= 0) {
			this.edgeBuckets[(edge * historySeconds) + bucket]! += 1;
			this.seriesBuckets[(RateSeries.transitions * historySeconds) + bucket]! += 1;
		}
	}

	count(series: RateSeries, atMs: number, amount = 1): void {
		this.seriesTotals[series]! += amount;
		const bucket = this.bucketFor(atMs);
		if (bucket >= 0) {
			this.seriesBuckets[(series * historySeconds) + bucket]! += amount;
		}
	}

	/** Counts TCP packets the kernel dropped for a reason (and in the drops series). */
	countDrops(reason: string, atMs: number, amount: number): void {
		this.count(RateSeries.drops, atMs, amount);
		let row = this.dropRows.get(reason);
		if (row === undefined) {
			row = {buckets: new Uint32Array(historySeconds), total: 0};
			this.dropRows.set(reason, row);
		}

		row.total += amount;
		const bucket = this.bucketFor(atMs);
		if (bucket >= 0) {
			row.buckets[bucket]! += amount;
		}
	}

	/** Every drop reason seen since start, by name. */
	dropReasons(): string[] {
		return [...this.dropRows.keys()].sort();
	}

	dropTotal(reason: string): number {
		return this.dropRows.get(reason)?.total ?? 0;
	}

	/** Drops for a reason per second over the last windowSeconds completed seconds. */
	dropRate(reason: string, windowSeconds: number): number {
		const row = this.dropRows.get(reason);
		return row === undefined ? 0 : this.sum(row.buckets, 0, windowSeconds) / windowSeconds;
	}

	/** Per-second drops for a reason over the last `seconds` completed seconds, oldest first. */
	dropHistory(reason: string, seconds = historySeconds - 1): number[] {
		const row = this.dropRows.get(reason);
		return row === undefined ? new Array<number>(seconds).fill(0) : this.history(row.buckets, 0, seconds);
	}

	/** Moves the clock to nowMs, so seconds without events read as zero. */
	advance(nowMs: number): void {
		this.bucketFor(nowMs);
	}

	/** Transitions per second on one edge over the last windowSeconds completed seconds. */
	edgeRate(from: number, to: number, windowSeconds: number): number {
		return this.sum(this.edgeBuckets, edgeIndex(from, to), windowSeconds) / windowSeconds;
	}

	seriesRate(series: RateSeries, windowSeconds: number): number {
		return this.sum(this.seriesBuckets, series, windowSeconds) / windowSeconds;
	}

	/** Per-second counts on one edge for the last `seconds` completed seconds, oldest first. */
	edgeHistory(from: number, to: number, seconds = historySeconds - 1): number[] {
		return this.history(this.edgeBuckets, edgeIndex(from, to), seconds);
	}

	seriesHistory(series: RateSeries, seconds = historySeconds - 1): number[] {
		return this.history(this.seriesBuckets, series, seconds);
	}

	/** Count since start, for counters that must only go up (metrics). */
	edgeTotal(from: number, to: number): number {
		return this.edgeTotals[edgeIndex(from, to)]!;
	}

	seriesTotal(series: RateSeries): number {
		return this.seriesTotals[series]!;
	}

	/** Every edge seen since start, in (from, to) order. */
	edges(): Edge[] {
		const edges: Edge[] = [];
		for (let edge = 0; edge < edgeCount; edge++) {
			if (this.edgeTotals[edge]! > 0) {
				edges.push({from: edge >> 4, to: edge & 15});
			}
		}

		return edges;
	}

	/** The bucket for a time, after moving the clock forward to it; -1 if too old to keep. */
	private bucketFor(atMs: number): number {
		const second = Math.floor(atMs / 1000);
		if (Number.isNaN(this.currentSecond)) {
			this.currentSecond = second;
		} else if (second > this.currentSecond) {
			this.clearSeconds(this.currentSecond + 1, second);
			this.currentSecond = second;
		} else if (second <= this.currentSecond - historySeconds) {
			return -1;
		}

		return second % historySeconds;
	}

	private clearSeconds(first: number, last: number): void {
		const from = Math.max(first, last - historySeconds + 1);
		for (let second = from; second <= last; second++) {
			const bucket = second % historySeconds;
			for (let row = 0; row < edgeCount; row++) {
				this.edgeBuckets[(row * historySeconds) + bucket] = 0;
			}

			for (let row = 0; row < seriesCount; row++) {
				this.seriesBuckets[(row * historySeconds) + bucket] = 0;
			}

			for (const row of this.dropRows.values()) {
				row.buckets[bucket] = 0;
			}
		}
	}

	private sum(buckets: Uint32Array, row: number, seconds: number): number {
		let total = 0;
		for (const value of this.history(buckets, row, seconds)) {
			total += value;
		}

		return total;
	}

	private history(buckets: Uint32Array, row: number, seconds: number): number[] {
		const counts: number[] = [];
		if (Number.isNaN(this.currentSecond)) {
			return new Array<number>(seconds).fill(0);
		}

		const span = Math.min(seconds, historySeconds - 1);
		for (let second = this.currentSecond - seconds; second < this.currentSecond; second++) {
			counts.push(second < this.currentSecond - span ? 0 : buckets[(row * historySeconds) + (second % historySeconds)]!);
		}

		return counts;
	}
}
