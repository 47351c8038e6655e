// The frame the non-interactive outputs (batch mode, headless metrics) run in: a source feeds
// the table, in the run lifecycle every mode shares (core/run-lifecycle.ts), until a signal
// arrives or the output or the source stops it.
import type {Origin} from '../core/origin.js';
import {runLifecycle, type Stop} from '../core/run-lifecycle.js';
import type {TransitionSource} from '../core/source.js';
import type {ConnectionTable} from '../model/connection-table.js';
import {feedTable, type Feed} from '../model/feed-table.js';

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
	await runLifecycle(source, stop => {
		let set: FedBody | undefined;
		// A source ends only after start has returned (a replay yields first), so set is known by then.
		const feed = feedTable(source, table, origin.now, stop, {
			onEnd() {
				(set?.ended ?? stop)();
			},
		});
		set = body(stop, feed);
		return set.cleanUp;
	});
}
