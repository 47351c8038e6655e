// The host's sockets per state, as the kernel counts them, whatever the connection table holds:
// the last socket pass's counts of its namespace (the kernel counts every socket it walks, those
// a counters-only pass leaves out included), moved along by every change seen since. Between
// two passes what no change reports is not seen: a request socket that becomes a connection,
// a TIME_WAIT that expires (taken as gone once the kernel's TIME_WAIT length is over, its
// longest); the next pass sets them right.
import type {SocketPass} from '../capture/source.js';
import {TcpState, type Transition} from '../capture/transition.js';
import {stateCount} from './tcp-states.js';

/** TIME_WAITs that end in one such step expire together, at its end: a queue entry a step. */
const expiryStepMs = 100;

export class HostStates {
	#netns: number | undefined;
	readonly #counts = new Float64Array(stateCount);
	#sinceMs = Number.NEGATIVE_INFINITY;
	/** TIME_WAITs counted, by when they are over at the latest, in deadline order. */
	#timeWaitDeadlines: number[] = [];
	#timeWaitCounts: number[] = [];

	constructor(private readonly timeWaitMs: number) {}

	/** The namespace the counts cover; undefined until a pass with counts came. */
	get netns(): number | undefined {
		return this.#netns;
	}

	/**
	 * Takes a pass's counts. A pass that does not carry them (a recorded one) is counted from
	 * its list when it is complete, and otherwise leaves the counts as they are.
	 */
	applyPass(pass: SocketPass): void {
		if (pass.stateCounts) {
			this.#counts.fill(0);
			this.#counts.set(pass.stateCounts.slice(0, stateCount));
		} else if (pass.complete) {
			this.#counts.fill(0);
			for (const socket of pass.sockets) {
				this.#counts[socket.state]! += 1;
			}
		} else {
			return;
		}

		this.#netns = pass.netns;
		this.#sinceMs = pass.monoMs;
		this.#timeWaitDeadlines = [];
		this.#timeWaitCounts = [];
		this.#timeWaitEnds(pass.monoMs, this.#counts[TcpState.TIME_WAIT]!);
	}

	/** Counts the TIME_WAITs that are over by now as gone. */
	sweep(nowMs: number): void {
		let over = 0;
		while (over < this.#timeWaitDeadlines.length && this.#timeWaitDeadlines[over]! <= nowMs) {
			this.#counts[TcpState.TIME_WAIT]! -= this.#timeWaitCounts[over]!;
			over++;
		}

		if (over > 0) {
			this.#timeWaitDeadlines.splice(0, over);
			this.#timeWaitCounts.splice(0, over);
		}
	}

	#timeWaitEnds(sinceMs: number, count: number): void {
		const deadline = Math.ceil((sinceMs + this.timeWaitMs) / expiryStepMs) * expiryStepMs;
		const last = this.#timeWaitDeadlines.length - 1;
		if (this.#timeWaitDeadlines[last] === deadline) {
			this.#timeWaitCounts[last]! += count;
		} else if (count > 0) {
			this.#timeWaitDeadlines.push(deadline);
			this.#timeWaitCounts.push(count);
		}
	}

	/** A change the kernel reported; those before the last pass are in its counts already. */
	apply(t: Transition): void {
		if (t.netns !== this.#netns || t.monoMs < this.#sinceMs) {
			return;
		}

		// A passive open's socket starts as a copy of its listener, which stays a listener.
		const leaves = t.oldstate !== TcpState.CLOSE && (t.oldstate !== TcpState.LISTEN || t.newstate === TcpState.CLOSE);
		if (leaves) {
			this.#counts[t.oldstate]! -= 1;
		}

		// The kernel keeps an actively closed connection as a timewait socket.
		const enters = t.newstate === TcpState.CLOSE && (t.oldstate === TcpState.FIN_WAIT2 || t.oldstate === TcpState.CLOSING)
			? TcpState.TIME_WAIT
			: t.newstate;
		if (enters !== TcpState.CLOSE) {
			this.#counts[enters]! += 1;
		}

		if (enters === TcpState.TIME_WAIT) {
			this.#timeWaitEnds(t.monoMs, 1);
		}
	}

	/** Sockets of the covered namespace in a state (never below zero). */
	count(state: number): number {
		return Math.max(0, this.#counts[state] ?? 0);
	}
}
