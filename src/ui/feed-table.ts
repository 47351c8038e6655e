// A source into the connection table: the sockets that existed at the start, then every
// batch (resets first, so a received reset marks its connection before the close it
// causes), with the events the source lost counted in the rates.
import type {TransitionSource} from '../capture/source.js';
import type {ConnectionTable} from '../model/connection-table.js';
import type {TransitionLog} from '../model/transition-log.js';

/**
 * Starts the source (throws if it cannot start); onError hears why it stopped on its own. The
 * log, when given, keeps the latest transitions for the event log.
 */
export function feedTable(
	source: TransitionSource, table: ConnectionTable, now: () => number, onError: (error: Error) => void, log?: TransitionLog,
): void {
	let lostSoFar = 0;
	source.start({
		snapshot(pass) {
			for (const socket of pass.sockets) {
				table.upsertFromSnapshot(socket);
			}
		},
		batch(batch) {
			for (const reset of batch.resets) {
				table.applyReset(reset);
			}

			for (const transition of batch.transitions) {
				table.apply(transition);
			}

			log?.push(batch.transitions);

			// The source reports running totals; the table counts what is new.
			const lost = batch.dropped + batch.lost;
			if (lost > lostSoFar) {
				table.recordLost(lost - lostSoFar, now());
				lostSoFar = lost;
			}
		},
		error: onError,
	});
}
