// Which states should not last: a CLOSE_WAIT that never ends is a socket the application
// leaked (it never called close()); a SYN_SENT that never ends is an upstream that does not
// answer; SYN_RECV and FIN_WAIT2 that hang point at a peer that stopped talking mid-handshake.
import {TcpState} from '../core/transition.js';
import {stateCount} from '../core/tcp-states.js';

/** Milliseconds after which a connection still in a state counts as stuck, by kernel state. */
export type StuckThresholds = Readonly<Partial<Record<number, number>>>;

export const defaultStuckThresholds: StuckThresholds = {
	// Past two SYN retransmissions (1 s, then 2 s later).
	[TcpState.SYN_SENT]: 3000,
	[TcpState.SYN_RECV]: 3000,
	[TcpState.CLOSE_WAIT]: 30_000,
	// The kernel's default tcp_fin_timeout.
	[TcpState.FIN_WAIT2]: 60_000,
};

export class StuckPolicy {
	/**
	 * Milliseconds after which a connection is stuck, by state (Infinity for a state that may
	 * last); to be read, not written (see ConnectionTable.stuckAfterMs).
	 */
	readonly thresholds = new Float64Array(stateCount).fill(Number.POSITIVE_INFINITY);

	constructor(thresholds: StuckThresholds = defaultStuckThresholds) {
		for (const [state, ms] of Object.entries(thresholds)) {
			if (ms !== undefined) {
				this.thresholds[Number(state)] = ms;
			}
		}
	}

	isStuck(state: number, msInState: number): boolean {
		return msInState >= (this.thresholds[state] ?? Number.POSITIVE_INFINITY);
	}
}
