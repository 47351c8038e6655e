// The live picture of every TCP connection on the host: a bounded LRU keyed by netns + 4-tuple,
// driven by the kernel's state transitions, with per-state counts and transition rates.
//
// This file is each connection's lifecycle: a row opened by connect(), by a listener's
// handshake, by listen(), or first seen mid-life or by a socket pass; a connect waiting for
// its local port; moves along transitions; how it ended; its linger, TIME_WAIT or orphan's
// expiry, or eviction by the size cap. Who owns a connection is Owners' to say (owners.ts);
// what socket passes bring, reconciliation among it, is SocketPasses' (socket-passes.ts),
// which acts on rows through the row operations here.
//
// Time is the kernel's monotonic clock in ms: transitions carry it (monoMs) and callers pass it
// to sweep(), so the table never reads a clock of its own.
import {LRUCache} from 'lru-cache';
import {finishNow, type NetCounters, type SocketPass, type Unfinished} from '../core/source.js';
import {TcpState, type Accepted, type ExistingSocket, type Reset, type Transition} from '../core/transition.js';
import {lifecycleOrder, stateCount} from '../core/tcp-states.js';
import {Connection, Direction, Ending, OwnerSource} from './connection.js';
import {historyLength, ConnectionSlots} from './connection-slots.js';
import {connectionKey, flatKey, listenerKey, pendingConnectKey, pendingSockOf, type Tuple} from './connection-key.js';
import {EdgeDurations, isHandshake} from './durations.js';
import {ExpiryQueue} from './expiry-queue.js';
import {GroupEvent, Groups, type GroupKind} from './groups.js';
import {HostStates} from './host-states.js';
import {Owners} from './owners.js';
import {isOrphan, SocketPasses} from './socket-passes.js';
import {SockIndex} from './sock-index.js';
import {StuckPolicy, type StuckThresholds} from './stuck-policy.js';
import {RateSeries, TransitionRates} from './transition-rates.js';

export type ConnectionTableOptions = {
	/** Most connections kept; beyond it the least recently active is evicted (default 65,536). */
	readonly maxConnections?: number;
	/** How long a closed connection stays visible (default 3 s). */
	readonly lingerMs?: number;
	/** How long an actively closed connection shows as TIME_WAIT (the kernel's 60 s). */
	readonly timeWaitMs?: number;
	/**
	 * How long the kernel keeps an orphaned FIN_WAIT2 (closed here, the peer not closed yet):
	 * net.ipv4.tcp_fin_timeout, 60 s by default.
	 */
	readonly finTimeoutMs?: number;
	readonly stuckAfterMs?: StuckThresholds;
	/**
	 * A process's control group path (see processCgroups), asked when a connection gets its
	 * owner: the rows' CGROUP and CONTAINER. Without it (a replay) they are not known.
	 */
	readonly cgroupOf?: (pid: number) => string | undefined;
	/**
	 * A control group's path by the kernel's id for it (see processCgroups' twin,
	 * cgroupPaths): the fallback for a row whose owner is not known, from the socket's own
	 * control group as socket passes read it.
	 */
	readonly cgroupOfId?: (id: number) => string | undefined;
};

/** An existing socket found at start-up, before any of its transitions were seen. */
export type SnapshotEntry = Tuple & {
	readonly sock: number;
	readonly family: 4 | 6;
	readonly state: number;
	readonly pid: number;
	readonly comm: string;
	readonly monoMs: number;
};

/** How many sockets are in a state (see ConnectionTable.stateCounts). */
export type StateCount = {readonly state: number; readonly count: number};

// A connect() that fails before its first SYN retransmission (1 s) was answered: refused.
const refusedWithinMs = 1000;

export class ConnectionTable {
	readonly rates = new TransitionRates();
	/** How long connections took to connect and to close, and stayed in CLOSE-WAIT (see durations.ts). */
	readonly durations = new EdgeDurations();
	private readonly host: HostStates;
	private readonly slots: ConnectionSlots;
	private readonly lru: LRUCache<string, number>;
	private readonly owners: Owners;
	private readonly passes: SocketPasses;
	/** Rows per state, and those of them in the namespace the host's counts cover. */
	private readonly rowCounts = new Uint32Array(stateCount);
	private readonly coveredRowCounts = new Uint32Array(stateCount);
	/**
	 * In-flight connect()s whose local port is not known yet, by kernel socket identity. They
	 * stay out of the LRU's key map: a connect storm reuses a handful of socket addresses, and
	 * a key deleted and set again thousands of times a second in a large V8 Map grows one
	 * bucket's chain of deleted entries until the next rehash, making every lookup O(table)
	 * (measured: the table took 9 us a change at 65,536 connections under 15,000 connects/s).
	 * This map stays small, so it rehashes often.
	 */
	private readonly pendingConnects = new Map<number, number>();
	private readonly maxPendingConnects: number;
	/** Rows by kernel socket identity (see slotOfSock). */
	private bySock = new SockIndex();
	private readonly lingering: ExpiryQueue;
	private readonly timeWaiting: ExpiryQueue;
	private readonly orphans: ExpiryQueue;
	private readonly stuckPolicy: StuckPolicy;
	private readonly lingerMs: number;
	private readonly timeWaitMs: number;
	private readonly finTimeoutMs: number;
	private evictionCount = 0;
	private grouping: Groups | undefined;

	constructor(options: ConnectionTableOptions = {}) {
		const max = options.maxConnections ?? 65_536;
		this.lingerMs = options.lingerMs ?? 3000;
		this.timeWaitMs = options.timeWaitMs ?? 60_000;
		this.finTimeoutMs = options.finTimeoutMs ?? 60_000;
		this.host = new HostStates(this.timeWaitMs, this.finTimeoutMs);
		const queuedFor = (state: number) => (slot: number, generation: number) =>
			this.slots.generation[slot] === generation && this.slots.state[slot] === state;
		this.lingering = new ExpiryQueue(2 * max, queuedFor(TcpState.CLOSE));
		this.timeWaiting = new ExpiryQueue(2 * max, queuedFor(TcpState.TIME_WAIT));
		this.orphans = new ExpiryQueue(2 * max, queuedFor(TcpState.FIN_WAIT2));
		this.stuckPolicy = new StuckPolicy(options.stuckAfterMs);
		this.maxPendingConnects = max;
		// One spare slot: a new connection takes its slot before the LRU evicts to make room.
		this.slots = new ConnectionSlots(max + this.maxPendingConnects + 1);
		this.owners = new Owners(this.slots, options);
		this.passes = new SocketPasses(this, this.slots, this.owners);
		this.lru = new LRUCache<string, number>({
			max,
			// 'evict': pushed out by the cap. 'set': a new lifecycle took over the key. Deletes
			// ('delete') are the table's own and free their slot themselves.
			dispose: (slot, _key, reason) => {
				if (reason === 'evict') {
					this.evictionCount++;
					this.release(slot);
				} else if (reason === 'set') {
					this.release(slot);
				}
			},
		});
	}

	/** Connections in the table, including closed ones still lingering. */
	get size(): number {
		return this.slots.live;
	}

	/** One past the highest slot number in use: the size of an array indexed by slot. */
	get slotCount(): number {
		return this.slots.end;
	}

	/** Connections pushed out by the size cap since start. */
	get evictions(): number {
		return this.evictionCount;
	}

	/**
	 * Differences with the kernel that socket passes corrected: sockets whose changes the
	 * stream lost (added, or moved to the kernel's state) and rows whose end it lost
	 * (removed), TIME_WAIT expiry excluded.
	 */
	get reconciled(): number {
		return this.passes.reconciled;
	}

	/**
	 * The namespace's TCP counters at the last pass that had them; undefined until one has (a
	 * replay has none): listen drops and retransmits are counted from the first pass on.
	 */
	get netCounters(): NetCounters | undefined {
		return this.passes.netCounters;
	}

	/**
	 * Whether passes say what TCP packets the kernel drops (they do not in a replay, nor before
	 * Linux 6.11): drops are counted from the first pass that says so on.
	 */
	get dropsKnown(): boolean {
		return this.passes.dropsKnown;
	}

	/**
	 * Sockets on the host in a state (TIME_WAIT included, as ss counts it), however many rows the
	 * table keeps: the kernel's counts (see HostStates) for the namespace socket passes walk,
	 * plus the rows of other namespaces. CLOSE counts the closed rows still lingering.
	 */
	countInState(state: number): number {
		const rows = this.rowCounts[state] ?? 0;
		if (state === TcpState.CLOSE || this.host.covered === undefined) {
			return rows;
		}

		return this.host.count(state) + rows - this.coveredRowCounts[state]!;
	}

	/**
	 * Every state with sockets in it (countInState), in lifecycle order, ESTABLISHED always: the
	 * header's line of counts, in the live view and in batch mode.
	 */
	stateCounts(): StateCount[] {
		return lifecycleOrder
			.map(state => ({state, count: this.countInState(state)}))
			.filter(({state, count}) => count > 0 || state === TcpState.ESTABLISHED);
	}

	/** Adds delta to the row counts of a state, for the row in slot. */
	private countRow(slot: number, state: number, delta: number): void {
		this.rowCounts[state]! += delta;
		if (this.host.covers(this.slots.netns[slot]!)) {
			this.coveredRowCounts[state]! += delta;
		}
	}

	apply(transition: Transition): void {
		const {oldstate, newstate, monoMs} = transition;
		this.rates.record(oldstate, newstate, monoMs);
		this.host.apply(transition);
		let slot: number;
		if (oldstate === TcpState.CLOSE && newstate === TcpState.SYN_SENT) {
			slot = this.openActive(transition);
		} else if (oldstate === TcpState.LISTEN && newstate === TcpState.SYN_RECV) {
			slot = this.openPassive(transition);
		} else if (newstate === TcpState.LISTEN || oldstate === TcpState.LISTEN) {
			slot = this.listenerTransition(transition);
		} else {
			slot = (oldstate === TcpState.SYN_SENT ? this.joinPendingConnect(transition) : undefined)
				?? this.continuing(transition);
		}

		const ms = this.advance(slot, transition);
		if (ms !== null) {
			this.durations.record(oldstate, newstate, monoMs, ms);
		}

		if (this.grouping) {
			this.grouping.place(slot);
			if (ms !== null && isHandshake(oldstate, newstate)) {
				this.grouping.recordHandshake(slot, monoMs, ms);
			}

			const opened = (oldstate === TcpState.CLOSE && newstate === TcpState.SYN_SENT) || (oldstate === TcpState.LISTEN && newstate === TcpState.SYN_RECV);
			if (opened) {
				this.grouping.count(slot, GroupEvent.opened);
			}
		}
	}

	/**
	 * Keeps the rows counted by group from now on (nowMs; see Groups); undefined for none. Placing every
	 * row costs one pass over the table, here and after each complete socket pass (which can
	 * change owners and ports without a transition); in between, changes place their rows.
	 */
	groupBy(kind: GroupKind | undefined, nowMs: number): void {
		if (kind === undefined) {
			this.grouping = undefined;
			this.slots.countersMoved = undefined;
			return;
		}

		if (this.grouping?.kind !== kind) {
			const grouping = new Groups(kind, nowMs, this.slots, slot => this.owners.servesListener(slot));
			this.grouping = grouping;
			this.slots.countersMoved = (slot, tx, rx, retransmits) => {
				grouping.addCounters(slot, tx, rx, retransmits);
			};
			this.regroup();
		}
	}

	/** The rows counted by group, when groupBy asked for it. */
	get groups(): Groups | undefined {
		return this.grouping;
	}

	private regroup(): void {
		const {grouping} = this;
		if (grouping) {
			for (let slot = 0; slot < this.slots.end; slot++) {
				if (this.slots.key[slot] !== undefined) {
					grouping.place(slot, true);
				}
			}
		}
	}

	/**
	 * Removes connections whose linger, TIME_WAIT or orphan's tcp_fin_timeout is over, and moves
	 * the rate clock to now.
	 */
	sweep(nowMs: number): void {
		this.rates.advance(nowMs);
		this.host.sweep(nowMs);
		this.lingering.popExpired(nowMs, (slot, generation) => {
			this.removeIfStill(slot, generation, TcpState.CLOSE);
		});
		this.timeWaiting.popExpired(nowMs, (slot, generation) => {
			this.removeIfStill(slot, generation, TcpState.TIME_WAIT);
		});
		this.orphans.popExpired(nowMs, (slot, generation) => {
			this.removeIfStill(slot, generation, TcpState.FIN_WAIT2);
		});
	}

	/** Counts events the source lost, so they show in the rates. */
	recordLost(count: number, nowMs: number): void {
		this.rates.count(RateSeries.lost, nowMs, count);
	}

	/** The connection under a key, without refreshing its recency. */
	get(key: string): Connection | undefined {
		const slot = this.lru.peek(key) ?? this.pendingSlot(key);
		return slot === undefined ? undefined : new Connection(this.slots, slot);
	}

	/** The connection with a tuple (not a listener or a connect still waiting for its port). */
	find(tuple: Tuple): Connection | undefined {
		return this.get(connectionKey(tuple));
	}

	/**
	 * Calls visit once per connection with one reused view (copy what you keep). Visiting order
	 * is storage order, which is neither age nor recency.
	 */
	forEach(visit: (connection: Connection) => void): void {
		const view = new Connection(this.slots, 0);
		for (let slot = 0; slot < this.slots.end; slot++) {
			if (this.slots.key[slot] !== undefined) {
				view.slot = slot;
				visit(view);
			}
		}
	}

	/** Calls visit with each listener a pass has read the queue of (a host has few), one reused view. */
	forEachQueued(visit: (connection: Connection) => void): void {
		const view = new Connection(this.slots, 0);
		for (const slot of this.slots.queues.keys()) {
			view.slot = slot;
			visit(view);
		}
	}

	/** Whether a slot holds a connection (slots 0 to slotCount - 1; see forEach). */
	holds(slot: number): boolean {
		return this.slots.key[slot] !== undefined;
	}

	/** A view of its own for a connection met through forEach. */
	view(slot: number): Connection {
		return new Connection(this.slots, slot);
	}

	/**
	 * In trouble: in a state that should have ended by now (see StuckPolicy), or a listener
	 * whose accept queue is full or that dropped connection attempts since the pass before.
	 */
	isStuck(connection: Connection, nowMs: number): boolean {
		if (connection.state === TcpState.LISTEN) {
			const queue = connection.queue;
			return queue !== undefined && (queue.full || queue.dropsPerSec > 0);
		}

		return this.stuckPolicy.isStuck(connection.state, nowMs - connection.stateSinceMs);
	}

	/**
	 * By state, how long a connection (not a listener) may stay in it before it is stuck, as
	 * isStuck reads it (Infinity: it may last); to be read, not written (see columns).
	 */
	get stuckAfterMs(): Float64Array {
		return this.stuckPolicy.thresholds;
	}

	/**
	 * The slots, to be read, not written: for code that reads every row of the table at once
	 * (SortOrder.orderKeys), where a view per row (Connection) costs more than the reading. A
	 * slot below slotCount is a row where holds(slot).
	 */
	get columns(): ConnectionSlots {
		return this.slots;
	}

	/**
	 * Records a reset the kernel saw, so how the connection ended is a fact, not a guess: a
	 * reset received in SYN_SENT makes the failed connect refused (however long it waited),
	 * and an abort's reset, which the kernel sends just after the change to CLOSE, makes the
	 * lingering connection reset-sent.
	 */
	applyReset(reset: Reset): void {
		const slot = this.pendingConnects.get(reset.sock) ?? this.lru.peek(connectionKey(reset));
		if (slot !== undefined) {
			this.slots.ending[slot] = reset.sent ? Ending.resetSent : Ending.resetReceived;
		}
	}

	/**
	 * Names the process that accepted a connection as its owner. Its state changes ran in
	 * softirq, so this is better than the listener's owner it may have inherited (a pre-forked
	 * server's workers accept on their parent's socket).
	 */
	applyAccepted(accepted: Accepted): void {
		const slot = this.lru.peek(connectionKey(accepted));
		if (slot === undefined || accepted.pid === 0) {
			return;
		}

		this.owners.replaceGuessed(slot, accepted.pid, accepted.comm, OwnerSource.accept);
		this.grouping?.place(slot);
	}

	/** Takes in the start-up snapshot (see SocketPasses.loadSnapshot). */
	loadSnapshot(pass: SocketPass): void {
		this.passes.loadSnapshot(pass);
		this.regroup();
	}

	/**
	 * Takes in a socket pass (SocketPass): each socket's counters (TX/RX rates between passes,
	 * RTT, retransmits), and, from a complete pass, reconciliation with what exists in the
	 * namespaces it walked: sockets the stream missed are added, rows the kernel no longer has
	 * are removed (TIME_WAIT expiry among them), rows in a state other than the kernel's move
	 * to it; the processes it found holding connections open become their owners where only
	 * the listener's owner was known (accepted connections). Differences are acted on when
	 * two complete passes in a row find them. See SocketPasses.
	 */
	applyPass(pass: SocketPass): void {
		finishNow(this.passInShares(pass));
	}

	/**
	 * applyPass in shares of a few thousand sockets: each call of what it returns does one and
	 * says whether it was the last. Nothing else may change the table until it is done (frames
	 * and sweeps may run between shares).
	 */
	passInShares(pass: SocketPass): Unfinished {
		const share = this.passes.inShares(pass);
		return () => {
			const done = share();
			if (done && pass.complete) {
				this.regroup();
			}

			return done;
		};
	}

	/**
	 * Adds a socket found by the start-up snapshot (sockets already seen through events win);
	 * returns its row.
	 */
	upsertFromSnapshot(entry: SnapshotEntry): number {
		const isListener = entry.state === TcpState.LISTEN;
		const key = isListener ? listenerKey(entry, entry.sock) : connectionKey(entry);
		const known = this.lru.get(key);
		if (known !== undefined) {
			this.owners.adopt(known, entry.pid, entry.comm, OwnerSource.snapshot);
			return known;
		}

		return this.addExisting(key, entry, entry.monoMs, OwnerSource.snapshot);
	}

	// Row operations, by slot, for socket passes (SocketPasses): what a pass finds acts on rows
	// through these, so the rows' lifecycle stays here.

	/** Rows the table can add before its size cap evicts one. */
	get room(): number {
		return this.lru.max - this.lru.size;
	}

	/** Counts sockets the size cap kept out without their rows being added (see loadSnapshot). */
	countEvicted(count: number): void {
		this.evictionCount += count;
	}

	/** The row under a key (a tuple's, a listener's), without refreshing its recency. */
	peekSlot(key: string): number | undefined {
		return this.lru.peek(key);
	}

	/**
	 * The live row of a kernel socket, found by identity: a full socket is one kernel object for
	 * its whole life (a timewait socket, which stands for a closed one, is another). A row that
	 * is done (TIME_WAIT, closed) is not found: its address may be a new socket's by now.
	 */
	slotOfSock(sock: number): number | undefined {
		const slot = this.bySock.get(sock);
		const s = this.slots;
		return slot !== undefined && s.key[slot] !== undefined && s.sock[slot] === sock && !this.isDone(slot) ? slot : undefined;
	}

	/** A row for a socket found by a pass, first seen at `atMs`; the owner, if any, from `source`. */
	addExisting(key: string, entry: SnapshotEntry | ExistingSocket, atMs: number, source: OwnerSource): number {
		const isListener = entry.state === TcpState.LISTEN;
		const slot = this.create(key, entry, entry.family, entry.state, atMs,
			isListener ? Direction.listener : Direction.unknown, null, true);
		this.owners.adopt(slot, entry.pid, entry.comm, source);
		if ('figures' in entry && entry.figures) {
			this.owners.socketCgroup(slot, entry);
		}

		if (isListener) {
			this.owners.listening(slot);
			if ('queue' in entry && entry.queue) {
				this.slots.recordQueue(slot, entry.queue, atMs);
			}
		} else if (entry.state === TcpState.TIME_WAIT) {
			this.timeWaiting.push(slot, this.slots.generation[slot]!, atMs + this.timeWaitMs);
		} else if ('figures' in entry && isOrphan(entry)) {
			this.markOrphan(slot, atMs);
		}

		return slot;
	}

	/**
	 * Moves a row to the state the kernel says it is in, when the change itself was lost. A pass
	 * lists an orphan (see isOrphan) in FIN_WAIT2, as a full socket in FIN_WAIT2 is listed.
	 */
	moveTo(slot: number, state: number, atMs: number, orphan: boolean): void {
		const s = this.slots;
		this.countRow(slot, s.state[slot]!, -1);
		this.countRow(slot, state, 1);
		s.previousState[slot] = s.state[slot]!;
		s.state[slot] = state;
		s.stateSinceMs[slot] = atMs;
		if (state === TcpState.TIME_WAIT) {
			// An orphan whose peer closed at last: a clean close after all.
			if (s.ending[slot] === Ending.orphaned) {
				s.ending[slot] = Ending.fin;
			}

			this.timeWaiting.push(slot, s.generation[slot]!, atMs + this.timeWaitMs);
		} else if (orphan) {
			this.markOrphan(slot, atMs);
		}
	}

	/**
	 * A pass found the port of a connect still waiting for it (the kernel picks it after the
	 * change to SYN_SENT, and a connect that keeps retrying makes no further change): the row
	 * takes it, keeping its identity, owner and history.
	 */
	portFromPass(slot: number, socket: ExistingSocket): void {
		if (socket.lport !== 0 && this.slots.lport[slot] === 0 && this.pendingConnects.get(socket.sock) === slot) {
			this.pendingConnects.delete(socket.sock);
			this.keyByTuple(slot, socket);
		}
	}

	/** Removes a row and frees its slot. */
	remove(slot: number): void {
		this.lru.delete(this.slots.key[slot]!);
		this.release(slot);
	}

	/** Takes a pass's per-state counts (see HostStates); rows are counted again when the covered namespaces change. */
	takeHostCounts(pass: SocketPass): void {
		const covered = this.host.covered;
		this.host.applyPass(pass);
		if (this.host.covered !== covered) {
			this.coveredRowCounts.fill(0);
			this.forEach(connection => {
				if (this.host.covers(connection.netns)) {
					this.coveredRowCounts[connection.state]! += 1;
				}
			});
		}
	}

	/**
	 * Notes a row's socket identity. Entries are overwritten, never deleted one by one (the
	 * kernel reuses a freed socket's address at once: see pendingConnects for what deleting
	 * and setting such a key does to a large Map); stale ones go in a rebuild once they
	 * outnumber the rows.
	 */
	private indexSock(slot: number, sock: number): void {
		this.slots.sock[slot] = sock;
		this.bySock.set(sock, slot);
		if (this.bySock.size > (2 * this.slots.live) + 4096) {
			const s = this.slots;
			const index = new SockIndex(s.live);
			for (let row = 0; row < s.end; row++) {
				const known = index.get(s.sock[row]!);
				// Of two rows with one address, the live socket is the one that is not done.
				if (s.key[row] !== undefined && (known === undefined || this.isDone(known))) {
					index.set(s.sock[row]!, row);
				}
			}

			this.bySock = index;
		}
	}

	/** The in-flight connect under a pending-connect key (see pendingConnectKey). */
	private pendingSlot(key: string): number | undefined {
		const sock = pendingSockOf(key);
		const slot = sock === undefined ? undefined : this.pendingConnects.get(sock);
		return slot !== undefined && this.slots.key[slot] === key ? slot : undefined;
	}

	private openActive(t: Transition): number {
		this.rates.count(RateSeries.opened, t.monoMs);
		// A socket address is reused once its socket is freed: an entry still pending under it
		// belongs to a connect whose later events were lost.
		const stale = this.pendingConnects.get(t.sock);
		if (stale !== undefined) {
			this.remove(stale);
		}

		if (t.lport !== 0) {
			return this.startLifecycle(connectionKey(t), t, Direction.active);
		}

		if (this.pendingConnects.size >= this.maxPendingConnects) {
			// The connect waiting longest makes room, as the LRU would.
			const [, oldest] = this.pendingConnects.entries().next().value!;
			this.evictionCount++;
			this.remove(oldest);
		}

		const slot = this.create(pendingConnectKey(t, t.sock), t, t.family, t.oldstate, t.monoMs, Direction.active, null, false, false);
		this.pendingConnects.set(t.sock, slot);
		return slot;
	}

	private openPassive(t: Transition): number {
		this.rates.count(RateSeries.opened, t.monoMs);
		const slot = this.startLifecycle(connectionKey(t), t, Direction.passive);
		this.owners.fromListener(slot);
		return slot;
	}

	private listenerTransition(t: Transition): number {
		const key = listenerKey(t, t.sock);
		if (t.newstate === TcpState.LISTEN) {
			const slot = this.startLifecycle(key, t, Direction.listener);
			this.owners.listening(slot);
			return slot;
		}

		return this.lru.get(key) ?? this.create(key, t, t.family, t.oldstate, t.monoMs, Direction.listener, t.ms, true);
	}

	/** The in-flight connect this SYN_SENT -> X belongs to, re-keyed by its full tuple. */
	private joinPendingConnect(t: Transition): number | undefined {
		const slot = this.pendingConnects.get(t.sock);
		if (slot === undefined) {
			return undefined;
		}

		this.pendingConnects.delete(t.sock);
		if (t.lport !== 0) {
			this.keyByTuple(slot, t);
		}

		return slot;
	}

	private keyByTuple(slot: number, tuple: Tuple): void {
		const key = connectionKey(tuple);
		this.slots.key[slot] = flatKey(key);
		this.slots.lport[slot] = tuple.lport;
		this.lru.set(key, slot);
	}

	/** The connection a mid-life transition belongs to; a fresh one when its tuple is free or done. */
	private continuing(t: Transition): number {
		const key = connectionKey(t);
		const slot = this.lru.get(key);
		if (slot !== undefined && !this.isDone(slot)) {
			return slot;
		}

		// A closed or TIME_WAIT entry gets no more events: this is a new socket on a reused tuple
		// whose opening transition was not seen.
		return this.startLifecycle(key, t, Direction.unknown);
	}

	/** A new connection under key; the lifecycle it replaces, if any, is released by dispose. */
	private startLifecycle(key: string, t: Transition, direction: Direction): number {
		return this.create(key, t, t.family, t.oldstate, t.monoMs, direction,
			direction === Direction.unknown ? t.ms : null);
	}

	private create(
		key: string, tuple: Tuple & {readonly sock: number}, family: 4 | 6, state: number, atMs: number, direction: Direction,
		msInState: number | null = null, existing = false, indexed = true,
	): number {
		const s = this.slots;
		const slot = s.allocate(flatKey(key));
		s.netns[slot] = tuple.netns;
		this.indexSock(slot, tuple.sock);
		s.family[slot] = family;
		s.lport[slot] = tuple.lport;
		s.rport[slot] = tuple.rport;
		s.state[slot] = state;
		s.direction[slot] = direction;
		s.firstSeenMs[slot] = atMs;
		// Not seen opening: it is at least as old as it looks.
		s.ageLowerBound[slot] = direction === Direction.unknown || existing ? 1 : 0;
		s.stateSinceMs[slot] = atMs - (msInState ?? 0);
		this.countRow(slot, state, 1);
		if (indexed) {
			this.lru.set(key, slot);
		}

		return slot;
	}

	/** Moves a connection along one transition; returns the time it spent in the old state, if known. */
	private advance(slot: number, t: Transition): number | null {
		const s = this.slots;
		const {oldstate, monoMs} = t;
		// Time in the old state: the kernel's figure, else ours if we saw the state begin.
		const ms = t.ms ?? (s.transitions[slot]! > 0 && s.state[slot] === oldstate ? monoMs - s.stateSinceMs[slot]! : null);
		// Before end(): how a reset ended depends on whether the owner's own task sent it.
		this.owners.fromTransition(slot, t);
		let newstate = t.newstate;
		if (newstate === TcpState.CLOSE) {
			newstate = this.end(slot, t, ms);
		}

		const at = (slot * historyLength) + (s.transitions[slot]! % historyLength);
		s.historyStates[at * 2] = oldstate;
		s.historyStates[(at * 2) + 1] = newstate;
		s.historyMs[at] = ms ?? Number.NaN;
		s.transitions[slot]! += 1;
		s.previousState[slot] = oldstate;
		this.countRow(slot, s.state[slot]!, -1);
		this.countRow(slot, newstate, 1);
		s.state[slot] = newstate;
		s.stateSinceMs[slot] = monoMs;
		return ms;
	}

	/** Records how a connection ended and queues its removal; returns the state it ends in. */
	private end(slot: number, t: Transition, msInOldState: number | null): number {
		const s = this.slots;
		const generation = s.generation[slot]!;
		switch (t.oldstate) {
			case TcpState.FIN_WAIT2:
			case TcpState.CLOSING: {
				// The kernel keeps the tuple as a timewait socket, which has no tracepoint: in
				// TIME_WAIT, or, when the peer had not closed, as an orphan in FIN_WAIT2.
				if (t.orphaned === true) {
					// Unless the kernel gave up on the peer and reset it (tcp_fin_timeout of 0 or less).
					if (s.ending[slot] === Ending.resetSent) {
						break;
					}

					this.markOrphan(slot, t.monoMs);
					return TcpState.FIN_WAIT2;
				}

				s.ending[slot] = Ending.fin;
				this.timeWaiting.push(slot, generation, t.monoMs + this.timeWaitMs);
				return TcpState.TIME_WAIT;
			}

			case TcpState.SYN_SENT: {
				this.rates.count(RateSeries.failedConnects, t.monoMs);
				this.grouping?.count(slot, GroupEvent.failed);
				// Without a reset seen (a source that does not report them), guess by the time it took.
				s.ending[slot] = s.ending[slot] === Ending.resetReceived || msInOldState === null || msInOldState < refusedWithinMs
					? Ending.refused
					: Ending.timedOut;
				this.pendingConnects.delete(t.sock);
				break;
			}

			case TcpState.LAST_ACK: {
				s.ending[slot] = Ending.fin;
				break;
			}

			case TcpState.LISTEN: {
				this.owners.notListening(slot);
				break;
			}

			default: {
				// Leaving ESTABLISHED, SYN_RECV, FIN_WAIT1 or CLOSE_WAIT straight for CLOSE takes a
				// reset. The owner's own task on the CPU means its close() sent it (SO_LINGER 0, unread
				// data); anything else is taken as a reset from the peer.
				this.rates.count(RateSeries.resets, t.monoMs);
				this.grouping?.count(slot, GroupEvent.reset);
				if (s.ending[slot] === Ending.open) {
					s.ending[slot] = t.pid !== 0 && t.pid === s.pid[slot] ? Ending.resetSent : Ending.resetReceived;
				}
			}
		}

		this.lingering.push(slot, generation, t.monoMs + this.lingerMs);
		return TcpState.CLOSE;
	}

	/** A row whose socket the kernel keeps as an orphan since atMs: gone by tcp_fin_timeout at the latest. */
	private markOrphan(slot: number, atMs: number): void {
		this.slots.ending[slot] = Ending.orphaned;
		this.orphans.push(slot, this.slots.generation[slot]!, atMs + this.finTimeoutMs);
	}

	/**
	 * Whether a row's socket is gone (closed, TIME_WAIT, an orphaned FIN_WAIT2): it gets no more
	 * changes, and its address may be a new socket's by now.
	 */
	private isDone(slot: number): boolean {
		const state = this.slots.state[slot]!;
		return state === TcpState.CLOSE || state === TcpState.TIME_WAIT
			|| (state === TcpState.FIN_WAIT2 && this.slots.ending[slot] === Ending.orphaned);
	}

	private removeIfStill(slot: number, generation: number, state: number): void {
		if (this.slots.generation[slot] === generation && this.slots.state[slot] === state) {
			this.remove(slot);
		}
	}

	/** Frees a slot the LRU no longer holds. */
	private release(slot: number): void {
		const s = this.slots;
		this.grouping?.leave(slot);
		this.countRow(slot, s.state[slot]!, -1);
		if (s.direction[slot] === Direction.listener) {
			this.owners.notListening(slot);
		} else if (s.lport[slot] === 0 && s.direction[slot] === Direction.active) {
			// A connect still waiting for its port: pending under its socket's identity.
			const sock = s.sock[slot]!;
			if (this.pendingConnects.get(sock) === slot) {
				this.pendingConnects.delete(sock);
			}
		}

		s.free(slot);
	}
}
