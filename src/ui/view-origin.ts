// Where the view's connections come from, and the clock it reads their times on: this host and
// its monotonic clock, or a recording and the replay's clock, so ages and rates read as they
// did on the host the recording was made on.
import {hostname, release} from 'node:os';
import type {ReplaySource} from '../capture/replay-source.js';

export type ViewOrigin = {
	readonly host: string;
	readonly kernel: string;
	/** Monotonic milliseconds on the clock transitions carry. */
	readonly now: () => number;
	/** When the capture started, on that clock. */
	readonly startedAtMs: number;
	/** Shown at the start of the status line when it returns text (how a replay is going). */
	readonly notice?: () => string | undefined;
};

// The clock the kernel stamps transitions with (bpf_ktime_get_ns): process.hrtime reads
// CLOCK_MONOTONIC on Linux.
const monotonicNow = () => Number(process.hrtime.bigint()) / 1e6;

export function liveOrigin(): ViewOrigin {
	return {host: hostname(), kernel: release(), now: monotonicNow, startedAtMs: monotonicNow()};
}

/** `warnings` are the replay's, as it reports them; the last one shows once the replay has ended. */
export function replayOrigin(replay: ReplaySource, warnings: readonly string[]): ViewOrigin {
	const pace = replay.speed === 0 ? 'as fast as it reads' : `at ${replay.speed}x`;
	return {
		host: replay.header.host,
		kernel: replay.header.kernel,
		now: () => replay.now(),
		startedAtMs: replay.header.monoStartMs,
		notice() {
			if (!replay.ended) {
				return `Replay ${pace}`;
			}

			const warning = warnings.at(-1);
			return `Replay ended${warning === undefined ? '' : ` (${warning})`}, q quits`;
		},
	};
}
