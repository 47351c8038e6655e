// The host's sockets per state, as the kernel counts them, whatever the connection table holds:
// each namespace's counts from the last pass that walked it (the kernel counts every socket it
// walks, those a counters-only pass leaves out included), moved along by every change seen in
// it since. Between
// two passes what no change reports is not seen: a request socket that becomes a connection,
// a TIME_WAIT or an orphaned FIN_WAIT2 that expires (taken as gone once the kernel's length
// for it is over, its longest); the next pass sets them right.
import type {SocketPass} from '../core/source.js';
import {TcpState, type Transition} from '../core/transition.js';
import {stateCount} from '../core/tcp-states.js';

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

/** One namespace's sockets per state, from the last pass that counted it, moved along since. */
class NamespaceStates {
	readonly counts = new Float64Array(stateCount);
	sinceMs = Number.NEGATIVE_INFINITY;
	readonly timeWaits: Expiries;
	/** Orphaned FIN_WAIT2s (see Transition.orphaned) counted since the last pass. */
	readonly orphans: Expiries;

	constructor(timeWaitMs: number, finTimeoutMs: number) {
		this.timeWaits = new Expiries(timeWaitMs);
		this.orphans = new Expiries(finTimeoutMs);
	}

	/** Takes a pass's counts of this namespace, taken at monoMs. */
	reset(states: ArrayLike<number>, monoMs: number): void {
		this.counts.fill(0);
		for (let state = 0; state < stateCount && state < states.length; state++) {
			this.counts[state] = states[state]!;
		}

		this.sinceMs = monoMs;
		this.timeWaits.clear();
		this.orphans.clear();
		// The pass's FIN_WAIT2s are full sockets and orphans alike: only TIME_WAIT is known to end.
		this.timeWaits.add(monoMs, this.counts[TcpState.TIME_WAIT]!);
	}
}

export class HostStates {
	readonly #namespaces = new Map<number, NamespaceStates>();
	/** The namespaces counted, as one set whose identity changes when they do. */
	#covered: ReadonlySet<number> | undefined;

	constructor(private readonly timeWaitMs: number, private readonly finTimeoutMs = timeWaitMs) {}

	/** The namespaces the counts cover; undefined until a pass with counts came. */
	get covered(): ReadonlySet<number> | undefined {
		return this.#covered;
	}

	/** Whether the counts cover a namespace's sockets. */
	covers(netns: number): boolean {
		return this.#namespaces.has(netns);
	}

	/**
	 * Takes a pass's counts, of each namespace it counted. A complete pass lists every namespace
	 * there is: those it does not are gone. A pass that does not carry counts (a recorded one) is
	 * counted from its list when it is complete, and otherwise leaves the counts as they are.
	 */
	applyPass(pass: SocketPass): void {
		let counts = pass.counts;
		if (!counts && pass.complete) {
			const byNamespace = new Map<number, number[]>(pass.namespaces.map(netns => [netns, Array.from({length: stateCount}, () => 0)]));
			for (const socket of pass.sockets) {
				const states = byNamespace.get(socket.netns);
				if (states) {
					states[socket.state]! += 1;
				}
			}

			counts = [...byNamespace].map(([netns, states]) => ({netns, states}));
		}

		if (!counts) {
			return;
		}

		let changed = this.#covered === undefined;
		if (pass.complete) {
			const listed = new Set(pass.namespaces);
			for (const netns of this.#namespaces.keys()) {
				if (!listed.has(netns)) {
					this.#namespaces.delete(netns);
					changed = true;
				}
			}
		}

		for (const {netns, states, monoMs} of counts) {
			let space = this.#namespaces.get(netns);
			if (!space) {
				space = new NamespaceStates(this.timeWaitMs, this.finTimeoutMs);
				this.#namespaces.set(netns, space);
				changed = true;
			}

			// The walk of a namespace comes a while into the pass: what changed before it is in its counts.
			space.reset(states, monoMs ?? pass.monoMs);
		}

		if (changed) {
			this.#covered = new Set(this.#namespaces.keys());
		}
	}

	/** Counts the timewait sockets that are over by now as gone. */
	sweep(nowMs: number): void {
		for (const space of this.#namespaces.values()) {
			space.counts[TcpState.TIME_WAIT]! -= space.timeWaits.takeOver(nowMs);
			space.counts[TcpState.FIN_WAIT2]! -= space.orphans.takeOver(nowMs);
		}
	}

	/** A change the kernel reported; those before its namespace's last count are in it already. */
	apply(t: Transition): void {
		const space = this.#namespaces.get(t.netns);
		if (!space || t.monoMs < space.sinceMs) {
			return;
		}

		const {counts} = space;
		// A passive open's socket starts as a copy of its listener, which stays a listener.
		const leaves = t.oldstate !== TcpState.CLOSE && (t.oldstate !== TcpState.LISTEN || t.newstate === TcpState.CLOSE);
		if (leaves) {
			counts[t.oldstate]! -= 1;
		}

		// The kernel keeps an actively closed connection as a timewait socket: in TIME_WAIT, or in
		// FIN_WAIT2 while the peer has not closed.
		let enters = t.newstate;
		if (t.newstate === TcpState.CLOSE && (t.oldstate === TcpState.FIN_WAIT2 || t.oldstate === TcpState.CLOSING)) {
			enters = t.orphaned === true ? TcpState.FIN_WAIT2 : TcpState.TIME_WAIT;
		}

		if (enters !== TcpState.CLOSE) {
			counts[enters]! += 1;
		}

		if (enters === TcpState.TIME_WAIT) {
			space.timeWaits.add(t.monoMs, 1);
		} else if (t.newstate === TcpState.CLOSE && enters === TcpState.FIN_WAIT2) {
			space.orphans.add(t.monoMs, 1);
		}
	}

	/** Sockets of the covered namespaces in a state (never below zero in any one). */
	count(state: number): number {
		let count = 0;
		for (const space of this.#namespaces.values()) {
			count += Math.max(0, space.counts[state] ?? 0);
		}

		return count;
	}
}
