// The frame the non-interactive outputs (batch mode, headless metrics) run in: a source feeds
// the table until a signal arrives or the output or the source stops it; every way out stops
// the source, which detaches the programs.
import type {Origin} from '../core/origin.js';
import type {TransitionSource} from '../core/source.js';
import type {ConnectionTable} from '../model/connection-table.js';
import {feedTable, type Feed} from '../model/feed-table.js';

const stopSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Ends the run; with an error, runFed rejects with it. */
export type Stop = (error?: Error) => void;

/** What the body of a run set up. */
export type FedBody = {
	/** Undoes it (timers) once the run ends. */
	readonly cleanUp: () => void;
	/** The source has delivered all it had (a replay's end); without it, the run ends there. */
	readonly ended?: () => void;
};

/**
 * Starts the source into the table, on the origin's clock, then `body` (told what the feed
 * brings), which returns what it set up; resolves once something called stop and the source
 * has stopped. Throws if the source cannot start.
 */
export async function runFed(source: TransitionSource, table: ConnectionTable, origin: Origin, body: (stop: Stop, feed: Feed) => FedBody): Promise<void> {
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

	let set: FedBody | undefined;
	try {
		// A source ends only after start has returned (a replay yields first), so set is known by then.
		const feed = feedTable(source, table, origin.now, stop, {
			onEnd() {
				(set?.ended ?? stop)();
			},
		});
		set = body(stop, feed);
		await ended;
	} finally {
		set?.cleanUp();
		for (const signal of stopSignals) {
			process.off(signal, onSignal);
		}

		await source.stop();
	}

	if (failure) {
		throw failure;
	}
}
