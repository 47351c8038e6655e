// The unit everything downstream consumes: one TCP state change, as the kernel saw it.
// Sources (the kernel, a replay file, a test) all produce these.

/** TCP states with the kernel's numbering (include/net/tcp_states.h). */
export const TcpState = {
	ESTABLISHED: 1,
	SYN_SENT: 2,
	SYN_RECV: 3,
	FIN_WAIT1: 4,
	FIN_WAIT2: 5,
	TIME_WAIT: 6,
	CLOSE: 7,
	CLOSE_WAIT: 8,
	LAST_ACK: 9,
	LISTEN: 10,
	CLOSING: 11,
	NEW_SYN_RECV: 12,
} as const;

export type TcpStateNumber = (typeof TcpState)[keyof typeof TcpState];
export type TcpStateName = keyof typeof TcpState;

const stateNames: readonly string[] = (() => {
	const names: string[] = [];
	for (const [name, value] of Object.entries(TcpState)) {
		names[value] = name;
	}

	return names;
})();

/** The kernel's name for a state number ("UNKNOWN(n)" for a number the kernel does not use). */
export function stateName(state: number): string {
	return stateNames[state] ?? `UNKNOWN(${state})`;
}

/** The state number for a kernel state name, or undefined. */
export function stateNumber(name: string): TcpStateNumber | undefined {
	return Object.hasOwn(TcpState, name) ? TcpState[name as TcpStateName] : undefined;
}

/** What every kernel event says about its socket: when, which socket, and its 4-tuple. */
export type SocketEvent = {
	/** Kernel CLOCK_MONOTONIC time of the event, in milliseconds (fractional). */
	readonly monoMs: number;
	/** The same instant as wall-clock milliseconds since the epoch. */
	readonly wallMs: number;
	/**
	 * Identity of the kernel socket: the low 48 bits of its address. Unique among live sockets,
	 * and stable across a socket's life, so events whose tuple is incomplete (CLOSE -> SYN_SENT
	 * fires before the local port is chosen) can be joined to the socket's later events.
	 */
	readonly sock: number;
	/** Network namespace (inode number) the socket lives in. */
	readonly netns: number;
	readonly family: 4 | 6;
	readonly laddr: string;
	readonly lport: number;
	readonly raddr: string;
	readonly rport: number;
};

/**
 * A TCP socket as a socket pass found it: the start-up snapshot (the first pass) or a later one
 * (see SocketPass).
 */
export type ExistingSocket = SocketEvent & {
	/** Its state: any TcpState, TIME_WAIT and NEW_SYN_RECV (a request socket) included. */
	readonly state: number;
	/**
	 * A process holding it open (the lowest pid when several do), and that process's name, in a
	 * pass that looked them up (SocketPass.owners: the snapshot and complete passes); 0 and ''
	 * for sockets no process holds (TIME_WAIT, request sockets, orphans), and in other passes.
	 */
	readonly pid: number;
	readonly comm: string;
	/**
	 * The kernel's counters for the socket at the time of the pass; undefined for sockets that
	 * keep none (TIME_WAIT and request sockets).
	 */
	readonly figures: SocketFigures | undefined;
	/**
	 * The control group the socket belongs to (its maker's, or its listener's), as the kernel
	 * numbers it (the cgroup directory's inode); 0 or absent when not known (a recorded pass).
	 */
	readonly cgroupId?: number;
	/** A listener's queue at the time of the pass; undefined for other sockets (and old recordings). */
	readonly queue?: ListenerQueue;
};

/** A listening socket's queues, read by a socket pass (what `ss -lnt` shows, and more). */
export type ListenerQueue = {
	/** Connections handshaken and waiting for accept() (ss's Recv-Q). */
	readonly acceptQueue: number;
	/** The backlog listen() asked for, as the kernel caps it (ss's Send-Q); full past it. */
	readonly acceptBacklog: number;
	/** Handshakes under way (request sockets in SYN-RECV). */
	readonly synQueue: number;
	/**
	 * Connection attempts the listener dropped since it started listening (a full accept queue,
	 * or no memory): the socket's own drop count, ss -m's d. The namespace's ListenDrops counts
	 * every listener's, and some the kernel does not charge to a socket.
	 */
	readonly drops: number;
	/**
	 * SYN-ACKs the listener retransmitted since tcptop started (the clients' ACKs did not come:
	 * a lossy path to them, or SYNs from addresses that never answer); undefined where the
	 * source does not know (a recording).
	 */
	readonly synAckRetransmits?: number;
};

/** Counters a full TCP socket keeps (struct tcp_sock), read by a socket pass. */
export type SocketFigures = {
	/** Bytes sent and acknowledged by the peer (tcpi_bytes_acked). */
	readonly bytesAcked: number;
	/** Bytes received in order (tcpi_bytes_received). */
	readonly bytesReceived: number;
	/** Smoothed round-trip time in microseconds; 0 before the first measurement. */
	readonly srttUs: number;
	/** Segments retransmitted over the socket's life (tcpi_total_retrans). */
	readonly retransmits: number;
	/**
	 * Packets the kernel dropped for the socket since tcptop started (the skb:kfree_skb
	 * tracepoint), and the last one's reason (the kernel's name; '' before any); undefined where
	 * the source does not count them (Linux before 6.11, a recording: they are the capture's).
	 */
	readonly drops?: number;
	readonly dropReason?: string;
};

/**
 * A process that took a connection from a listener: accept() or accept4() returned a
 * descriptor for the socket, in that process. Passive connections change state in softirq,
 * so this is how their owner is known.
 */
export type Accepted = SocketEvent & {
	readonly pid: number;
	readonly tid: number;
	readonly comm: string;
};

/**
 * Something that happened to a socket other than a state change, streamed by trace --events:
 * a segment it retransmitted, or a packet the kernel dropped that was for it.
 */
export type SocketIncident = SocketEvent & {
	readonly kind: 'retransmit' | 'drop';
	/** The task on the CPU, as for a Transition. */
	readonly pid: number;
	readonly tid: number;
	readonly comm: string;
	/** The socket's state then. */
	readonly state: number;
	/** A drop's reason, the kernel's name for it (NO_SOCKET, TCP_LISTEN_OVERFLOW ...); '' for a retransmit. */
	readonly reason: string;
};

/**
 * A reset a socket sent or received. A received reset comes before the change to CLOSE it
 * causes; a socket that aborts changes to CLOSE first, then sends its reset.
 */
export type Reset = SocketEvent & {
	/** The task on the CPU, as for a Transition. */
	readonly pid: number;
	readonly comm: string;
	/** The socket's state when the reset went out or came in. */
	readonly state: number;
	/** true: the socket sent it; false: it received it. */
	readonly sent: boolean;
};

export type Transition = SocketEvent & {
	/** Process (tgid) and thread running on the CPU when the change fired; 0 in softirq context. */
	readonly pid: number;
	readonly tid: number;
	/** That task's name, as the kernel holds it (not sanitised). */
	readonly comm: string;
	readonly oldstate: number;
	readonly newstate: number;
	/** Time the socket spent in oldstate, in milliseconds; null when its entry was not seen. */
	readonly ms: number | null;
	/**
	 * FIN_WAIT2 -> CLOSE of a connection whose peer had not closed (no FIN from it yet): the
	 * kernel keeps its closed end as a timewait socket in sub-state FIN_WAIT2 until the FIN
	 * comes (then TIME_WAIT) or tcp_fin_timeout passes, and `ss` lists it as FIN-WAIT-2.
	 * Otherwise (false or absent) a FIN_WAIT2 -> CLOSE leaves the tuple in TIME_WAIT.
	 */
	readonly orphaned?: boolean;
};
