// The clock tcptop reads time on, and where a table's events come from: this host and its
// monotonic clock, or a recording and the replay's clock, so ages, rates and intervals read as
// they did on the host the recording was made on. The outputs built on the table (the live
// view, batch mode) read time only through an Origin.

export type Origin = {
	readonly host: string;
	readonly kernel: string;
	/** Monotonic milliseconds on the clock transitions carry. */
	readonly now: () => number;
	/** When the capture started, on that clock. */
	readonly startedAtMs: number;
	/** Wall-clock milliseconds since the epoch, on that host, at now(). */
	readonly wallNow: () => number;
	/**
	 * Calls `callback` once the clock has reached `atMs`; returns what cancels it. While a
	 * promise the callback returns is pending, a replay holds still (the output is behind).
	 */
	readonly setTimer: (atMs: number, callback: () => void | Promise<void>) => () => void;
	/** What people call a network namespace on that host (`ip netns`'s name), when known. */
	readonly namespaceName?: (inode: number) => string | undefined;
};

// The clock the kernel stamps transitions with (bpf_ktime_get_ns): process.hrtime reads
// CLOCK_MONOTONIC on Linux.
export const monotonicNow = () => Number(process.hrtime.bigint()) / 1e6;
