// The host's sockets per state, as the kernel counts them, whatever the connection table holds:
// the last socket pass's counts of the namespaces it walked (the kernel counts every socket it
// walks, those a counters-only pass leaves out included), moved along by every change seen in
// them since. Between
// two passes what no change reports is not seen: a request socket that becomes a connection,
// a TIME_WAIT or an orphaned FIN_WAIT2 that expires (taken as gone once the kernel's length
// for it is over, its longest); the next pass sets them right.
import type {SocketPass} from '../capture/source.js';
import {TcpState, type Transition} from '../capture/transition.js';
import {stateCount} from './tcp-states.js';

/** Timewait sockets that end in one such step expire together, at its end: a queue entry a step. */
const expiryStepMs = 100;

/** Timewait sockets of one state counted, by when they are over at the latest, in deadline order. */
class Expiries {
	#deadlines: number[] = [];
	#counts: number[] = [];

	constructor(private readonly lengthMs: number) {}

	clear(): void {
		this.#deadlines = [];
		this.#counts = [];
	}

	/** `count` sockets that began at sinceMs. */
	add(sinceMs: number, count: number): void {
		const deadline = Math.ceil((sinceMs + this.lengthMs) / expiryStepMs) * expiryStepMs;
		const last = this.#deadlines.length - 1;
		if (this.#deadlines[last] === deadline) {
			this.#counts[last]! += count;
		} else if (count > 0) {
			this.#deadlines.push(deadline);
			this.#counts.push(count);
		}
	}

	/** How many are over by now, forgetting them. */
	takeOver(nowMs: number): number {
		let over = 0;
		let count = 0;
		while (over < this.#deadlines.length && this.#deadlines[over]! <= nowMs) {
			count += this.#counts[over]!;
			over++;
		}

		if (over > 0) {
			this.#deadlines.splice(0, over);
			this.#counts.splice(0, over);
		}

		return count;
	}
}

export class HostStates {
	#covered: ReadonlySet<number> | undefined;
	readonly #counts = new Float64Array(stateCount);
	#sinceMs = Number.NEGATIVE_INFINITY;
	readonly #timeWaits: Expiries;
	/** Orphaned FIN_WAIT2s (see Transition.orphaned) counted since the last pass. */
	readonly #orphans: Expiries;

	constructor(timeWaitMs: number, finTimeoutMs = timeWaitMs) {
		this.#timeWaits = new Expiries(timeWaitMs);
		this.#orphans = new Expiries(finTimeoutMs);
	}

	/** The namespaces the counts cover; undefined until a pass with counts came. */
	get covered(): ReadonlySet<number> | undefined {
		return this.#covered;
	}

	/** Whether the counts cover a namespace's sockets. */
	covers(netns: number): boolean {
		return this.#covered?.has(netns) ?? false;
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

		if (!sameMembers(this.#covered, pass.namespaces)) {
			this.#covered = new Set(pass.namespaces);
		}

		this.#sinceMs = pass.monoMs;
		this.#timeWaits.clear();
		this.#orphans.clear();
		// The pass's FIN_WAIT2s are full sockets and orphans alike: only TIME_WAIT is known to end.
		this.#timeWaits.add(pass.monoMs, this.#counts[TcpState.TIME_WAIT]!);
	}

	/** Counts the timewait sockets that are over by now as gone. */
	sweep(nowMs: number): void {
		this.#counts[TcpState.TIME_WAIT]! -= this.#timeWaits.takeOver(nowMs);
		this.#counts[TcpState.FIN_WAIT2]! -= this.#orphans.takeOver(nowMs);
	}

	/** A change the kernel reported; those before the last pass are in its counts already. */
	apply(t: Transition): void {
		if (t.monoMs < this.#sinceMs || !this.covers(t.netns)) {
			return;
		}

		// A passive open's socket starts as a copy of its listener, which stays a listener.
		const leaves = t.oldstate !== TcpState.CLOSE && (t.oldstate !== TcpState.LISTEN || t.newstate === TcpState.CLOSE);
		if (leaves) {
			this.#counts[t.oldstate]! -= 1;
		}

		// The kernel keeps an actively closed connection as a timewait socket: in TIME_WAIT, or in
		// FIN_WAIT2 while the peer has not closed.
		let enters = t.newstate;
		if (t.newstate === TcpState.CLOSE && (t.oldstate === TcpState.FIN_WAIT2 || t.oldstate === TcpState.CLOSING)) {
			enters = t.orphaned === true ? TcpState.FIN_WAIT2 : TcpState.TIME_WAIT;
		}

		if (enters !== TcpState.CLOSE) {
			this.#counts[enters]! += 1;
		}

		if (enters === TcpState.TIME_WAIT) {
			this.#timeWaits.add(t.monoMs, 1);
		} else if (t.newstate === TcpState.CLOSE && enters === TcpState.FIN_WAIT2) {
			this.#orphans.add(t.monoMs, 1);
		}
	}

	/** Sockets of the covered namespaces in a state (never below zero). */
	count(state: number): number {
		return Math.max(0, this.#counts[state] ?? 0);
	}
}

function sameMembers(set: ReadonlySet<number> | undefined, list: readonly number[]): boolean {
	return set !== undefined && set.size === list.length && list.every(member => set.has(member));
}
