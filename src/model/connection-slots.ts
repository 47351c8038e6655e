// Columnar storage for connections: one typed array per field, indexed by slot number.
//
// One object per connection costs ~350 bytes at a million connections (object header, boxed
// doubles, pointers); these arrays cost about 110 bytes a slot, which is what keeps the table
// within its memory budget. The table owns the slots; Connection is a read-only view of one.
// The slots also write a socket pass's samples into themselves (recordFigures, recordQueue):
// what the samples mean is set out beside the fields they fill.
import type {CgroupIdentity} from '../capture/cgroups.js';
import type {ListenerQueue, SocketFigures} from '../core/transition.js';

/** A listener's queue as the last pass found it, and its drops as tcptop has seen them grow. */
export type QueueState = ListenerQueue & {
	/** The kernel's drop count when tcptop first saw the listener: drops since then are the difference. */
	readonly dropsAtFirst: number;
	/** Drops between the two passes before, and how far apart they were (ms; 0: one pass only). */
	readonly dropsLately: number;
	readonly latelyMs: number;
	/** Drops between each pass and the one before, the last minute's passes at most, oldest first. */
	readonly dropsHistory: readonly number[];
	/** When the pass was taken. */
	readonly atMs: number;
};

/** Packets the kernel dropped for a connection, as the last pass that sampled it read them. */
export type SocketDrops = {
	/** Since tcptop started. */
	readonly count: number;
	/** The last one's reason, the kernel's name for it. */
	readonly reason: string;
	/** Per second between the last two passes that sampled the row; NaN after one. */
	readonly perSec: number;
};

/** A connection's retransmits and drops per second, as they were counted when they happened. */
export type LiveRates = {
	readonly retransmits: number;
	readonly drops: number;
};

/** Transitions kept per connection (a ring; the oldest are overwritten). */
export const historyLength = 4;

/** Passes a listener's drop history keeps: a minute of them at the default refresh. */
const dropsHistoryLength = 60;

const initialCapacity = 1024;

export class ConnectionSlots {
	/** Told the bytes a connection sent and received, and the segments it retransmitted, between two samples (see Groups). */
	countersMoved: ((slot: number, tx: number, rx: number, retransmits: number) => void) | undefined;
	/** The LRU key of the connection in each slot; undefined marks a free slot. */
	key: Array<string | undefined> = [];
	comm: string[] = [];
	netns = new Uint32Array(0);
	/**
	 * The kernel socket's identity (see SocketEvent.sock), set when the row is made: a connect
	 * waiting for its port is pending under it.
	 */
	sock = new Float64Array(0);
	family = new Uint8Array(0);
	lport = new Uint16Array(0);
	rport = new Uint16Array(0);
	state = new Uint8Array(0);
	previousState = new Uint8Array(0);
	direction = new Uint8Array(0);
	ending = new Uint8Array(0);
	ownerSource = new Uint8Array(0);
	pid = new Uint32Array(0);
	/** The owner's control group, as an index into cgroupPaths (0: not known). */
	cgroup = new Uint16Array(0);
	/** Control group paths by index, and who each holds (see describeCgroup); index 0 is none. */
	readonly cgroupPaths: string[] = [''];
	readonly cgroupIdentities: CgroupIdentity[] = [{}];
	firstSeenMs = new Float64Array(0);
	/** 1 when the connection was first seen mid-life (a pass found it): its age is at least this. */
	ageLowerBound = new Uint8Array(0);
	stateSinceMs = new Float64Array(0);
	transitions = new Uint32Array(0);
	/** Bumped whenever a slot is freed, so queued references to its old occupant can be told apart. */
	generation = new Uint32Array(0);
	/** historyLength (from, to) pairs per slot. */
	historyStates = new Uint8Array(0);
	/** Time spent in `from`, per history entry; NaN when unknown. */
	historyMs = new Float32Array(0);
	/** Kernel statistics, filled from the socket passes; statsAtMs is NaN until the first sample. */
	statsAtMs = new Float64Array(0);
	/**
	 * When the last socket pass was taken (NaN before the first). A pass that is not complete
	 * lists only the connections whose counters changed since the pass before: a row sampled
	 * before it had counters that did not move, and sends and receives nothing now.
	 */
	lastPassMs = Number.NaN;
	/** Listeners' queues by slot (a host has few listeners: kept beside the arrays, not in them). */
	readonly queues = new Map<number, QueueState>();
	/** Drops by slot, of the connections the kernel dropped packets for (few, as queues). */
	readonly drops = new Map<number, SocketDrops>();
	/** Whether the passes count drops per connection (the kernel's drop counts come with them). */
	dropsCounted = false;
	/**
	 * Retransmits and drops per second by slot over the last pass's live counts, of the rows
	 * with any (see SocketPass.live); undefined where the source has none: rates then come from
	 * the counters two passes read.
	 */
	liveRates: Map<number, LiveRates> | undefined;
	bytesAcked = new Float64Array(0);
	bytesReceived = new Float64Array(0);
	txBytesPerSec = new Float32Array(0);
	rxBytesPerSec = new Float32Array(0);
	/** Segments retransmitted per second between the last two passes that sampled the row. */
	retransmitsPerSec = new Float32Array(0);
	srttUs = new Uint32Array(0);
	retransmits = new Uint32Array(0);

	private capacity = 0;
	private readonly freeSlots: number[] = [];
	private highWater = 0;

	constructor(private readonly maxCapacity: number) {}

	/** Slots in use. */
	get live(): number {
		return this.highWater - this.freeSlots.length;
	}

	/** Number of slots ever handed out (live or free): iterate 0..end and skip free ones. */
	get end(): number {
		return this.highWater;
	}

	allocate(key: string): number {
		let slot = this.freeSlots.pop();
		if (slot === undefined) {
			if (this.highWater === this.capacity) {
				this.grow();
			}

			slot = this.highWater++;
		}

		this.key[slot] = key;
		this.clear(slot);
		return slot;
	}

	free(slot: number): void {
		this.key[slot] = undefined;
		this.queues.delete(slot);
		this.drops.delete(slot);
		this.liveRates?.delete(slot);
		this.comm[slot] = '';
		this.generation[slot]!++;
		this.freeSlots.push(slot);
	}

	/**
	 * A connection's counters from a pass at `atMs`. A pass lists a connection whose counters
	 * changed since the pass before (`previousPassMs`): they were the last sample's until then,
	 * so the rates are over that one interval.
	 */
	recordFigures(slot: number, sample: SocketFigures, atMs: number, previousPassMs: number): void {
		const sampledAtMs = this.statsAtMs[slot]!;
		const seconds = (atMs - (sampledAtMs < previousPassMs ? previousPassMs : sampledAtMs)) / 1000;
		if (seconds > 0) {
			const tx = Math.max(0, sample.bytesAcked - this.bytesAcked[slot]!);
			const rx = Math.max(0, sample.bytesReceived - this.bytesReceived[slot]!);
			const retransmits = Math.max(0, sample.retransmits - this.retransmits[slot]!);
			this.txBytesPerSec[slot] = tx / seconds;
			this.rxBytesPerSec[slot] = rx / seconds;
			this.retransmitsPerSec[slot] = retransmits / seconds;
			this.countersMoved?.(slot, tx, rx, retransmits);
		}

		const drops = sample.drops ?? 0;
		const known = this.drops.get(slot);
		if (drops > 0 || known) {
			// The kernel's count only grows; a smaller one is another socket's (a reused address).
			const moved = Math.max(0, drops - (known?.count ?? 0));
			this.drops.set(slot, {count: drops, reason: sample.dropReason ?? '', perSec: seconds > 0 ? moved / seconds : Number.NaN});
		}

		this.statsAtMs[slot] = atMs;
		this.bytesAcked[slot] = sample.bytesAcked;
		this.bytesReceived[slot] = sample.bytesReceived;
		this.srttUs[slot] = sample.srttUs;
		this.retransmits[slot] = sample.retransmits;
	}

	/** A listener's queue from a pass at `atMs`; drops are counted from the first pass that saw it. */
	recordQueue(slot: number, queue: ListenerQueue, atMs: number): void {
		const known = this.queues.get(slot);
		if (known?.atMs === atMs) {
			return;
		}

		const {acceptQueue, acceptBacklog, synQueue, drops, synAckRetransmits} = queue;
		// The kernel's count only grows; a smaller one is another socket's (a reused address).
		const dropsLately = known ? Math.max(0, drops - known.drops) : 0;
		this.queues.set(slot, {
			acceptQueue, acceptBacklog, synQueue, drops, synAckRetransmits,
			dropsAtFirst: known?.dropsAtFirst ?? drops,
			dropsLately,
			dropsHistory: known ? [...known.dropsHistory.slice(1 - dropsHistoryLength), dropsLately] : [],
			latelyMs: known ? atMs - known.atMs : 0,
			atMs,
		});
	}

	private clear(slot: number): void {
		this.comm[slot] = '';
		this.netns[slot] = 0;
		this.family[slot] = 0;
		this.lport[slot] = 0;
		this.rport[slot] = 0;
		this.state[slot] = 0;
		this.previousState[slot] = 0;
		this.direction[slot] = 0;
		this.ending[slot] = 0;
		this.ownerSource[slot] = 0;
		this.pid[slot] = 0;
		this.cgroup[slot] = 0;
		this.firstSeenMs[slot] = 0;
		this.ageLowerBound[slot] = 0;
		this.stateSinceMs[slot] = 0;
		this.transitions[slot] = 0;
		this.statsAtMs[slot] = Number.NaN;
		this.txBytesPerSec[slot] = Number.NaN;
		this.rxBytesPerSec[slot] = Number.NaN;
		this.retransmitsPerSec[slot] = Number.NaN;
	}

	private grow(): void {
		const capacity = Math.min(this.maxCapacity, Math.max(initialCapacity, this.capacity * 2));
		if (capacity <= this.capacity) {
			throw new RangeError(`connection slots exhausted (${this.maxCapacity})`);
		}

		this.netns = resized(this.netns, capacity);
		this.sock = resized(this.sock, capacity);
		this.family = resized(this.family, capacity);
		this.lport = resized(this.lport, capacity);
		this.rport = resized(this.rport, capacity);
		this.state = resized(this.state, capacity);
		this.previousState = resized(this.previousState, capacity);
		this.direction = resized(this.direction, capacity);
		this.ending = resized(this.ending, capacity);
		this.ownerSource = resized(this.ownerSource, capacity);
		this.pid = resized(this.pid, capacity);
		this.cgroup = resized(this.cgroup, capacity);
		this.firstSeenMs = resized(this.firstSeenMs, capacity);
		this.ageLowerBound = resized(this.ageLowerBound, capacity);
		this.stateSinceMs = resized(this.stateSinceMs, capacity);
		this.transitions = resized(this.transitions, capacity);
		this.generation = resized(this.generation, capacity);
		this.historyStates = resized(this.historyStates, capacity * historyLength * 2);
		this.historyMs = resized(this.historyMs, capacity * historyLength);
		this.statsAtMs = resized(this.statsAtMs, capacity);
		this.bytesAcked = resized(this.bytesAcked, capacity);
		this.bytesReceived = resized(this.bytesReceived, capacity);
		this.txBytesPerSec = resized(this.txBytesPerSec, capacity);
		this.rxBytesPerSec = resized(this.rxBytesPerSec, capacity);
		this.retransmitsPerSec = resized(this.retransmitsPerSec, capacity);
		this.srttUs = resized(this.srttUs, capacity);
		this.retransmits = resized(this.retransmits, capacity);
		this.capacity = capacity;
	}
}

type NumberArray = Uint8Array | Uint16Array | Uint32Array | Float32Array | Float64Array;

function resized<T extends NumberArray>(array: T, length: number): T {
	const bigger = new (array.constructor as new (length: number) => T)(length);
	bigger.set(array);
	return bigger;
}
