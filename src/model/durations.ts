// How long connections spend in the states that say most about a host's health, as
// distributions over the last 10 and 60 seconds: the handshake (SYN-SENT -> ESTABLISHED for a
// client, SYN-RECV -> ESTABLISHED for a server), the time to the first close (ESTABLISHED ->
// FIN-WAIT-1 or CLOSE-WAIT) and the time in CLOSE-WAIT (-> LAST-ACK). HdrHistogram keeps each
// (hdr-histogram-js, its plain-JavaScript histograms only: the package's index would load its
// WebAssembly build and codecs too): a window is a ring of slices of a few seconds, merged when
// read, so an old slice is dropped whole as time moves on.
import int32Module from 'hdr-histogram-js/dist/Int32Histogram.js';
import packedModule from 'hdr-histogram-js/dist/PackedHistogram.js';
import {TcpState} from '../core/transition.js';
import {edgeCount, edgeIndex} from './transition-rates.js';

/** Milliseconds. */
export type Quantiles = {
	readonly p50: number;
	readonly p90: number;
	readonly p99: number;
	readonly max: number;
	readonly count: number;
};

/** A histogram bar: durations in [fromMs, toMs). */
export type DurationBucket = {readonly fromMs: number; readonly toMs: number; readonly count: number};

// CommonJS modules: their default export is the class.
const Int32Histogram = int32Module.default;
const PackedHistogram = packedModule.default;
type Int32Histogram = InstanceType<typeof Int32Histogram>;
type Histogram = Int32Histogram | InstanceType<typeof PackedHistogram>;

/** Values are whole microseconds, from 1 us; histograms grow to fit what they are given. */
function newHistogram(packed: boolean): Histogram {
	const histogram = packed ? new PackedHistogram(1, 2, 2) : new Int32Histogram(1, 2, 2);
	histogram.autoResize = true;
	return histogram;
}

/** Durations over the last `slices` x `sliceMs`, in slices dropped whole as time moves on. */
export class WindowedDurations {
	private readonly histograms: Array<Histogram | undefined>;
	/** The slice number (time / sliceMs) each histogram holds. */
	private readonly sliceOf: Float64Array;

	/** packed: sparse histograms, a few hundred bytes for a few values (one per group). */
	constructor(private readonly sliceMs: number, slices: number, private readonly packed = false) {
		this.histograms = Array.from({length: slices});
		this.sliceOf = new Float64Array(slices).fill(Number.NaN);
	}

	record(atMs: number, ms: number): void {
		const slice = Math.floor(atMs / this.sliceMs);
		const index = slice % this.histograms.length;
		let histogram = this.histograms[index];
		if (this.sliceOf[index] !== slice) {
			histogram?.reset();
			this.sliceOf[index] = slice;
		}

		if (histogram === undefined) {
			histogram = newHistogram(this.packed);
			this.histograms[index] = histogram;
		}

		histogram.recordValue(Math.max(0, Math.round(ms * 1000)));
	}

	/** The durations of the window ending now (whole slices: up to a slice more than asked). */
	quantiles(nowMs: number, windowMs: number): Quantiles | undefined {
		const merged = this.merged(nowMs, windowMs);
		if (merged === undefined) {
			return undefined;
		}

		const at = (percentile: number) => merged.getValueAtPercentile(percentile) / 1000;
		return {p50: at(50), p90: at(90), p99: at(99), max: merged.maxValue / 1000, count: merged.totalCount};
	}

	/** The window's durations in buckets doubling from 64 us, for a bar chart; empty when none. */
	buckets(nowMs: number, windowMs: number): DurationBucket[] {
		const merged = this.merged(nowMs, windowMs);
		if (merged === undefined) {
			return [];
		}

		// Bucket n holds [64 us x 2^(n-1), 64 us x 2^n); bucket 0 everything under 64 us.
		const counts: number[] = [];
		const iterator = merged.recordedValuesIterator;
		iterator.reset();
		while (iterator.hasNext()) {
			const {valueIteratedTo, countAtValueIteratedTo} = iterator.next();
			const bucket = valueIteratedTo < 64 ? 0 : Math.floor(Math.log2(valueIteratedTo / 64)) + 1;
			while (counts.length <= bucket) {
				counts.push(0);
			}

			counts[bucket]! += countAtValueIteratedTo;
		}

		return counts.map((count, bucket) => ({fromMs: bucket === 0 ? 0 : 0.064 * (2 ** (bucket - 1)), toMs: 0.064 * (2 ** bucket), count}));
	}

	private merged(nowMs: number, windowMs: number): Int32Histogram | undefined {
		// The slice under way and enough whole ones before it to cover the window.
		const newest = Math.floor(nowMs / this.sliceMs);
		const oldest = newest - Math.ceil(windowMs / this.sliceMs) - 1;
		let merged: Int32Histogram | undefined;
		for (const [index, histogram] of this.histograms.entries()) {
			const slice = this.sliceOf[index]!;
			if (histogram === undefined || !(slice > oldest && slice <= newest) || histogram.totalCount === 0) {
				continue;
			}

			merged ??= newHistogram(false) as Int32Histogram;
			merged.add(histogram);
		}

		return merged;
	}
}

/** The edges whose time in the old state is kept as a distribution, and what that time is. */
export const timedEdges: ReadonlyArray<{readonly from: number; readonly to: number; readonly what: string}> = [
	{from: TcpState.SYN_SENT, to: TcpState.ESTABLISHED, what: 'handshake (client)'},
	{from: TcpState.SYN_RECV, to: TcpState.ESTABLISHED, what: 'handshake (server)'},
	{from: TcpState.ESTABLISHED, to: TcpState.FIN_WAIT1, what: 'time to close (closed here)'},
	{from: TcpState.ESTABLISHED, to: TcpState.CLOSE_WAIT, what: 'time to close (closed by the peer)'},
	{from: TcpState.CLOSE_WAIT, to: TcpState.LAST_ACK, what: 'time in CLOSE-WAIT'},
];

// Each edge's index in timedEdges, -1 for the others: read on every change.
const timedIndex = new Int8Array(edgeCount).fill(-1);
for (const [index, {from, to}] of timedEdges.entries()) {
	timedIndex[edgeIndex(from, to)] = index;
}

/** Upper bounds (seconds) of the Prometheus histogram of handshakes (see HandshakeCounts). */
export const handshakeBounds: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Handshakes since start, client and server, counted in fixed buckets (each bucket the
 * handshakes up to its bound, as Prometheus' histograms count), with their sum.
 */
export class HandshakeCounts {
	/** Per side (0 client, 1 server): one count per bound, then +Inf. */
	readonly buckets = [new Float64Array(handshakeBounds.length + 1), new Float64Array(handshakeBounds.length + 1)] as const;
	readonly sums = new Float64Array(2);

	observe(side: 0 | 1, seconds: number): void {
		const buckets = this.buckets[side];
		for (let index = 0; index < handshakeBounds.length; index++) {
			if (seconds <= handshakeBounds[index]!) {
				buckets[index]! += 1;
			}
		}

		buckets[handshakeBounds.length]! += 1;
		this.sums[side]! += seconds;
	}
}

/** Windows the distributions are read over. */
export const shortWindowMs = 10_000;
export const longWindowMs = 60_000;

/** The distributions of the timed edges: 60 s in slices of 5 s. */
export class EdgeDurations {
	/** Every handshake since start, for the metrics. */
	readonly handshakes = new HandshakeCounts();
	private readonly windows = timedEdges.map(() => new WindowedDurations(5000, 13));

	/** Records a change's time in its old state, when the edge is a timed one. */
	record(from: number, to: number, atMs: number, ms: number): void {
		const index = timedIndex[edgeIndex(from, to)]!;
		if (index >= 0) {
			this.windows[index]!.record(atMs, ms);
			if (to === TcpState.ESTABLISHED) {
				this.handshakes.observe(from === TcpState.SYN_SENT ? 0 : 1, ms / 1000);
			}
		}
	}

	/** The edge's distribution (undefined: not a timed edge). */
	of(from: number, to: number): WindowedDurations | undefined {
		const index = timedIndex[edgeIndex(from, to)] ?? -1;
		return index < 0 ? undefined : this.windows[index];
	}
}

/** Whether a change ends a handshake. */
export function isHandshake(from: number, to: number): boolean {
	return to === TcpState.ESTABLISHED && (from === TcpState.SYN_SENT || from === TcpState.SYN_RECV);
}
