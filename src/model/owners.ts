// Who owns each connection in the table: the process (pid and name) and its control group, and
// where the table learned them (OwnerSource).
//
// The table asks at the points of a connection's life that can name an owner: a transition the
// kernel makes only in the owner's system call, a listener handing its owner to what it accepts,
// a socket pass, an accept(). Everything here writes to the slots the table gives; nothing
// allocates per event once a name or control group has been seen.
import {describeCgroup} from '../capture/cgroups.js';
import {TcpState, type ExistingSocket, type Transition} from '../core/transition.js';
import {OwnerSource} from './connection.js';
import type {ConnectionSlots} from './connection-slots.js';
import {edgeIndex} from './transition-rates.js';

// Transitions the kernel makes only inside a system call of the socket's owner, so the task on
// the CPU is the owner. Others may run in softirq on top of whatever task was interrupted.
const ownerEdges: ReadonlyMap<number, OwnerSource> = new Map([
	[edgeIndex(TcpState.CLOSE, TcpState.SYN_SENT), OwnerSource.connect],
	[edgeIndex(TcpState.CLOSE, TcpState.LISTEN), OwnerSource.listen],
	[edgeIndex(TcpState.ESTABLISHED, TcpState.FIN_WAIT1), OwnerSource.close],
	[edgeIndex(TcpState.CLOSE_WAIT, TcpState.LAST_ACK), OwnerSource.close],
]);

// Comms are interned so a million connections of one program share one string; the cap keeps a
// host with ever-new process names from growing the intern table without bound.
const maxInternedComms = 4096;

export type OwnersOptions = {
	/** A process's control group path (see ConnectionTableOptions.cgroupOf). */
	readonly cgroupOf?: (pid: number) => string | undefined;
	/** A control group's path by the kernel's id for it (see ConnectionTableOptions.cgroupOfId). */
	readonly cgroupOfId?: (id: number) => string | undefined;
};

/** The owners of the connections in a table's slots (pid, comm, cgroup, ownerSource). */
export class Owners {
	/** Listening sockets by netns and port (see portKey), to hand their owner to accepted connections. */
	private readonly listeners = new Map<number, number>();
	private readonly comms = new Map<string, string>();
	/** Indexes into slots.cgroupPaths, by path. */
	private readonly cgroupIndexes = new Map<string, number>();
	private readonly cgroupOf: ((pid: number) => string | undefined) | undefined;
	private readonly cgroupOfId: ((id: number) => string | undefined) | undefined;

	constructor(private readonly slots: ConnectionSlots, options: OwnersOptions = {}) {
		this.cgroupOf = options.cgroupOf;
		this.cgroupOfId = options.cgroupOfId;
	}

	/** The owner a transition names, when the kernel makes it only in the owner's system call. */
	fromTransition(slot: number, t: Transition): void {
		const source = ownerEdges.get(edgeIndex(t.oldstate, t.newstate));
		if (source !== undefined) {
			this.adopt(slot, t.pid, t.comm, source);
		}
	}

	/** Sets the owner when none is known yet; pid 0 (no process) names nobody. */
	adopt(slot: number, pid: number, comm: string, source: OwnerSource): void {
		if (pid === 0 || this.slots.pid[slot] !== 0) {
			return;
		}

		this.set(slot, pid, comm, source);
	}

	/** Sets the owner when none is known or it was only inherited from the listener. */
	replaceGuessed(slot: number, pid: number, comm: string, source: OwnerSource): void {
		const s = this.slots;
		if (s.ownerSource[slot] === OwnerSource.none || s.ownerSource[slot] === OwnerSource.listener) {
			this.set(slot, pid, comm, source);
		}
	}

	/** A listener's row, whose owner the connections it accepts take (see fromListener). */
	listening(slot: number): void {
		this.listeners.set(portKey(this.slots, slot), slot);
	}

	/** A listener's row that no longer listens (closed, or its slot freed). */
	notListening(slot: number): void {
		const port = portKey(this.slots, slot);
		if (this.listeners.get(port) === slot) {
			this.listeners.delete(port);
		}
	}

	/** Whether a listener is known on the row's netns and local port (the row serves it). */
	servesListener(slot: number): boolean {
		return this.listeners.has(portKey(this.slots, slot));
	}

	/** A passive connection's owner: its listener's (netns and local port as the slot holds them), if known. */
	fromListener(slot: number): void {
		const listener = this.listeners.get(portKey(this.slots, slot));
		if (listener !== undefined) {
			this.adopt(slot, this.slots.pid[listener]!, this.slots.comm[listener]!, OwnerSource.listener);
		}
	}

	/** A socket's own control group (socket passes read it), for a row whose owner's is not known. */
	socketCgroup(slot: number, socket: ExistingSocket): void {
		if (this.slots.cgroup[slot] === 0 && socket.cgroupId) {
			this.slots.cgroup[slot] = this.cgroupIndex(this.cgroupOfId?.(socket.cgroupId));
		}
	}

	private set(slot: number, pid: number, comm: string, source: OwnerSource): void {
		const s = this.slots;
		if (s.pid[slot] !== pid || s.cgroup[slot] === 0) {
			// A process gone already leaves the socket's own control group, if known.
			s.cgroup[slot] = this.cgroupIndex(this.cgroupOf?.(pid)) || s.cgroup[slot]!;
		}

		s.pid[slot] = pid;
		s.comm[slot] = this.intern(comm);
		s.ownerSource[slot] = source;
	}

	private intern(comm: string): string {
		const known = this.comms.get(comm);
		if (known !== undefined) {
			return known;
		}

		if (this.comms.size >= maxInternedComms) {
			this.comms.clear();
		}

		this.comms.set(comm, comm);
		return comm;
	}

	/** The index of a control group path among slots.cgroupPaths (0: not known). */
	private cgroupIndex(path: string | undefined): number {
		if (path === undefined) {
			return 0;
		}

		let index = this.cgroupIndexes.get(path);
		// Indexes are 16 bits: past 65,535 control groups, new ones go unnamed.
		if (index === undefined && this.slots.cgroupPaths.length < 65_536) {
			index = this.slots.cgroupPaths.length;
			this.slots.cgroupPaths.push(path);
			this.slots.cgroupIdentities.push(describeCgroup(path));
			this.cgroupIndexes.set(path, index);
		}

		return index ?? 0;
	}
}

/** A row's network namespace and local port as one number: a listener's address, as accepted connections share it. */
function portKey(slots: ConnectionSlots, slot: number): number {
	return (slots.netns[slot]! * 65_536) + slots.lport[slot]!;
}
