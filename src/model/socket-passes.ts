// What socket passes (SocketPass) tell the connection table: the start-up snapshot's rows, each
// connection's counters and each listener's queue, the namespace's counters and the host's
// drops, the host's counts by state, and, from complete passes, reconciliation: the table made
// to agree with what the kernel holds where the stream of changes lost some.
//
// Rows are made, moved and removed through the table's row operations (PassRows), so a
// connection's lifecycle stays the table's; this unit decides when.
import {finishNow, type LiveCounts, type NetCounters, type SocketPass, type Unfinished} from '../core/source.js';
import {TcpState, type ExistingSocket} from '../core/transition.js';
import {OwnerSource} from './connection.js';
import {connectionKey, listenerKey} from './connection-key.js';
import type {ConnectionSlots, LiveRates} from './connection-slots.js';
import type {Owners} from './owners.js';
import {RateSeries, type TransitionRates} from './transition-rates.js';

/** Sockets of a pass the table takes in one share (see inShares): a few ms' work. */
const socketsPerShare = 4096;

/**
 * What a pass acts on the table's rows through: ConnectionTable's row operations, by slot (see
 * them there), its rates, and its counts of the host's sockets.
 */
export type PassRows = {
	readonly rates: TransitionRates;
	/** Rows the table can add before its size cap evicts one. */
	readonly room: number;
	countEvicted(count: number): void;
	peekSlot(key: string): number | undefined;
	slotOfSock(sock: number): number | undefined;
	upsertFromSnapshot(entry: ExistingSocket): number;
	addExisting(key: string, entry: ExistingSocket, atMs: number, source: OwnerSource): number;
	moveTo(slot: number, state: number, atMs: number, orphan: boolean): void;
	portFromPass(slot: number, socket: ExistingSocket): void;
	remove(slot: number): void;
	takeHostCounts(pass: SocketPass): void;
};

/** Takes a table's socket passes; the table hands them on (ConnectionTable.applyPass and the like). */
export class SocketPasses {
	private reconciledCount = 0;
	/** See the netCounters getter. */
	private lastNetCounters: NetCounters | undefined;
	/** See dropsKnown: the kernel's drop totals by reason at the last pass that had them. */
	private lastDrops: ReadonlyMap<string, number> | undefined;
	/**
	 * What the last complete pass found that the table disagreed with, by key: sockets it did
	 * not hold (their state), rows the kernel no longer had, and rows in another state (the
	 * kernel's state and the row's stateSinceMs). A difference is acted on when the next
	 * complete pass finds it again, unchanged: changes in flight while a pass runs reach the
	 * table just after it, and must not be mistaken for missed ones.
	 */
	private passUnknown = new Map<string, number>();
	private passAbsent = new Map<string, number>();
	private passMismatched = new Map<string, string>();

	constructor(
		private readonly table: PassRows,
		private readonly slots: ConnectionSlots,
		private readonly owners: Owners,
	) {}

	/** See ConnectionTable.reconciled. */
	get reconciled(): number {
		return this.reconciledCount;
	}

	/** See ConnectionTable.netCounters. */
	get netCounters(): NetCounters | undefined {
		return this.lastNetCounters;
	}

	/** See ConnectionTable.dropsKnown. */
	get dropsKnown(): boolean {
		return this.lastDrops !== undefined;
	}

	/**
	 * Takes in the start-up snapshot: a row for every socket, with its counters as a first
	 * sample. When the host holds more sockets than the table, TIME_WAIT and request sockets
	 * are the ones to lose: added first, they are the least recently used; those the cap would
	 * evict at once are counted as evicted without being added. Everything else a complete pass
	 * does (inShares) has nothing to act on here: the rows are the pass's own sockets.
	 */
	loadSnapshot(pass: SocketPass): void {
		this.takeCounts(pass);
		this.slots.lastPassMs = pass.monoMs;
		// Loaded in the order they would be let go when the table cannot hold them all: sockets
		// on their way out first, listeners (few, and what a server is) last.
		const passing = (state: number) => state === TcpState.TIME_WAIT || state === TcpState.NEW_SYN_RECV;
		const first: ExistingSocket[] = [];
		const then: ExistingSocket[] = [];
		const last: ExistingSocket[] = [];
		for (const socket of pass.sockets) {
			(passing(socket.state) ? first : (socket.state === TcpState.LISTEN ? last : then)).push(socket);
		}

		let skip = Math.max(0, first.length + then.length + last.length - this.table.room);
		this.table.countEvicted(skip);
		for (const sockets of [first, then, last]) {
			for (let index = Math.min(skip, sockets.length); index < sockets.length; index++) {
				const socket = sockets[index]!;
				const slot = this.table.upsertFromSnapshot(socket);
				// At the socket's own time, as a row made for it took its queue already (once).
				if (socket.queue) {
					this.slots.recordQueue(slot, socket.queue, socket.monoMs);
				}

				const {figures} = socket;
				if (figures) {
					this.slots.recordFigures(slot, figures, pass.monoMs, Number.NaN);
					this.owners.socketCgroup(slot, socket);
				}
			}

			skip = Math.max(0, skip - sockets.length);
		}
	}

	/**
	 * Takes in a later pass in shares of a few thousand sockets: each call of what it returns
	 * does one and says whether it was the last. Nothing else may change the table until it is
	 * done (frames and sweeps may run between shares). See ConnectionTable.applyPass for what a
	 * pass does.
	 */
	inShares(pass: SocketPass): Unfinished {
		const steps = this.steps(pass);
		return () => steps.next().done === true;
	}

	/** A pass at once (inShares' work in one go). */
	apply(pass: SocketPass): void {
		finishNow(this.inShares(pass));
	}

	private * steps(pass: SocketPass): Generator<void> {
		this.takeCounts(pass);
		const previousPassMs = this.slots.lastPassMs;
		// A listeners pass read no connection: their counters are as the last pass that did.
		if (!pass.listenersOnly) {
			this.slots.lastPassMs = pass.monoMs;
		}

		yield * (pass.complete ? this.reconcile(pass, previousPassMs) : this.sample(pass, previousPassMs));
		if (pass.live) {
			this.takeLive(pass.live);
		}
	}

	/**
	 * The connections' retransmits and drops per second over the live counts' span (those not
	 * listed had none), for their rates until the next pass.
	 */
	private takeLive(live: LiveCounts): void {
		const seconds = (live.toMs - live.fromMs) / 1000;
		const rates = new Map<number, LiveRates>();
		const {counts} = live;
		for (let index = 0; seconds > 0 && index + 2 < counts.length; index += 3) {
			const slot = this.table.slotOfSock(counts[index]!);
			if (slot !== undefined) {
				rates.set(slot, {retransmits: counts[index + 1]! / seconds, drops: counts[index + 2]! / seconds});
			}
		}

		this.slots.liveRates = rates;
	}

	/**
	 * A pass that is not complete: the counters of the rows it lists, and the queues of the
	 * listeners. What it leaves out is not gone (see SocketPass.complete).
	 */
	private * sample(pass: SocketPass, previousPassMs: number): Generator<void> {
		let count = 0;
		for (const socket of pass.sockets) {
			if (++count % socketsPerShare === 0) {
				yield;
			}

			const {figures, queue} = socket;
			const slot = (figures ?? queue) && this.table.slotOfSock(socket.sock);
			if (slot !== undefined && figures) {
				this.table.portFromPass(slot, socket);
				this.slots.recordFigures(slot, figures, pass.monoMs, previousPassMs);
			} else if (slot !== undefined && queue) {
				this.slots.recordQueue(slot, queue, pass.monoMs);
			}
		}
	}

	/**
	 * A complete pass: counters, queues and the holders' names as `sample` takes them, and
	 * reconciliation with what exists in the pass's namespaces: sockets the stream missed are
	 * added, rows the kernel no longer has are removed (TIME_WAIT expiry among them), rows in a
	 * state other than the kernel's move to it. Differences are acted on when two complete
	 * passes in a row find them (see passUnknown).
	 */
	private * reconcile(pass: SocketPass, previousPassMs: number): Generator<void> {
		const s = this.slots;
		const seen = new Uint8Array(s.end);
		const unknown = new Map<string, number>();
		const mismatched = new Map<string, string>();
		let count = 0;
		for (const socket of pass.sockets) {
			if (++count % socketsPerShare === 0) {
				yield;
			}

			// A CLOSE socket is being torn down, or not connected yet: nothing to show.
			if (socket.state === TcpState.CLOSE) {
				continue;
			}

			// A full socket is found by its identity, without building its key. A timewait or request
			// socket is another kernel object than the connection it stands for: found by its tuple.
			const full = isFullSocket(socket);
			const slot = full ? this.table.slotOfSock(socket.sock) : this.table.peekSlot(connectionKey(socket));
			if (slot === undefined) {
				// A full table evicted what it could not hold: bringing it back would evict another.
				if (this.table.room <= 0) {
					continue;
				}

				const key = socket.state === TcpState.LISTEN ? listenerKey(socket, socket.sock) : connectionKey(socket);
				if (this.passUnknown.get(key) === socket.state) {
					const added = this.table.addExisting(key, socket, pass.monoMs, OwnerSource.holder);
					if (added < seen.length) {
						seen[added] = 1; // a freed slot, reused
					}

					this.reconciledCount++;
				} else {
					unknown.set(key, socket.state);
				}

				continue;
			}

			seen[slot] = 1;
			if (full) {
				this.table.portFromPass(slot, socket);
			}

			if (socket.figures) {
				this.slots.recordFigures(slot, socket.figures, pass.monoMs, previousPassMs);
			} else if (socket.queue) {
				this.slots.recordQueue(slot, socket.queue, pass.monoMs);
			}

			// A process the pass found holding it open (complete passes name them).
			if (socket.pid !== 0) {
				this.owners.replaceGuessed(slot, socket.pid, socket.comm, OwnerSource.holder);
			}

			if (socket.figures) {
				this.owners.socketCgroup(slot, socket);
			}

			if (s.state[slot] !== socket.state && s.stateSinceMs[slot]! <= pass.monoMs) {
				const key = s.key[slot]!;
				const mark = `${socket.state} ${s.stateSinceMs[slot]}`;
				if (this.passMismatched.get(key) === mark) {
					this.table.moveTo(slot, socket.state, pass.monoMs, isOrphan(socket));
					this.reconciledCount++;
				} else {
					mismatched.set(key, mark);
				}
			}
		}

		const walked = new Set(pass.namespaces);
		const absent = new Map<string, number>();
		/** Slots to remove, each followed by its generation. */
		const gone: number[] = [];
		for (let slot = 0; slot < seen.length; slot++) {
			if ((slot + 1) % (4 * socketsPerShare) === 0) {
				yield;
			}

			const key = s.key[slot];
			if (key === undefined || seen[slot] === 1 || !walked.has(s.netns[slot]!)) {
				continue;
			}

			// Closed rows linger on purpose; a connect waiting for its port has no tuple yet.
			const state = s.state[slot]!;
			const since = s.stateSinceMs[slot]!;
			if (state === TcpState.CLOSE || s.lport[slot] === 0 || since > pass.monoMs) {
				continue;
			}

			if (this.passAbsent.get(key) === since) {
				gone.push(slot, s.generation[slot]!);
			} else {
				absent.set(key, since);
			}
		}

		for (let index = 0; index < gone.length; index += 2) {
			const slot = gone[index]!;
			// A sweep between two shares may have removed it already.
			if (s.generation[slot] !== gone[index + 1] || s.key[slot] === undefined) {
				continue;
			}

			if (s.state[slot] !== TcpState.TIME_WAIT) {
				this.reconciledCount++;
			}

			this.table.remove(slot);
		}

		this.passUnknown = unknown;
		this.passAbsent = absent;
		this.passMismatched = mismatched;
	}

	/** Takes a pass's counts: the namespace's counters and the host's drops into the rates, and the host's states. */
	private takeCounts(pass: SocketPass): void {
		const {rates} = this.table;
		const {netCounters} = pass;
		if (netCounters) {
			const before = this.lastNetCounters;
			// A count smaller than the last is another namespace's or a reset: counted from there.
			const count = (series: RateSeries, name: keyof NetCounters) => {
				rates.count(series, pass.monoMs, Math.max(0, netCounters[name] - before![name]));
			};

			if (before) {
				count(RateSeries.listenOverflows, 'listenOverflows');
				count(RateSeries.listenDrops, 'listenDrops');
				count(RateSeries.retransmits, 'retransmits');
				count(RateSeries.synRetransmits, 'synRetransmits');
			}

			this.lastNetCounters = netCounters;
		}

		// Counted since the capture started: the first pass's are all since then.
		const {drops} = pass;
		if (drops) {
			for (const [reason, total] of drops) {
				const count = total - (this.lastDrops?.get(reason) ?? 0);
				if (count > 0) {
					rates.countDrops(reason, pass.monoMs, count);
				}
			}

			this.lastDrops = drops;
			this.slots.dropsCounted = true;
		}

		this.table.takeHostCounts(pass);
	}
}

/**
 * Whether a socket a pass found is a full socket (one kernel object for the connection's
 * life), not a timewait or request socket standing for one.
 */
function isFullSocket(socket: ExistingSocket): boolean {
	return socket.state !== TcpState.TIME_WAIT && socket.state !== TcpState.NEW_SYN_RECV && !isOrphan(socket);
}

/**
 * Whether a socket a pass found is an orphaned closer whose peer has not closed: a timewait
 * socket, listed in its sub-state FIN_WAIT2 (as ss lists it). It has no counters, where a
 * full socket in FIN_WAIT2 has.
 */
export function isOrphan(socket: ExistingSocket): boolean {
	return socket.state === TcpState.FIN_WAIT2 && socket.figures === undefined;
}
