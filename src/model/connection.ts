// What the rest of tcptop sees of a tracked connection: a read-only view of one table slot.
import {historyLength, type ConnectionSlots} from './connection-slots.js';
import {localAddressOf, remoteAddressOf} from './connection-key.js';

/** Who opened the connection. */
export const Direction = {
	/** Opened before tcptop saw it (no opening transition observed). */
	unknown: 0,
	/** connect(): CLOSE -> SYN_SENT. */
	active: 1,
	/** accepted from a listener: LISTEN -> SYN_RECV. */
	passive: 2,
	listener: 3,
} as const;
export type Direction = (typeof Direction)[keyof typeof Direction];

/** How a connection ended, once it has. */
export const Ending = {
	open: 0,
	fin: 1,
	resetSent: 2,
	resetReceived: 3,
	refused: 4,
	timedOut: 5,
	/**
	 * Closed by this end while the peer had not closed: the kernel keeps the closed end as an
	 * orphan in FIN_WAIT2 (for tcp_fin_timeout) until the peer's FIN makes it TIME_WAIT.
	 */
	orphaned: 6,
} as const;
export type Ending = (typeof Ending)[keyof typeof Ending];

/** Where the owner (pid, comm) came from; a later source never overwrites a known owner with pid 0. */
export const OwnerSource = {
	none: 0,
	/** The task that called connect() (CLOSE -> SYN_SENT runs in its context). */
	connect: 1,
	/** The task that called listen(). */
	listen: 2,
	/** Inherited from the listener that accepted it. */
	listener: 3,
	/** The task that closed it (close() or shutdown() moves ESTABLISHED or CLOSE_WAIT on). */
	close: 4,
	/** The start-up snapshot of existing sockets. */
	snapshot: 5,
	/** The task whose accept() returned it (passive connections; with accept() traced). */
	accept: 6,
	/** A process holding it open, found by a socket pass (accepted connections, otherwise). */
	holder: 7,
} as const;
export type OwnerSource = (typeof OwnerSource)[keyof typeof OwnerSource];


export type HistoryEntry = {
	readonly from: number;
	readonly to: number;
	/** Time spent in `from`, in ms; null when its start was not seen. */
	readonly ms: number | null;
};

/** A listener's health: its queues, and the connection attempts it dropped. */
export type ListenerHealth = {
	readonly acceptQueue: number;
	readonly acceptBacklog: number;
	readonly synQueue: number;
	/** Dropped since tcptop first saw the listener. */
	readonly drops: number;
	/** Dropped per second between the last two passes. */
	readonly dropsPerSec: number;
	/** SYN-ACKs retransmitted since tcptop started; undefined where not known (a replay). */
	readonly synAckRetransmits: number | undefined;
	/** Drops between each of the last passes (a minute of them at most) and the one before, oldest first. */
	readonly dropsHistory: readonly number[];
	/** The accept queue is past the backlog: the kernel drops what comes. */
	readonly full: boolean;
};

/**
 * A view of the connection in one slot. Valid until the table next changes (apply, sweep,
 * eviction may give the slot to another connection): read what you need within a frame.
 */
export class Connection {
	constructor(
		private readonly slots: ConnectionSlots,
		/** Slot number; mutable so one view can walk many slots without allocating. */
		public slot: number,
	) {}

	get key(): string {
		return this.slots.key[this.slot]!;
	}

	get netns(): number {
		return this.slots.netns[this.slot]!;
	}

	/** The owner's control group path; '' when not known. */
	get cgroup(): string {
		return this.slots.cgroupPaths[this.slots.cgroup[this.slot]!]!;
	}

	/** The owner's container (12-character id) or systemd unit, from its cgroup; '' when none. */
	get container(): string {
		return this.slots.cgroupIdentities[this.slots.cgroup[this.slot]!]!.container ?? '';
	}

	/** The Kubernetes pod's UID, from the owner's cgroup; '' when none. */
	get pod(): string {
		return this.slots.cgroupIdentities[this.slots.cgroup[this.slot]!]!.pod ?? '';
	}

	get family(): 4 | 6 {
		return this.slots.family[this.slot] === 6 ? 6 : 4;
	}

	get laddr(): string {
		return localAddressOf(this.key);
	}

	/** 0 while a connect() has not yet been given its local port. */
	get lport(): number {
		return this.slots.lport[this.slot]!;
	}

	get raddr(): string {
		return remoteAddressOf(this.key);
	}

	get rport(): number {
		return this.slots.rport[this.slot]!;
	}

	/** Kernel state number; TIME_WAIT is synthesised after an orderly active close. */
	get state(): number {
		return this.slots.state[this.slot]!;
	}

	get previousState(): number {
		return this.slots.previousState[this.slot]!;
	}

	get firstSeenMs(): number {
		return this.slots.firstSeenMs[this.slot]!;
	}

	/**
	 * Whether the connection existed before it was first seen (found by a socket pass, or
	 * first seen mid-life): its age is then at least now - firstSeenMs.
	 */
	get ageIsLowerBound(): boolean {
		return this.slots.ageLowerBound[this.slot] === 1;
	}

	/** Likewise for the time in its state: no change of it has been seen. */
	get inStateIsLowerBound(): boolean {
		return this.slots.ageLowerBound[this.slot] === 1 && this.slots.transitions[this.slot] === 0;
	}

	get stateSinceMs(): number {
		return this.slots.stateSinceMs[this.slot]!;
	}

	/** 0 when unknown (only softirq-context events seen so far). */
	get pid(): number {
		return this.slots.pid[this.slot]!;
	}

	get comm(): string {
		return this.slots.comm[this.slot]!;
	}

	get ownerSource(): OwnerSource {
		return this.slots.ownerSource[this.slot] as OwnerSource;
	}

	get direction(): Direction {
		return this.slots.direction[this.slot] as Direction;
	}

	get ending(): Ending {
		return this.slots.ending[this.slot] as Ending;
	}

	get transitionCount(): number {
		return this.slots.transitions[this.slot]!;
	}

	/** The last few transitions, oldest first. */
	get history(): HistoryEntry[] {
		const count = Math.min(this.transitionCount, historyLength);
		const entries: HistoryEntry[] = [];
		for (let index = this.transitionCount - count; index < this.transitionCount; index++) {
			const at = this.slot * historyLength + (index % historyLength);
			const ms = this.slots.historyMs[at]!;
			entries.push({
				from: this.slots.historyStates[at * 2]!,
				to: this.slots.historyStates[(at * 2) + 1]!,
				ms: Number.isNaN(ms) ? null : ms,
			});
		}

		return entries;
	}

	/** Kernel statistics; undefined until the first sample arrives. */
	get bytesAcked(): number | undefined {
		return this.stat(this.slots.bytesAcked);
	}

	get bytesReceived(): number | undefined {
		return this.stat(this.slots.bytesReceived);
	}

	/** Send rate between the last two passes; undefined until two have sampled it. */
	get txBytesPerSec(): number | undefined {
		return this.rate(this.slots.txBytesPerSec);
	}

	get rxBytesPerSec(): number | undefined {
		return this.rate(this.slots.rxBytesPerSec);
	}

	/**
	 * Segments retransmitted per second: over the span before the last pass, counted as they
	 * happened, where the source counts them so (see SocketPass.live; undefined for rows without
	 * counters); else between the last two passes that sampled it (undefined until two have).
	 */
	get retransmitsPerSec(): number | undefined {
		const live = this.slots.liveRates;
		if (live !== undefined) {
			// (Read for every row of a frame in the default order: the Map only when it holds any.)
			const rates = live.size === 0 ? undefined : live.get(this.slot);
			return rates === undefined ? (this.sampled ? 0 : undefined) : rates.retransmits;
		}

		return this.rate(this.slots.retransmitsPerSec);
	}

	/**
	 * Packets the kernel dropped for it since tcptop started, and the last one's reason ('' for
	 * none); undefined until a pass sampled it, and where they are not counted (see
	 * SocketFigures.drops).
	 */
	get drops(): number | undefined {
		return this.sampled && this.slots.dropsCounted ? this.slots.drops.get(this.slot)?.count ?? 0 : undefined;
	}

	get dropReason(): string {
		return this.slots.drops.get(this.slot)?.reason ?? '';
	}

	/** Packets dropped for it per second, as retransmitsPerSec; undefined where drops are not counted. */
	get dropsPerSec(): number | undefined {
		if (!this.slots.dropsCounted) {
			return undefined;
		}

		const live = this.slots.liveRates;
		if (live !== undefined) {
			const rates = live.size === 0 ? undefined : live.get(this.slot);
			return rates === undefined ? (this.sampled ? 0 : undefined) : rates.drops;
		}

		const drops = this.slots.drops.size === 0 ? undefined : this.slots.drops.get(this.slot);
		if (drops === undefined) {
			// None yet: known as its other rates are.
			return this.retransmitsPerSec === undefined ? undefined : 0;
		}

		return Number.isNaN(drops.perSec) ? undefined : (this.slots.statsAtMs[this.slot]! < this.slots.lastPassMs ? 0 : drops.perSec);
	}

	/** Undefined also while the kernel has no measurement (0: before the first ACK). */
	get srttUs(): number | undefined {
		const srtt = this.stat(this.slots.srttUs);
		return srtt === 0 ? undefined : srtt;
	}

	get retransmits(): number | undefined {
		return this.stat(this.slots.retransmits);
	}

	/** A listener's queue as the last pass found it; undefined for other rows. */
	get queue(): ListenerHealth | undefined {
		const state = this.slots.queues.get(this.slot);
		return state && {
			acceptQueue: state.acceptQueue,
			acceptBacklog: state.acceptBacklog,
			synQueue: state.synQueue,
			drops: state.drops - state.dropsAtFirst,
			dropsPerSec: state.latelyMs > 0 ? state.dropsLately * 1000 / state.latelyMs : 0,
			synAckRetransmits: state.synAckRetransmits,
			dropsHistory: state.dropsHistory,
			// The kernel drops once the queue holds more than the backlog.
			full: state.acceptQueue > state.acceptBacklog,
		};
	}

	private get sampled(): boolean {
		return !Number.isNaN(this.slots.statsAtMs[this.slot]);
	}

	private stat(values: Float64Array | Uint32Array): number | undefined {
		return this.sampled ? values[this.slot] : undefined;
	}

	private rate(values: Float32Array): number | undefined {
		const value = values[this.slot]!;
		if (Number.isNaN(value)) {
			return undefined;
		}

		// Left out of the last pass: its counters have not moved since the sample before.
		return this.slots.statsAtMs[this.slot]! < this.slots.lastPassMs ? 0 : value;
	}
}
