// The frame the non-interactive outputs (batch mode, headless metrics) run in: a source feeds
// the table until a signal arrives or the output or the source stops it; every way out stops
// the source, which detaches the programs.
import type {TransitionSource} from '../capture/source.js';
import type {ConnectionTable} from '../model/connection-table.js';
import {feedTable} from '../model/feed-table.js';

const stopSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

// The clock the kernel stamps transitions with (bpf_ktime_get_ns): process.hrtime reads
// CLOCK_MONOTONIC on Linux.
export const monotonicNow = () => Number(process.hrtime.bigint()) / 1e6;

/** Ends the run; with an error, runFed rejects with it. */
export type Stop = (error?: Error) => void;

/**
 * Starts the source into the table, then `body` (told when the start began), which returns
 * its clean-up; resolves once something called stop and the source has stopped. Throws if
 * the source cannot start.
 */
export async function runFed(source: TransitionSource, table: ConnectionTable, body: (stop: Stop, startedAtMs: number) => () => void): Promise<void> {
	let failure: Error | undefined;
	let end!: () => void;
	const ended = new Promise<void>(resolve => {
		end = resolve;
	});
	const stop: Stop = error => {
		failure ??= error;
		end();
	};

	const onSignal = () => {
		stop();
	};

	// Signals are taken over before the program attaches, so none can kill tcptop mid-start.
	for (const signal of stopSignals) {
		process.on(signal, onSignal);
	}

	let cleanUp: (() => void) | undefined;
	try {
		const startedAtMs = monotonicNow();
		feedTable(source, table, monotonicNow, stop);
		cleanUp = body(stop, startedAtMs);
		await ended;
	} finally {
		cleanUp?.();
		for (const signal of stopSignals) {
			process.off(signal, onSignal);
		}

		await source.stop();
	}

	if (failure) {
		throw failure;
	}
}
