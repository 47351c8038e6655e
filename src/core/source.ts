// Where transitions come from. The kernel is one source; a replay file or a test is another.
import type {Accepted, ExistingSocket, Reset, SocketIncident, Transition} from './transition.js';

export type TransitionBatch = {
	readonly transitions: readonly Transition[];
	/** Resets sent or received in the same span (see Reset for how they order with CLOSE). */
	readonly resets: readonly Reset[];
	/** Connections accepted in the same span, with the accepting process. */
	readonly accepted: readonly Accepted[];
	/** Retransmits and drops in the same span, where the source was asked for them (trace --events). */
	readonly incidents?: readonly SocketIncident[];
	/** Running total of records the kernel could not write (its buffer was full). */
	readonly dropped: number;
	/** Running total of records the perf buffer reported lost. */
	readonly lost: number;
};

/** Every TCP socket that existed at one instant, as a walk of the kernel's socket tables saw it. */
export type SocketPass = {
	readonly monoMs: number;
	readonly wallMs: number;
	readonly sockets: readonly ExistingSocket[];
	/**
	 * The network namespaces (inodes) whose socket tables the pass walked: in a complete pass,
	 * every one on the host the source could enter (the reader's own first; a namespace born
	 * since is not covered until the next); in a counters pass the reader's own, and the others
	 * too when their tables cost less to walk than every process's open files. State changes
	 * come from every namespace.
	 */
	readonly namespaces: readonly number[];
	/** Whether the pass looked up which process holds each socket (pid and comm are filled). */
	readonly owners: boolean;
	/**
	 * Whether it lists every socket. A pass that only reads counters lists the connections of
	 * its namespace whose counters or state changed since the pass before (the kernel keeps
	 * what it last sent of each): not the unchanged ones, TIME_WAIT or request sockets; the
	 * listeners of the namespaces whose tables it walks, every time; and the connections of
	 * other namespaces that a process holds open.
	 */
	readonly complete: boolean;
	/**
	 * A pass of the listeners only (with their queues), taken between the passes that read the
	 * connections when those come less often than the refresh (a big host): it says nothing of
	 * connections, nor counts. Absent for other passes.
	 */
	readonly listenersOnly?: boolean;
	/**
	 * The reader's namespace's listen counters when the pass was taken; undefined where the
	 * source does not know them (a recorded pass).
	 */
	readonly netCounters?: NetCounters;
	/**
	 * TCP packets the kernel dropped on the whole host since the capture started, by reason (the
	 * kernel's name: NO_SOCKET, TCP_LISTEN_OVERFLOW ...), those with none counted; undefined where
	 * the source does not know them (a recorded pass, a kernel before Linux 6.11).
	 */
	readonly drops?: ReadonlyMap<string, number>;
	/**
	 * The connections that retransmitted segments or had packets dropped since the pass before
	 * (or the capture's start), counted by the kernel as it happened: rates of every connection
	 * at every pass, passes that read no connection included. Undefined where the source does
	 * not count them (a recorded pass made before them, a run of one pass).
	 */
	readonly live?: LiveCounts;
	/**
	 * Every socket of each namespace walked, by state, those a pass that is not complete leaves
	 * out of `sockets` included: the host's figures, whatever the connection table holds.
	 * Undefined where the source does not know them (a recorded pass).
	 */
	readonly counts?: readonly NamespaceCounts[];
};

/** What connections retransmitted and had dropped in a span, by socket (see SocketPass.live). */
export type LiveCounts = {
	/** The span, in monotonic milliseconds. */
	readonly fromMs: number;
	readonly toMs: number;
	/** (sock, retransmits, drops) for each connection with any, sock as SocketEvent.sock has it. */
	readonly counts: ArrayLike<number>;
	/**
	 * Retransmits and drops since the capture started that were not counted by connection: the
	 * kernel holds at most 16,384 connections between two passes.
	 */
	readonly missed: number;
};

/** A namespace's sockets by state (index: state number), as a walk of its socket tables counted them. */
export type NamespaceCounts = {
	readonly netns: number;
	readonly states: readonly number[];
	/**
	 * When the walk of this namespace began (CLOCK_MONOTONIC ms; a pass walks its namespaces
	 * one after the other): changes from then on may not be in the counts.
	 */
	readonly monoMs?: number;
};

/**
 * What is left of a handler's work: each call does a share of it and says whether it is all
 * done. A source calls it again, in later turns of the event loop (frames, keys and timers
 * between), until it is, and delivers nothing else meanwhile.
 */
export type Unfinished = () => boolean;

/** Does what is left of a handler's work at once. */
export function finishNow(rest: Unfinished | void): void {
	if (rest) {
		while (!rest()) {
			// Each call did a share.
		}
	}
}

export type SourceHandlers = {
	/**
	 * The sockets that exist when the source starts (with their owners), delivered once,
	 * before any batch. A source only takes this snapshot when the handler is given.
	 */
	snapshot?(pass: SocketPass): void;
	/**
	 * Later passes, taken every `passIntervalMs` of the source: the sockets' counters, and,
	 * in complete ones, what exists, to reconcile with, and their owners. Batches taken before
	 * the pass started are delivered before it. A pass of many sockets may be taken in shares
	 * (Unfinished).
	 */
	pass?(pass: SocketPass): Unfinished | void;
	batch(batch: TransitionBatch): void;
	/** The source has delivered everything it had (a replay reached its end); nothing follows. */
	end?(): void;
	/** The source cannot go on; it has stopped. */
	error(error: Error): void;
};

export type TransitionSource = {
	/**
	 * Sets up, ahead of start, what starting needs and takes long (the kernel verifying the
	 * programs, on a worker thread while the JS thread goes on); start waits for it, and
	 * runLifecycle awaits it first. Called early, its failure may be caught and left there:
	 * later calls, and start, fail with it again.
	 */
	prepare?(): Promise<void>;
	/** Throws if the source cannot start (e.g. a CaptureError from the kernel side). */
	start(handlers: SourceHandlers): void;
	/** Resolves once every batch taken before the stop has been handed to `batch`. */
	stop(): Promise<void>;
};

/** The kernel's TCP counters for a network namespace (what `nstat` reads): running totals. */
export type NetCounters = {
	/** Connection attempts dropped because a listener's accept queue was full (TcpExt ListenOverflows). */
	readonly listenOverflows: number;
	/** Every attempt a listener dropped, overflows included (TcpExt ListenDrops). */
	readonly listenDrops: number;
	/** Segments retransmitted (Tcp RetransSegs). */
	readonly retransmits: number;
	/** SYNs and SYN-ACKs retransmitted, among them (TcpExt TCPSynRetrans). */
	readonly synRetransmits: number;
};
