// Connections by group (process, remote host, remote network, local service, container, state):
// what "which service, which upstream, which container" asks of a host with thousands of
// sockets. Kept up to date as the table changes (a row is placed in its group when it is made,
// moves or gets an owner; events and bytes are counted into its group as they come), so a
// frame reads the groups, never every connection. A sample turns each group's running totals
// into rates over the time since the sample before.
import {displayStateName, stateCount} from '../core/tcp-states.js';
import {Connection, Direction} from './connection.js';
import type {ConnectionSlots} from './connection-slots.js';
import {remoteAddressOf} from './connection-key.js';
import {longWindowMs, WindowedDurations, type Quantiles} from './durations.js';

export const groupKinds = [
	{key: 'process', title: 'PROCESS'},
	{key: 'remote', title: 'REMOTE HOST'},
	{key: 'subnet', title: 'REMOTE NET'},
	{key: 'service', title: 'SERVICE'},
	{key: 'container', title: 'CONTAINER'},
	{key: 'state', title: 'STATE'},
] as const;

export type GroupKind = (typeof groupKinds)[number];
export type GroupKindKey = GroupKind['key'];

export function groupKindByKey(key: string): GroupKind | undefined {
	return groupKinds.find(kind => kind.key === key);
}

/** The events a group counts, as they happen. */
export const GroupEvent = {opened: 0, failed: 1, reset: 2} as const;
export type GroupEvent = (typeof GroupEvent)[keyof typeof GroupEvent];

/** A group as a frame shows it: its members now, and what happened since the sample before. */
export type GroupRow = {
	readonly key: string;
	readonly connections: number;
	/** Members per state, indexed by state number. */
	readonly states: readonly number[];
	/** How long since the sample before: the span of the counts and rates. */
	readonly seconds: number;
	/** Connections opened, connects failed, connections reset, in that span. */
	readonly opened: number;
	readonly failed: number;
	readonly resets: number;
	/** Bytes per second, over that span. */
	readonly txBytesPerSec: number;
	readonly rxBytesPerSec: number;
	/** Segments retransmitted in that span, as socket walks read them. */
	readonly retransmits: number;
	/** Connects failed or connections reset since the sample before. */
	readonly trouble: boolean;
	/** Handshake times over the last minute, worked out when first asked (undefined: none). */
	handshake(): Quantiles | undefined;
};

class Group {
	members = 0;
	readonly states = new Uint32Array(stateCount);
	readonly totals = new Float64Array(6);
	readonly sampled = new Float64Array(6);
	/** Since the sample before. */
	readonly deltas = new Float64Array(6);
	/** Handshakes of its connections, when it has had any: sparse histograms, as a host has many groups. */
	handshakes: WindowedDurations | undefined;
	constructor(readonly key: string) {}
}

const Total = {opened: 0, failed: 1, reset: 2, tx: 3, rx: 4, retransmits: 5} as const;

/** Below this many ms since the last sample, a sample keeps the last rates (a key press redraws). */
const minSampleMs = 500;

/** Where a row is counted: its group and the state it is counted in there. */
export class Groups {
	private readonly byKey = new Map<string, Group>();
	private groupOf: Array<Group | undefined> = [];
	private countedState = new Uint8Array(0);
	/** What each row's key was made from when it was placed (see inputOf). */
	private placedBy = new Float64Array(0);
	private readonly view: Connection;
	private seconds = 0;
	constructor(
		readonly kind: GroupKind,
		/** When the counting began: the first sample's rates are since then. */
		private sampledAtMs: number,
		private readonly slots: ConnectionSlots,
		/** Whether the row's local port has a listener (a connection found mid-life serves it). */
		private readonly servesListener: (slot: number) => boolean,
	) {
		this.view = new Connection(slots, 0);
	}

	/** The group key of the row in a slot, as it is now. */
	keyOf(slot: number): string {
		const s = this.slots;
		switch (this.kind.key) {
			case 'process': {
				const pid = s.pid[slot]!;
				return pid === 0 ? '(no process)' : `${s.comm[slot]} ${pid}`;
			}

			case 'remote': {
				return s.direction[slot] === Direction.listener ? '(listening)' : remoteAddressOf(s.key[slot]!);
			}

			case 'subnet': {
				return s.direction[slot] === Direction.listener ? '(listening)' : networkOf(remoteAddressOf(s.key[slot]!));
			}

			case 'service': {
				const direction = s.direction[slot]!;
				const serves = direction === Direction.listener || direction === Direction.passive
					|| (direction === Direction.unknown && this.servesListener(slot));
				return serves ? `:${s.lport[slot]}` : `to :${s.rport[slot]}`;
			}

			case 'container': {
				this.view.slot = slot;
				return this.view.container || '(host)';
			}

			case 'state': {
				return displayStateName(s.state[slot]!);
			}
		}
	}

	/**
	 * What a row's group key is made from, as a number: while it is the same, so is the key, and
	 * a change need not build the key again (see place). The remote address of a row never
	 * changes; whether its port has a listener is looked at again by a full placing (regroup).
	 */
	private inputOf(slot: number): number {
		const s = this.slots;
		switch (this.kind.key) {
			case 'process': {
				return s.pid[slot]!;
			}

			case 'remote':
			case 'subnet': {
				return 0;
			}

			case 'service': {
				return (s.lport[slot]! * 4) + s.direction[slot]!;
			}

			case 'container': {
				return s.cgroup[slot]!;
			}

			case 'state': {
				return s.state[slot]!;
			}
		}
	}

	/**
	 * Counts the row in its group and state as they are now, moving it if either changed. Unless
	 * `fully`, a row whose key is made from the same as when it was placed keeps its group
	 * without its key being built again (a change of state, on every event).
	 */
	place(slot: number, fully = false): Group {
		const state = this.slots.state[slot]!;
		const input = this.inputOf(slot);
		let group = this.groupOf[slot];
		const key = !fully && group !== undefined && this.placedBy[slot] === input ? group.key : this.keyOf(slot);
		if (group?.key === key) {
			this.placedBy[slot] = input;
			const counted = this.countedState[slot]!;
			if (counted !== state) {
				group.states[counted]! -= 1;
				group.states[state]! += 1;
				this.countedState[slot] = state;
			}

			return group;
		}

		this.leave(slot);
		group = this.byKey.get(key);
		if (group === undefined) {
			group = new Group(key);
			this.byKey.set(key, group);
		}

		if (slot >= this.countedState.length) {
			const capacity = Math.max(1024, 2 * (slot + 1));
			const grown = new Uint8Array(capacity);
			grown.set(this.countedState);
			this.countedState = grown;
			const inputs = new Float64Array(capacity);
			inputs.set(this.placedBy);
			this.placedBy = inputs;
		}

		this.groupOf[slot] = group;
		this.countedState[slot] = state;
		this.placedBy[slot] = input;
		group.members += 1;
		group.states[state]! += 1;
		return group;
	}

	/** The row in a slot is gone. */
	leave(slot: number): void {
		const group = this.groupOf[slot];
		if (group !== undefined) {
			group.members -= 1;
			group.states[this.countedState[slot]!]! -= 1;
			this.groupOf[slot] = undefined;
		}
	}

	/** Counts an event of the row in a slot into its group. */
	count(slot: number, event: GroupEvent): void {
		const group = this.groupOf[slot] ?? this.place(slot);
		group.totals[event]! += 1;
	}

	/** Bytes a row's connection sent (acknowledged) and received, and segments it retransmitted, since its last sample. */
	addCounters(slot: number, tx: number, rx: number, retransmits: number): void {
		const group = this.groupOf[slot] ?? this.place(slot);
		group.totals[Total.tx]! += tx;
		group.totals[Total.rx]! += rx;
		group.totals[Total.retransmits]! += retransmits;
	}

	/** A handshake of the row in a slot took `ms`, ending at atMs. */
	recordHandshake(slot: number, atMs: number, ms: number): void {
		const group = this.groupOf[slot] ?? this.place(slot);
		// A minute in slices of 10 s, so the last 10 s can be read too (see WindowedDurations).
		group.handshakes ??= new WindowedDurations(10_000, 7, true);
		group.handshakes.record(atMs, ms);
	}

	/** A group's handshakes, for its detail view; undefined when it has none or is gone. */
	handshakesOf(key: string): WindowedDurations | undefined {
		return this.byKey.get(key)?.handshakes;
	}

	/**
	 * Groups, with what happened since the sample before; when that was under half a second ago
	 * (a key pressed between refreshes), with what the last sample said.
	 */
	sample(nowMs: number): GroupRow[] {
		const fresh = nowMs - this.sampledAtMs >= minSampleMs;
		if (fresh) {
			this.seconds = (nowMs - this.sampledAtMs) / 1000;
		}

		const {seconds} = this;
		const rows: GroupRow[] = [];
		for (const group of this.byKey.values()) {
			let moved = false;
			if (fresh) {
				for (let index = 0; index < group.totals.length; index++) {
					const delta = group.totals[index]! - group.sampled[index]!;
					moved ||= delta > 0;
					group.deltas[index] = delta;
					group.sampled[index] = group.totals[index]!;
				}

				// A group left empty goes once it has nothing more to report.
				if (group.members === 0 && !moved) {
					this.byKey.delete(group.key);
					continue;
				}
			}

			const {deltas, handshakes} = group;
			let handshake: Quantiles | undefined;
			let worked = false;
			rows.push({
				handshake() {
					if (!worked) {
						handshake = handshakes?.quantiles(nowMs, longWindowMs);
						worked = true;
					}

					return handshake;
				},
				key: group.key,
				connections: group.members,
				states: [...group.states],
				seconds,
				opened: deltas[Total.opened]!,
				failed: deltas[Total.failed]!,
				resets: deltas[Total.reset]!,
				txBytesPerSec: seconds > 0 ? deltas[Total.tx]! / seconds : 0,
				rxBytesPerSec: seconds > 0 ? deltas[Total.rx]! / seconds : 0,
				retransmits: deltas[Total.retransmits]!,
				trouble: deltas[Total.failed]! > 0 || deltas[Total.reset]! > 0,
			});
		}

		if (fresh) {
			this.sampledAtMs = nowMs;
		}

		return rows;
	}
}

/** An address's network: an IPv4 /24 ("10.1.2.0/24"), an IPv6 /64 ("2001:db8:0:1::/64"). */
export function networkOf(address: string): string {
	const mapped = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
	if (!mapped.includes(':')) {
		const last = mapped.lastIndexOf('.');
		return `${mapped.slice(0, last)}.0/24`;
	}

	const [head = '', tail] = mapped.split('::');
	const headParts = head === '' ? [] : head.split(':');
	const tailParts = tail === undefined || tail === '' ? [] : tail.split(':');
	const parts = tail === undefined ? headParts : [...headParts, ...Array.from({length: 8 - headParts.length - tailParts.length}, () => '0'), ...tailParts];
	const prefix = parts.slice(0, 4).map(part => Number.parseInt(part, 16).toString(16));
	while (prefix.length > 0 && prefix.at(-1) === '0') {
		prefix.pop();
	}

	return `${prefix.join(':')}::/64`;
}
