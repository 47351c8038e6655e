// Decodes the addon's blocks: whole 96-byte records back to back, little-endian, laid out
// as struct tcptop_record in bpf/tcptop.h (the offsets below mirror it).
import {formatIPv4, formatIPv6} from './address.js';
import {TcpState, type Accepted, type ExistingSocket, type ListenerQueue, type Reset, type SocketFigures, type SocketIncident, type Transition} from '../core/transition.js';
import type {NamespaceCounts} from '../core/source.js';

export const RECORD_SIZE = 96;
const RECORD_STATE = 1;
const RECORD_SOCKET = 2;
const RECORD_RESET_SENT = 3;
const RECORD_RESET_RECEIVED = 4;
const RECORD_OWNER = 5;
const RECORD_ACCEPTED = 6;
const RECORD_COUNTS = 7;
const RECORD_RETRANSMIT = 8;
const RECORD_DROP = 9;
const RECORD_SOCKET_DROPS = 10;
/** States a COUNTS record counts: 1 (ESTABLISHED) to 12 (NEW_SYN_RECV). */
const countedStates = 12;
const FLAG_DELTA_KNOWN = 0x1;
const FLAG_FIGURES = 0x2;
const FLAG_ORPHANED = 0x4;
const FLAG_QUEUE = 0x8;
const AF_INET = 2;
const AF_INET6 = 10;

const Offset = {
	tsNs: 0,
	skaddr: 8,
	deltaNs: 16,
	bytesAcked: 16,
	synAckRetransmits: 16,
	/** A DROP record's reason, where a change has its delta_ns. */
	dropReason: 16,
	socketDrops: 16,
	socketDropReason: 80,
	pid: 24,
	tid: 28,
	netns: 32,
	family: 36,
	sport: 38,
	dport: 40,
	oldstate: 42,
	newstate: 43,
	type: 44,
	flags: 45,
	saddr: 48,
	daddr: 64,
	comm: 80,
	commLength: 16,
	bytesReceived: 80,
	srttUs: 88,
	totalRetrans: 92,
	acceptQueue: 80,
	acceptBacklog: 84,
	synQueue: 88,
	listenDrops: 92,
	stateCounts: 48,
} as const;

export class DecodeError extends Error {
	override name = 'DecodeError';
}

const commDecoder = new TextDecoder();

/**
 * What every record says of its socket. Numbers are read eagerly; strings (addresses, comm)
 * are formatted on first use, since most consumers (the connection table, counters) never
 * need them. A record keeps its block alive until it is collected.
 */
class KernelRecord {
	readonly monoMs: number;
	readonly wallMs: number;
	readonly sock: number;
	readonly netns: number;
	readonly family: 4 | 6;
	readonly lport: number;
	readonly rport: number;
	protected readonly bytes: Uint8Array;
	protected readonly offset: number;
	#laddr: string | undefined;
	#raddr: string | undefined;

	constructor(view: DataView, bytes: Uint8Array, offset: number, wallOffsetMs: number) {
		this.bytes = bytes;
		this.offset = offset;
		this.monoMs = readU64(view, offset + Offset.tsNs) / 1e6;
		this.wallMs = this.monoMs + wallOffsetMs;
		this.sock = readSock(view, offset);
		this.netns = view.getUint32(offset + Offset.netns, true);
		this.family = view.getUint16(offset + Offset.family, true) === AF_INET ? 4 : 6;
		this.lport = view.getUint16(offset + Offset.sport, true);
		this.rport = view.getUint16(offset + Offset.dport, true);
	}

	get laddr(): string {
		this.#laddr ??= this.#address(Offset.saddr);
		return this.#laddr;
	}

	get raddr(): string {
		this.#raddr ??= this.#address(Offset.daddr);
		return this.#raddr;
	}

	#address(field: number): string {
		return formatAddress(this.bytes, this.offset, this.family, field);
	}
}

/** A record of the live stream: the task on the CPU, and the change (or the state). */
class KernelTransition extends KernelRecord implements Transition {
	readonly pid: number;
	readonly tid: number;
	readonly oldstate: number;
	readonly newstate: number;
	/** Filled in by InStateClock when the kernel did not time it. */
	ms: number | null;
	readonly orphaned: boolean;
	#comm: string | undefined;

	constructor(view: DataView, bytes: Uint8Array, offset: number, wallOffsetMs: number) {
		super(view, bytes, offset, wallOffsetMs);
		this.pid = view.getUint32(offset + Offset.pid, true);
		this.tid = view.getUint32(offset + Offset.tid, true);
		this.oldstate = view.getUint8(offset + Offset.oldstate);
		this.newstate = view.getUint8(offset + Offset.newstate);
		const flags = view.getUint8(offset + Offset.flags);
		this.ms = (flags & FLAG_DELTA_KNOWN) === 0 ? null : readU64(view, offset + Offset.deltaNs) / 1e6;
		this.orphaned = (flags & FLAG_ORPHANED) !== 0;
	}

	get comm(): string {
		this.#comm ??= readComm(this.bytes, this.offset);
		return this.#comm;
	}
}

function readComm(bytes: Uint8Array, offset: number): string {
	const start = offset + Offset.comm;
	let end = start;
	while (end < start + Offset.commLength && bytes[end] !== 0) {
		end++;
	}

	return commDecoder.decode(bytes.subarray(start, end));
}

/** What the records of one pass share. */
type PassBlock = {
	readonly view: DataView;
	readonly bytes: Uint8Array;
	readonly wallOffsetMs: number;
	/** A drop reason's name, from the kernel's value. */
	readonly dropReason: (value: number) => string;
};

/**
 * A socket a pass found, with a full socket's counters. A pass lists every socket on the host
 * (100,000 and more), so a record holds only its place in the block and reads each field
 * when asked: the table reads a few of most sockets' fields, and many once.
 */
class KernelSocket implements ExistingSocket, SocketFigures {
	readonly #pass: PassBlock;
	readonly #offset: number;
	/** Where the owner record the pass joined to it starts (see decodePass); -1 for none. */
	ownerOffset = -1;
	/** Where the record of the packets the kernel dropped for it starts; -1 for none (no drops). */
	dropsOffset = -1;
	#laddr: string | undefined;
	#raddr: string | undefined;

	constructor(pass: PassBlock, offset: number) {
		this.#pass = pass;
		this.#offset = offset;
	}

	get monoMs(): number {
		return readU64(this.#pass.view, this.#offset + Offset.tsNs) / 1e6;
	}

	get wallMs(): number {
		return this.monoMs + this.#pass.wallOffsetMs;
	}

	get sock(): number {
		return readSock(this.#pass.view, this.#offset);
	}

	get netns(): number {
		return this.#pass.view.getUint32(this.#offset + Offset.netns, true);
	}

	get family(): 4 | 6 {
		return this.#pass.view.getUint16(this.#offset + Offset.family, true) === AF_INET ? 4 : 6;
	}

	get lport(): number {
		return this.#pass.view.getUint16(this.#offset + Offset.sport, true);
	}

	get rport(): number {
		return this.#pass.view.getUint16(this.#offset + Offset.dport, true);
	}

	get laddr(): string {
		this.#laddr ??= formatAddress(this.#pass.bytes, this.#offset, this.family, Offset.saddr);
		return this.#laddr;
	}

	get raddr(): string {
		this.#raddr ??= formatAddress(this.#pass.bytes, this.#offset, this.family, Offset.daddr);
		return this.#raddr;
	}

	get state(): number {
		return this.#pass.view.getUint8(this.#offset + Offset.newstate);
	}

	get figures(): SocketFigures | undefined {
		return (this.#pass.view.getUint8(this.#offset + Offset.flags) & FLAG_FIGURES) === 0 ? undefined : this;
	}

	get queue(): ListenerQueue | undefined {
		const {view} = this.#pass;
		const at = this.#offset;
		return (view.getUint8(at + Offset.flags) & FLAG_QUEUE) === 0 ? undefined : {
			acceptQueue: view.getUint32(at + Offset.acceptQueue, true),
			acceptBacklog: view.getUint32(at + Offset.acceptBacklog, true),
			synQueue: view.getUint32(at + Offset.synQueue, true),
			drops: view.getUint32(at + Offset.listenDrops, true),
			synAckRetransmits: readU64(view, at + Offset.synAckRetransmits),
		};
	}

	get bytesAcked(): number {
		return readU64(this.#pass.view, this.#offset + Offset.bytesAcked);
	}

	get bytesReceived(): number {
		return readU64(this.#pass.view, this.#offset + Offset.bytesReceived);
	}

	get srttUs(): number {
		return this.#pass.view.getUint32(this.#offset + Offset.srttUs, true);
	}

	get retransmits(): number {
		return this.#pass.view.getUint32(this.#offset + Offset.totalRetrans, true);
	}

	get drops(): number {
		return this.dropsOffset < 0 ? 0 : readU64(this.#pass.view, this.dropsOffset + Offset.socketDrops);
	}

	get dropReason(): string {
		return this.dropsOffset < 0 ? '' : this.#pass.dropReason(this.#pass.view.getUint32(this.dropsOffset + Offset.socketDropReason, true));
	}

	/** A full socket's control group id (its pid and tid fields carry it); 0 when none is known. */
	get cgroupId(): number {
		return this.figures === undefined ? 0 : readU64(this.#pass.view, this.#offset + Offset.pid);
	}

	get pid(): number {
		return this.ownerOffset < 0 ? 0 : this.#pass.view.getUint32(this.ownerOffset + Offset.pid, true);
	}

	get comm(): string {
		return this.ownerOffset < 0 ? '' : readComm(this.#pass.bytes, this.ownerOffset);
	}
}

function formatAddress(bytes: Uint8Array, offset: number, family: 4 | 6, field: number): string {
	return family === 4 ? formatIPv4(bytes, offset + field) : formatIPv6(bytes, offset + field);
}

/** Kernel addresses differ in their low 48 bits; a double holds those exactly. */
function readSock(view: DataView, offset: number): number {
	return ((view.getUint32(offset + Offset.skaddr + 4, true) & 0xff_ff) * 2 ** 32) + view.getUint32(offset + Offset.skaddr, true);
}

function readU64(view: DataView, offset: number): number {
	return (view.getUint32(offset + 4, true) * 2 ** 32) + view.getUint32(offset, true);
}

/**
 * Checks that a block holds whole records; calls visit with each record's type and offset,
 * from record `from` to before record `to` (all of them by default).
 */
function forEachRecord(
	block: ArrayBuffer, visit: (type: number, view: DataView, bytes: Uint8Array, offset: number) => void,
	from = 0, to = block.byteLength / RECORD_SIZE,
): void {
	if (block.byteLength % RECORD_SIZE !== 0) {
		throw new DecodeError(`truncated block: ${block.byteLength} bytes is not a whole number of ${RECORD_SIZE}-byte records`);
	}

	const view = new DataView(block);
	const bytes = new Uint8Array(block);
	for (let offset = from * RECORD_SIZE; offset < to * RECORD_SIZE; offset += RECORD_SIZE) {
		const type = view.getUint8(offset + Offset.type);
		const family = view.getUint16(offset + Offset.family, true);
		if (type !== RECORD_COUNTS && family !== AF_INET && family !== AF_INET6) {
			throw new DecodeError(`record ${offset / RECORD_SIZE}: unknown address family ${family}`);
		}

		visit(type, view, bytes, offset);
	}
}

function unknownType(type: number, offset: number): DecodeError {
	return new DecodeError(`record ${offset / RECORD_SIZE}: unknown record type ${type}`);
}

export type DecodedBlock = {
	transitions: Transition[];
	resets: Reset[];
	accepted: Accepted[];
	/** Retransmits and drops (trace --events); a drop's reason is the kernel's value, named by the caller. */
	incidents: Array<Omit<SocketIncident, 'reason'> & {reasonValue: number}>;
};

/**
 * Decodes one block of the live stream. `wallOffsetMs` turns the kernel's monotonic clock
 * into wall-clock time. Throws DecodeError on a block that is not whole records of a known kind.
 */
export function decodeBlock(block: ArrayBuffer, wallOffsetMs: number): DecodedBlock {
	const decoded: DecodedBlock = {transitions: [], resets: [], accepted: [], incidents: []};
	forEachRecord(block, (type, view, bytes, offset) => {
		if (type === RECORD_STATE) {
			decoded.transitions.push(new KernelTransition(view, bytes, offset, wallOffsetMs));
		} else if (type === RECORD_RESET_SENT || type === RECORD_RESET_RECEIVED) {
			const {monoMs, wallMs, sock, netns, pid, comm, family, laddr, lport, raddr, rport, newstate} = new KernelTransition(view, bytes, offset, wallOffsetMs);
			decoded.resets.push({monoMs, wallMs, sock, netns, pid, comm, family, laddr, lport, raddr, rport, state: newstate, sent: type === RECORD_RESET_SENT});
		} else if (type === RECORD_ACCEPTED) {
			const {monoMs, wallMs, sock, netns, pid, tid, comm, family, laddr, lport, raddr, rport} = new KernelTransition(view, bytes, offset, wallOffsetMs);
			decoded.accepted.push({monoMs, wallMs, sock, netns, pid, tid, comm, family, laddr, lport, raddr, rport});
		} else if (type === RECORD_RETRANSMIT || type === RECORD_DROP) {
			const {monoMs, wallMs, sock, netns, pid, tid, comm, family, laddr, lport, raddr, rport, newstate} = new KernelTransition(view, bytes, offset, wallOffsetMs);
			const kind = type === RECORD_RETRANSMIT ? 'retransmit' : 'drop';
			const reasonValue = kind === 'drop' ? readU64(view, offset + Offset.dropReason) : 0;
			decoded.incidents.push({kind, monoMs, wallMs, sock, netns, pid, tid, comm, family, laddr, lport, raddr, rport, state: newstate, reasonValue});
		} else {
			throw unknownType(type, offset);
		}
	});
	return decoded;
}

export type DecodedPass = {
	readonly sockets: ExistingSocket[];
	/** Every socket of each namespace walked, by state; see SocketPass.counts. */
	readonly counts: NamespaceCounts[] | undefined;
	/** The network namespaces walked, in the order walked; see SocketPass.namespaces. */
	readonly namespaces: number[];
};

/**
 * Decodes a socket pass's block: for each network namespace walked, its socket records (with a
 * full socket's counters) and its per-state counts; then, in complete passes, owner records (a
 * process that holds a socket open), joined by socket identity.
 */
export function decodePass(block: ArrayBuffer, wallOffsetMs: number, dropReason = unnamedDropReason): DecodedPass {
	const steps = decodePassSteps(block, wallOffsetMs, dropReason);
	for (;;) {
		const step = steps.next();
		if (step.done) {
			return step.value;
		}
	}
}

/** Records decodePassSteps decodes between two yields. */
const recordsPerStep = 16_384;

function unnamedDropReason(value: number): string {
	return `REASON_${value}`;
}

/** decodePass in steps of a few thousand records (a pass of 100,000 sockets is 200,000 records). */
export function * decodePassSteps(block: ArrayBuffer, wallOffsetMs: number, dropReason = unnamedDropReason): Generator<void, DecodedPass> {
	const sockets: KernelSocket[] = [];
	/** Where each socket's owner record starts, by socket identity. */
	const owners = new Map<number, number>();
	let pass: PassBlock | undefined;
	let counts: NamespaceCounts[] | undefined;
	const namespaces: number[] = [];
	const visit = (type: number, view: DataView, bytes: Uint8Array, offset: number) => {
		if (type === RECORD_SOCKET) {
			pass ??= {view, bytes, wallOffsetMs, dropReason};
			sockets.push(new KernelSocket(pass, offset));
		} else if (type === RECORD_SOCKET_DROPS) {
			// Written right after its socket's record.
			const socket = sockets.at(-1);
			if (socket?.sock !== readSock(view, offset)) {
				throw new DecodeError(`record ${offset / RECORD_SIZE}: drops of a socket not just listed`);
			}

			socket.dropsOffset = offset;
		} else if (type === RECORD_OWNER) {
			const sock = readSock(view, offset);
			const known = owners.get(sock);
			if (known === undefined || view.getUint32(offset + Offset.pid, true) < view.getUint32(known + Offset.pid, true)) {
				owners.set(sock, offset);
			}
		} else if (type === RECORD_COUNTS) {
			const states = [0];
			for (let state = 1; state <= countedStates; state++) {
				states.push(view.getUint32(offset + Offset.stateCounts + ((state - 1) * 4), true));
			}

			const netns = view.getUint32(offset + Offset.netns, true);
			const walkedNs = readU64(view, offset + Offset.tsNs);
			namespaces.push(netns);
			(counts ??= []).push({netns, states, ...(walkedNs === 0 ? {} : {monoMs: walkedNs / 1e6})});
		} else {
			throw unknownType(type, offset);
		}
	};

	const records = block.byteLength / RECORD_SIZE;
	for (let from = 0; from === 0 || from < records; from += recordsPerStep) {
		forEachRecord(block, visit, from, Math.min(records, from + recordsPerStep));
		yield;
	}

	if (owners.size > 0) {
		for (const socket of sockets) {
			socket.ownerOffset = owners.get(socket.sock) ?? -1;
		}
	}

	return {sockets, counts, namespaces};
}

/** Sockets timed at once at most; beyond it, new sockets go without time in state. */
const maxTimedSockets = 1 << 20;

/**
 * Time in the previous state, worked out from the changes themselves: the kernel times a
 * change only when a pid setting makes it keep a per-socket map. Keyed by socket identity; a
 * socket's first change seen, or one that does not start from the state last seen, has none.
 * Changes must come in time order.
 *
 * It also drops a change delivered twice: the kernel runs a second copy of the handler to
 * rescue the changes the first misses (tcptop_state2 in bpf/tcptop.bpf.c), and a burst of
 * nested changes can make both record one. A socket cannot make the same change twice in a
 * row (after OLD -> NEW it is in NEW), so a repeat of its last change is that change again,
 * when the changes are all of them: not under a pid setting, which passes a socket's changes
 * one by one (a socket address reused by another process's socket would read as a repeat);
 * and when it is not older than the last (the perf buffer's CPUs can hand over a socket's
 * last change after the next socket at its address made its own).
 *
 * A closed socket's entry is kept, marked closed, rather than deleted: the kernel reuses a
 * freed socket's address at once, and a key deleted and set again at that rate in a large V8
 * Map grows one bucket's chain of deleted entries until the next rehash (every lookup then
 * walks it). Closed entries are dropped in one rebuild once they outnumber the open ones.
 */
export class InStateClock {
	#sockets = new Map<number, {sinceMs: number; state: number; from: number}>();
	#closed = 0;
	#repeats = 0;

	/** `dropRepeats`: whether the changes come whole (no pid setting), so repeats can be dropped. */
	constructor(private readonly dropRepeats = true) {}

	/**
	 * Sets `ms` on the transitions that have none, and notes each one's new state. Returns the
	 * transitions without the repeated ones (the same array when there are none).
	 */
	apply(transitions: Transition[]): Transition[] {
		let repeated: Set<Transition> | undefined;
		for (const transition of transitions) {
			const t = transition as KernelTransition;
			const known = this.#sockets.get(t.sock);
			if (known === undefined) {
				if (t.newstate !== TcpState.CLOSE && this.#sockets.size < maxTimedSockets) {
					this.#sockets.set(t.sock, {sinceMs: t.monoMs, state: t.newstate, from: t.oldstate});
				}

				continue;
			}

			// Older than the last change seen at this address: the socket there before, handed over
			// late. It says nothing of the socket there now, so it neither times nor moves it (moved,
			// the socket's own next change would read as a repeat of it).
			if (t.monoMs < known.sinceMs) {
				continue;
			}

			if (this.dropRepeats && known.state === t.newstate && known.from === t.oldstate && t.oldstate !== t.newstate) {
				(repeated ??= new Set()).add(transition);
				continue;
			}

			if (t.ms === null && known.state === t.oldstate && t.oldstate !== TcpState.CLOSE) {
				t.ms = t.monoMs - known.sinceMs;
			}

			this.#closed += Number(t.newstate === TcpState.CLOSE) - Number(known.state === TcpState.CLOSE);
			known.sinceMs = t.monoMs;
			known.state = t.newstate;
			known.from = t.oldstate;
		}

		if (repeated) {
			this.#repeats += repeated.size;
			transitions = transitions.filter(transition => !repeated.has(transition));
		}

		if (this.#closed > 1024 && this.#closed * 2 > this.#sockets.size) {
			this.#sockets = new Map([...this.#sockets].filter(([, known]) => known.state !== TcpState.CLOSE));
			this.#closed = 0;
		}

		return transitions;
	}

	/** Changes dropped as delivered twice, since start. */
	get repeats(): number {
		return this.#repeats;
	}

	/** Sockets being timed (not closed). */
	get size(): number {
		return this.#sockets.size - this.#closed;
	}
}
