// A source into the connection table: the sockets that existed at the start, then every
// batch (resets first, so a received reset marks its connection before the close it
// causes; accepts last, as accept() returns after the handshake), with the events the source
// lost counted in the rates, and later socket passes (counters and reconciliation). The one
// place a source feeds a table, whichever output (live view, batch, metrics) reads it.
import type {TransitionSource} from '../core/source.js';
import type {ConnectionTable} from './connection-table.js';
import type {TransitionLog} from './transition-log.js';

/** How much a feed has brought so far. */
export type Feed = {
	/** Batches with an event or a loss in them, and socket passes. */
	readonly deliveries: number;
};

export type FeedOptions = {
	/** Keeps the latest transitions, for the event log. */
	readonly log?: TransitionLog;
	/** The source delivered all it had (a replay's end). */
	readonly onEnd?: () => void;
};

/** Starts the source (throws if it cannot start); onError hears why it stopped on its own. */
export function feedTable(
	source: TransitionSource, table: ConnectionTable, now: () => number, onError: (error: Error) => void, {log, onEnd}: FeedOptions = {},
): Feed {
	let lostSoFar = 0;
	const feed = {deliveries: 0};
	source.start({
		snapshot(pass) {
			table.loadSnapshot(pass);
		},
		batch(batch) {
			let happened = batch.transitions.length > 0 || batch.resets.length > 0 || batch.accepted.length > 0;
			for (const reset of batch.resets) {
				table.applyReset(reset);
			}

			for (const transition of batch.transitions) {
				table.apply(transition);
			}

			for (const accepted of batch.accepted) {
				table.applyAccepted(accepted);
			}

			log?.push(batch.transitions);

			// The source reports running totals; the table counts what is new.
			const lost = batch.dropped + batch.lost;
			if (lost > lostSoFar) {
				table.recordLost(lost - lostSoFar, now());
				lostSoFar = lost;
				happened = true;
			}

			if (happened) {
				feed.deliveries++;
			}
		},
		pass(pass) {
			feed.deliveries++;
			return table.passInShares(pass);
		},
		end: onEnd,
		error: onError,
	});
	return feed;
}
