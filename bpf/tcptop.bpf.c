// SPDX-License-Identifier: GPL-2.0
/*
 * tcptop's kernel side: one record per TCP state change, taken from the
 * inet_sock_set_state tracepoint through its BTF-typed form (tp_btf), which needs neither
 * kprobes nor a mounted tracefs. Settings are fixed at load time (const volatile), so
 * events that a filter rejects never leave the kernel.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tcptop.h"

#define AF_INET 2
#define AF_INET6 10
/* IPPROTO_TCP and the TCP_* states come from vmlinux.h's enums. */

/* Load-time settings, written by the addon between open and load. */
const volatile __u16 target_family = 0; /* 0: both, else AF_INET or AF_INET6 */
const volatile __u32 target_pid = 0;    /* 0: every process */
const volatile __u32 target_netns = 0;  /* 0: every network namespace, else its inode */
const volatile __u32 n_lports = 0;
const volatile __u16 lports[TCPTOP_MAX_PORTS] = {};
const volatile __u32 n_rports = 0;
const volatile __u16 rports[TCPTOP_MAX_PORTS] = {};
const volatile bool use_perf = false;   /* false: ring buffer */
/* Send retransmits and the drops of known sockets as records of their own (trace --events). */
const volatile bool trace_events = false;

/*
 * Set by user space before each socket pass: true for a pass that only wants the counters of
 * connections whose counters or state changed since the last pass sent them (see pass_sent),
 * so an idle host's connections, and the TIME_WAIT and request sockets a busy host has by the
 * hundred thousand, are not copied out every time.
 */
volatile bool pass_changed_only = false;
/*
 * Whether a pass notes what it sent of each connection (pass_sent), for the counters passes
 * that follow: a run of one pass has none (-b -n 1), and creating that storage on 100,000
 * sockets costs more than their walk.
 */
const volatile bool pass_notes_sent = true;
/* Set by user space for a listeners pass: the walk ends where the listening sockets do. */
volatile bool pass_listeners_only = false;
/* Set by user space before a counters pass: the namespace tcptop_snapshot walks (see tcptop_foreign). */
volatile __u32 pass_own_netns = 0;

/*
 * Every socket a pass walks, by state (index state - 1), counted whether pass_changed_only
 * leaves it out or not: the host's per-state figures, whatever tcptop keeps rows for. User space
 * zeroes them before a pass and reads them after; a pass runs on one thread.
 */
__u32 pass_state_counts[TCPTOP_COUNTED_STATES] = {};

struct sock_info {
	__u64 ts_ns; /* when the socket entered `state` */
	__u32 owner; /* first non-zero tgid seen changing its state */
	__u8 state;  /* the state the last recorded change went to */
	__u8 pad[3];
};

/*
 * Keyed by socket address. Not an LRU map: an LRU may recycle an entry for another socket
 * at any time, even before it is full, which would make the in-place updates below land
 * in the wrong socket's entry. Entries are removed when their socket closes; a socket that
 * finds the map full goes without time in state. Entries are allocated as sockets come, but
 * the buckets are not (16 bytes each, zeroed at load: 16 MiB, tens of milliseconds of the
 * start): user space shrinks the map to one entry when no pid setting uses it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 20);
	__type(key, __u64);
	__type(value, struct sock_info);
} sockets SEC(".maps");

#define RING_BYTES (8 << 20)
#define RING_HIGH_MARK (RING_BYTES / 4)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RING_BYTES); /* 80,000 records: 80 ms at a million changes a second */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

/*
 * The perf buffer's per-sample cost (perf_event_output prepares a sample, reserves, copies
 * and commits for each call) is what made it cost the traced host 0.05-0.08 of its
 * connection rate more than the ring buffer. So records are staged per CPU, built in place,
 * and go out TCPTOP_STAGED_RECORDS to a sample. A stage that is not full is sent by
 * tcptop_flush, which user space runs on that CPU (BPF_PROG_TEST_RUN, on the CPU) before each
 * drain, so a batch still holds every record written before it was drained.
 *
 * One entry per possible CPU, indexed by CPU number, mmapped by user space to see which
 * stages hold records. `busy` guards a stage against what may interrupt its writer (a
 * handler or the flush) on the same CPU: a softirq's state changes, which are then sent on
 * their own, and the flush's IPI, which then says so for user space to try again.
 */
struct perf_stage {
	__u32 count; /* records waiting in records[] */
	__u32 busy;  /* a handler on this CPU is writing to the stage */
	__u8 pad[56]; /* the records start on their own cache line */
	struct tcptop_record records[TCPTOP_STAGED_RECORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1); /* the number of possible CPUs, set at load */
	__type(key, __u32);
	__type(value, struct perf_stage);
} perf_stage SEC(".maps");

/*
 * Set by user space once it has run tcptop_flush successfully: until then (and on a kernel
 * that cannot run it on a chosen CPU) every record is a sample of its own.
 */
volatile bool perf_staging = false;

/*
 * Per CPU, the last changes tcptop_state saw, each until tcptop_state2 has seen it too
 * (see tcptop_state2): a small ring, newest at head - 1.
 */
#define SEEN_SLOTS 8

struct first_saw {
	__u64 skaddr[SEEN_SLOTS];
	__u32 states[SEEN_SLOTS]; /* oldstate << 8 | newstate */
	__u32 head;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct first_saw);
} first_saw SEC(".maps");

/*
 * Per connection, what the last pass sent of it: a pass with pass_changed_only leaves out a
 * connection whose counters, drops and state are still these (state 0: never sent). And the
 * packets the kernel dropped for it since tcptop started, counted by tcptop_drop, with the last
 * one's reason. Freed with the socket.
 */
struct pass_sent {
	__u64 bytes_acked;
	__u64 bytes_received;
	__u32 srtt_us;
	__u32 total_retrans;
	__u32 drops;       /* counted by tcptop_drop */
	__u32 drop_reason; /* the last drop's, enum skb_drop_reason */
	__u32 drops_sent;  /* drops as the last pass sent them */
	__u8 state;
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pass_sent);
} pass_sent SEC(".maps");

/*
 * Per listener (by address), the SYN-ACKs it retransmitted since tcptop started, read by the
 * socket walks. Removed when the listener closes; a listener that finds the map full goes
 * uncounted.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} synack_retransmits SEC(".maps");

/* Per CPU, TCP packets the kernel dropped, by reason (see tcptop_drop), read by the addon. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCPTOP_DROP_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/*
 * By socket, the segments each connection retransmitted and the packets dropped for it since
 * user space last took them (it takes and empties the map at each refresh): per-connection
 * rates every refresh, without a walk of every socket. Holds the connections that moved only;
 * beyond TCPTOP_LIVE_SOCKETS of them in one refresh the rest are counted (LIVE_FULL).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCPTOP_LIVE_SOCKETS);
	__type(key, __u64);
	__type(value, struct tcptop_live);
} live_counts SEC(".maps");

/* Per-CPU event counters, indexed by TCPTOP_COUNTER_*, read by the addon. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCPTOP_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");


static __always_inline bool port_listed(__u16 port, const volatile __u16 *ports, __u32 n)
{
	for (int i = 0; i < TCPTOP_MAX_PORTS; i++) {
		if (i >= n)
			return false;
		if (ports[i] == port)
			return true;
	}
	return false;
}

/* IPv4 and IPv6 only, and only the family the settings ask for. */
static __always_inline bool family_wanted(__u16 family)
{
	return (family == AF_INET || family == AF_INET6) && (!target_family || family == target_family);
}

/*
 * Reads a full socket's ports; false when the port settings filter it out. When a socket
 * closes, the kernel releases its port (skc_num becomes 0) before the state changes;
 * inet_sport keeps it, as the tracepoint does.
 */
static __always_inline bool ports_wanted(const struct sock *sk, __u16 *sport, __u16 *dport)
{
	*sport = sk->__sk_common.skc_num;
	if (*sport == 0)
		*sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	*dport = bpf_ntohs(sk->__sk_common.skc_dport);
	if (n_lports && !port_listed(*sport, lports, n_lports))
		return false;
	return !n_rports || port_listed(*dport, rports, n_rports);
}

/* A TCP socket of a wanted family and ports; reads its family and ports for the record. */
static __always_inline bool tcp_socket_wanted(const struct sock *sk, __u16 *family, __u16 *sport,
					      __u16 *dport)
{
	if (sk->sk_protocol != IPPROTO_TCP)
		return false;
	if (target_netns && sk->__sk_common.skc_net.net->ns.inum != target_netns)
		return false;
	*family = sk->__sk_common.skc_family;
	return family_wanted(*family) && ports_wanted(sk, sport, dport);
}

static __always_inline void count_n(__u32 counter, __u64 n)
{
	__u64 *value = bpf_map_lookup_elem(&counters, &counter);

	if (value)
		*value += n;
}

static __always_inline void count(__u32 counter)
{
	count_n(counter, 1);
}

/* Only orders the compiler: a stage is shared with what interrupts on the same CPU only. */
#define compiler_barrier() asm volatile("" ::: "memory")

/*
 * Reads go straight through the BTF-typed pointer the tracepoint hands over (CO-RE
 * relocated, no helper call per field); only inet_sport, which lies past struct sock,
 * needs a probe read.
 */
static __always_inline void fill_record(struct tcptop_record *rec, const struct sock *sk,
					__u8 type, __u64 now, __u64 pid_tgid, __u16 family,
					__u16 sport, __u16 dport, int oldstate, int newstate)
{
	rec->ts_ns = now;
	rec->skaddr = (__u64)sk;
	rec->pid = pid_tgid >> 32;
	rec->tid = (__u32)pid_tgid;
	rec->netns = sk->__sk_common.skc_net.net->ns.inum;
	rec->family = family;
	rec->sport = sport;
	rec->dport = dport;
	rec->oldstate = oldstate;
	rec->newstate = newstate;
	rec->type = type;
	rec->reserved = 0;
	__u32 *saddr = (__u32 *)rec->saddr;
	__u32 *daddr = (__u32 *)rec->daddr;
	if (family == AF_INET) {
		saddr[0] = sk->__sk_common.skc_rcv_saddr;
		daddr[0] = sk->__sk_common.skc_daddr;
		saddr[1] = saddr[2] = saddr[3] = 0;
		daddr[1] = daddr[2] = daddr[3] = 0;
	} else {
		for (int i = 0; i < 4; i++) {
			saddr[i] = sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[i];
			daddr[i] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[i];
		}
	}
	/* The task's name, read in place: cheaper than bpf_get_current_comm()'s copy. */
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 *comm = (__u64 *)rec->comm;
	comm[0] = *(__u64 *)&task->comm[0];
	comm[1] = *(__u64 *)&task->comm[8];
}

/*
 * Writes one record to the transport chosen at load time; counts it if there is no room.
 * `preemptible`: the caller may be preempted (a syscall tracepoint may run so), and then
 * another task on this CPU could take the perf stage between its check of `busy` and its
 * claim: such a caller sends its record on its own.
 */
static __always_inline void submit(void *ctx, const struct sock *sk, __u8 type, __u64 now,
				   __u64 pid_tgid, __u16 family, __u16 sport, __u16 dport,
				   int oldstate, int newstate, __u64 delta_ns, __u8 flags,
				   bool preemptible)
{
	if (use_perf) {
		__u32 cpu = bpf_get_smp_processor_id();
		struct perf_stage *stage = perf_staging && !preemptible ?
			bpf_map_lookup_elem(&perf_stage, &cpu) : 0;
		if (stage && !stage->busy) {
			stage->busy = 1;
			compiler_barrier();
			/* Never TCPTOP_STAGED_RECORDS or more: a full stage is sent at once. */
			__u32 n = stage->count & (TCPTOP_STAGED_RECORDS - 1);
			struct tcptop_record *rec = &stage->records[n];

			fill_record(rec, sk, type, now, pid_tgid, family, sport, dport, oldstate,
				    newstate);
			rec->delta_ns = delta_ns;
			rec->flags = flags;
			if (++n == TCPTOP_STAGED_RECORDS) {
				if (bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU,
							  stage->records, sizeof(stage->records)))
					count_n(TCPTOP_COUNTER_DROPPED, n);
				n = 0;
			}
			stage->count = n;
			compiler_barrier();
			stage->busy = 0;
			return;
		}

		/* Nested in a handler that is writing the stage: a sample of its own. */
		struct tcptop_record rec;

		fill_record(&rec, sk, type, now, pid_tgid, family, sport, dport, oldstate, newstate);
		rec.delta_ns = delta_ns;
		rec.flags = flags;
		if (bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &rec, sizeof(rec)))
			count(TCPTOP_COUNTER_DROPPED);
		return;
	}

	struct tcptop_record *rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		count(TCPTOP_COUNTER_DROPPED);
		return;
	}
	fill_record(rec, sk, type, now, pid_tgid, family, sport, dport, oldstate, newstate);
	rec->delta_ns = delta_ns;
	rec->flags = flags;
	/*
	 * No wakeup: a wakeup per record is what makes a tracer expensive. The consumer drains
	 * on a timer (10 ms while records come, up to 100 ms on an idle host), and the ring holds
	 * far more than that; only a ring filling past a quarter wakes it at once.
	 */
	bpf_ringbuf_submit(rec, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > RING_HIGH_MARK ?
					BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline void handle_state_change(void *ctx, const struct sock *sk, int oldstate,
						int newstate)
{
	if (sk->sk_protocol != IPPROTO_TCP)
		return;
	__u16 family = sk->__sk_common.skc_family;
	if (!family_wanted(family))
		return;
	if (target_netns && sk->__sk_common.skc_net.net->ns.inum != target_netns)
		return;

	/*
	 * The per-socket map only serves the pid setting (a socket's first owner): the time in
	 * the previous state is worked out in user space from the records, which keeps a hash
	 * lookup and update off the path every state change takes (measured: 0.03 of the traced
	 * host's connection rate under churn).
	 */
	__u64 skaddr = (__u64)sk;
	struct sock_info *info = 0;
	if (target_pid)
		info = bpf_map_lookup_elem(&sockets, &skaddr);

	__u64 now = bpf_ktime_get_ns();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;

	/*
	 * Time in the previous state, when the entry describes it (a socket that closes and
	 * connects again starts a new lifecycle), and the owner for the pid filter. The entry
	 * is updated in place: one socket's changes never run concurrently.
	 */
	__u64 delta_ns = 0;
	__u8 flags = 0;
	__u32 owner = tgid;
	if (info) {
		if (info->state == oldstate && oldstate != TCP_CLOSE) {
			delta_ns = now - info->ts_ns;
			flags |= TCPTOP_FLAG_DELTA_KNOWN;
			if (info->owner)
				owner = info->owner;
		}
		info->ts_ns = now;
		info->owner = owner;
		info->state = newstate;
	} else if (target_pid && newstate != TCP_CLOSE) {
		struct sock_info entry = { .ts_ns = now, .owner = owner, .state = newstate };
		bpf_map_update_elem(&sockets, &skaddr, &entry, BPF_NOEXIST);
	}
	/* The socket's last change: its address may be reused by a new socket once it is freed. */
	if (info && newstate == TCP_CLOSE)
		bpf_map_delete_elem(&sockets, &skaddr);
	if (oldstate == TCP_LISTEN && newstate == TCP_CLOSE)
		bpf_map_delete_elem(&synack_retransmits, &skaddr);

	__u16 sport, dport;
	if (!ports_wanted(sk, &sport, &dport))
		return;
	if (target_pid && tgid != target_pid && owner != target_pid)
		return;

	/*
	 * FIN_WAIT2 -> CLOSE: the peer's FIN came (tcp_fin() marks the socket SOCK_DONE first) and
	 * the kernel keeps the tuple as TIME_WAIT; or it has not, and the closed end is an orphan
	 * the kernel keeps in FIN_WAIT2. (sk_shutdown cannot tell: close() sets it whole.)
	 */
	if (oldstate == TCP_FIN_WAIT2 && newstate == TCP_CLOSE &&
	    !(sk->__sk_common.skc_flags & (1UL << SOCK_DONE)))
		flags |= TCPTOP_FLAG_ORPHANED;

	submit(ctx, sk, TCPTOP_RECORD_STATE, now, pid_tgid, family, sport, dport, oldstate,
	       newstate, delta_ns, flags, false);
}

/*
 * The kernel never runs a tracing program inside itself on one CPU: when a softirq (say, a
 * burst of delayed ACKs from a timer) interrupts the program and changes other sockets'
 * states, those nested events skip it, counted only in its recursion_misses. Under
 * loopback load that lost about one event in a thousand. So a second copy of the handler
 * is attached, which the kernel runs after the first for every change. The first notes each
 * change it sees in a per-CPU ring; the second finds it there (and clears it), or does not,
 * because the first skipped it, and handles it. Nesting goes one level deep (process
 * context, then softirq; state changes do not happen in hard interrupts), and a change's
 * two runs are at most a nested softirq's changes apart, so the ring holds the change until
 * the second looks; for a burst of more than SEEN_SLOTS changes nested in exactly that gap,
 * the second would record a change twice, never lose one.
 *
 * The second counts what it handles (COUNTER_RESCUED); user space reports tcptop_state's
 * misses that were not rescued (both copies busy) as dropped.
 */
static __always_inline struct first_saw *first_saw_ring(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&first_saw, &zero);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tcptop_state, const struct sock *sk, int oldstate, int newstate)
{
	struct first_saw *saw = first_saw_ring();
	if (saw) {
		__u32 slot = saw->head++ % SEEN_SLOTS;
		saw->skaddr[slot] = (__u64)sk;
		saw->states[slot] = oldstate << 8 | newstate;
	}
	handle_state_change(ctx, sk, oldstate, newstate);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tcptop_state2, const struct sock *sk, int oldstate, int newstate)
{
	struct first_saw *saw = first_saw_ring();
	if (!saw)
		return 0;
	__u32 states = oldstate << 8 | newstate;
	/* Newest first: usually the change the first saw just before. */
	for (__u32 i = 1; i <= SEEN_SLOTS; i++) {
		__u32 slot = (saw->head - i) % SEEN_SLOTS;
		if (saw->skaddr[slot] == (__u64)sk && saw->states[slot] == states) {
			saw->skaddr[slot] = 0;
			return 0;
		}
	}
	count(TCPTOP_COUNTER_RESCUED);
	handle_state_change(ctx, sk, oldstate, newstate);
	return 0;
}

/*
 * Resets, so a connection that ends can be told refused (a reset received in SYN_SENT)
 * from timed out, and aborted from closed. The record carries the socket's state when
 * the reset was sent or received: a received reset comes before the change to CLOSE it
 * causes; an abort (close() with SO_LINGER 0, unread data) changes the state to CLOSE
 * first, then sends its reset. Resets sent for no socket, or for a timewait or request
 * socket, are left out: they belong to no connection tcptop tracks.
 */
static __always_inline int handle_reset(void *ctx, const struct sock *sk, __u8 type)
{
	if (!sk)
		return 0;
	int state = sk->__sk_common.skc_state;
	if (state == TCP_TIME_WAIT || state == TCP_NEW_SYN_RECV)
		return 0;
	__u16 family, sport, dport;
	if (!tcp_socket_wanted(sk, &family, &sport, &dport))
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (target_pid && (pid_tgid >> 32) != target_pid)
		return 0;

	submit(ctx, sk, type, bpf_ktime_get_ns(), pid_tgid, family, sport, dport, state, state, 0, 0,
	       false);
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tcptop_reset_sent, const struct sock *sk)
{
	return handle_reset(ctx, sk, TCPTOP_RECORD_RESET_SENT);
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tcptop_reset_received, const struct sock *sk)
{
	return handle_reset(ctx, sk, TCPTOP_RECORD_RESET_RECEIVED);
}

/*
 * Whether something that happened to a socket other than a state change is wanted: a full
 * socket's (request and timewait sockets, which have no sk_protocol, are left out), filtered as
 * its changes are. Reads its state, family and ports.
 */
static __always_inline bool full_socket_wanted(const struct sock *sk, int *state, __u16 *family,
					       __u16 *sport, __u16 *dport)
{
	*state = sk->__sk_common.skc_state;
	if (*state == TCP_NEW_SYN_RECV || *state == TCP_TIME_WAIT)
		return false;
	return tcp_socket_wanted(sk, family, sport, dport);
}

/*
 * A record of something that happened to a full socket other than a state change (trace
 * --events), in its state (see full_socket_wanted). `detail` goes in delta_ns.
 */
static __always_inline void submit_event(void *ctx, const struct sock *sk, __u8 type, __u64 detail)
{
	int state;
	__u16 family, sport, dport;
	if (!full_socket_wanted(sk, &state, &family, &sport, &dport))
		return;
	/* Softirq runs on whatever task: the socket's owner decides, as for its changes. */
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (target_pid && (pid_tgid >> 32) != target_pid) {
		__u64 skaddr = (__u64)sk;
		struct sock_info *info = bpf_map_lookup_elem(&sockets, &skaddr);
		if (!info || info->owner != target_pid)
			return;
	}
	submit(ctx, sk, type, bpf_ktime_get_ns(), pid_tgid, family, sport, dport, state, state, detail,
	       0, false);
}

/*
 * A connection's retransmits or drops, added to live_counts (see there), filtered as its
 * changes are (see full_socket_wanted; the pid setting aside: user space keeps the rows it has).
 */
static __always_inline void count_live(const struct sock *sk, __u32 retransmits, __u32 drops)
{
	int state;
	__u16 family, sport, dport;
	if (!full_socket_wanted(sk, &state, &family, &sport, &dport) || state == TCP_LISTEN)
		return;
	__u64 key = (__u64)sk;
	struct tcptop_live *live = bpf_map_lookup_elem(&live_counts, &key);
	if (!live) {
		struct tcptop_live first = {.retransmits = retransmits, .drops = drops};
		if (bpf_map_update_elem(&live_counts, &key, &first, BPF_NOEXIST) == 0)
			return;
		/* Another CPU made it meanwhile (counted there), or the map is full. */
		live = bpf_map_lookup_elem(&live_counts, &key);
		if (!live) {
			count(TCPTOP_COUNTER_LIVE_FULL);
			return;
		}
	}
	/*
	 * User space takes entries and deletes them in one step; one taken between the lookup above
	 * and this add loses the add (a window of nanoseconds, once a refresh at most).
	 */
	if (retransmits)
		__sync_fetch_and_add(&live->retransmits, retransmits);
	if (drops)
		__sync_fetch_and_add(&live->drops, drops);
}

/*
 * TCP packets the kernel dropped, counted by reason in the kernel: the tracepoint fires for
 * every packet of every protocol dropped, so nothing leaves the kernel but the counts. A
 * packet is TCP's when the socket it was for (rx_sk on receive, the sender's on transmit) is
 * a TCP socket, or, without one, when its IP header says so (a segment for no socket). The
 * reason names come from the running kernel's BTF (enum skb_drop_reason), read by the addon.
 * rx_sk came with Linux 6.11: the addon leaves this program out before that.
 */
static __always_inline bool tcp_packet(const struct sk_buff *skb, const struct sock *sk)
{
	if (sk) {
		/* A request or timewait socket has no sk_protocol: they are TCP's. */
		int state = sk->__sk_common.skc_state;
		if (state != TCP_NEW_SYN_RECV && state != TCP_TIME_WAIT && sk->sk_protocol != IPPROTO_TCP)
			return false;
		return !target_netns || sk->__sk_common.skc_net.net->ns.inum == target_netns;
	}
	if (target_netns && (!skb->dev || skb->dev->nd_net.net->ns.inum != target_netns))
		return false;
	__u16 network = skb->network_header;
	if (network == (__u16)~0U)
		return false;
	/* The protocol field: byte 9 of an IPv4 header, 6 (next header) of an IPv6 one. */
	__u32 at;
	if (skb->protocol == bpf_htons(0x0800))
		at = 9;
	else if (skb->protocol == bpf_htons(0x86DD))
		at = 6;
	else
		return false;
	__u8 protocol = 0;
	bpf_probe_read_kernel(&protocol, sizeof(protocol), skb->head + network + at);
	return protocol == IPPROTO_TCP;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(tcptop_drop, struct sk_buff *skb, void *location, enum skb_drop_reason reason,
	     struct sock *rx_sk)
{
	/*
	 * Left out: a closed socket's queues freed as it is destroyed, which holds the peer's FIN
	 * on every connection whose end was closed without reading it (most, on a server that
	 * closes first): housekeeping, not a packet lost, and as many as the connections.
	 */
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_QUEUE_PURGE) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_QUEUE_PURGE))
		return 0;
	const struct sock *sk = rx_sk ? rx_sk : skb->sk;
	if (!tcp_packet(skb, sk))
		return 0;
	__u32 slot = (__u32)reason < TCPTOP_DROP_SLOTS ? (__u32)reason : 0;
	__u64 *value = bpf_map_lookup_elem(&drops, &slot);
	if (value)
		*value += 1;
	/*
	 * A connection's own count, for the passes to send with its counters: kept on the socket
	 * (a full one: a timewait or request socket has no storage, and gets NULL; a listener has
	 * its own count); and for its rate, in live_counts.
	 */
	struct pass_sent *notes = sk && sk->__sk_common.skc_state != TCP_LISTEN ?
		bpf_sk_storage_get(&pass_sent, (struct sock *)sk, 0, BPF_LOCAL_STORAGE_GET_F_CREATE) : NULL;
	if (notes) {
		__sync_fetch_and_add(&notes->drops, 1);
		notes->drop_reason = reason;
		count_live(sk, 0, 1);
	}
	if (trace_events && sk)
		submit_event(ctx, sk, TCPTOP_RECORD_DROP, reason);
	return 0;
}

/*
 * A listener retransmitted a SYN-ACK: the client's ACK did not come (a lossy path to the
 * clients, or SYNs from addresses that never answer). Counted per listener; rare, so always on.
 */
SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(tcptop_synack, const struct sock *sk)
{
	if (!sk)
		return 0;
	__u64 key = (__u64)sk;
	__u64 *count = bpf_map_lookup_elem(&synack_retransmits, &key);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return 0;
	}
	__u64 one = 1;
	/* Another CPU may have made the entry meanwhile: then it is counted there. */
	if (bpf_map_update_elem(&synack_retransmits, &key, &one, BPF_NOEXIST) != 0) {
		count = bpf_map_lookup_elem(&synack_retransmits, &key);
		if (count)
			__sync_fetch_and_add(count, 1);
	}
	return 0;
}

/*
 * A segment a socket retransmitted: counted in live_counts, and for trace --events a record
 * of its own. Where the tracepoint says how the attempt went (its err argument, on kernels
 * whose event has an err field), only those that went out count, as the socket's own count
 * does (an attempt the device or the host's queues refused is tried again). On a kernel
 * without it the relocation makes the test false, and the verifier never reaches the read of
 * an argument the tracepoint does not have.
 */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tcptop_retransmit, const struct sock *sk)
{
	if (!sk)
		return 0;
	if (bpf_core_field_exists(struct trace_event_raw_tcp_retransmit_skb, err) && (int)ctx[2] != 0)
		return 0;
	count_live(sk, 1, 0);
	if (trace_events)
		submit_event(ctx, sk, TCPTOP_RECORD_RETRANSMIT, 0);
	return 0;
}

/*
 * Owners of passive connections. Their state changes run in softirq, on whatever task the
 * CPU was running, so the process that owns one is known when accept() or accept4()
 * returns its descriptor: the exit of those system calls resolves the new fd through the
 * task's file table to the socket, and a TCPTOP_RECORD_ACCEPTED record names the task.
 * (Classic syscall tracepoints: libbpf finds them through tracefs, which the addon mounts
 * when the host has not.) The fd table is read with probe reads; the socket is then cast
 * to its BTF type (read-only) so the record is filled like any other.
 */
/* Linux 6.2 and later; weak, so the object loads on older kernels (these programs then stay out). */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

static __always_inline int handle_accept_exit(void *ctx, long ret)
{
	if (ret < 0)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	if (target_pid && tgid != target_pid)
		return 0;

	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || (unsigned long)ret >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = NULL;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[ret]) || !file)
		return 0;
	struct socket *socket = BPF_CORE_READ(file, private_data);
	if (!socket)
		return 0;
	struct sock *raw = BPF_CORE_READ(socket, sk);
	if (!raw)
		return 0;
	const struct sock *sk = bpf_rdonly_cast(raw, bpf_core_type_id_kernel(struct sock));
	__u16 family, sport, dport;
	if (!tcp_socket_wanted(sk, &family, &sport, &dport))
		return 0;

	/* The accepting process owns the socket from now on, for the pid setting too. */
	__u64 skaddr = (__u64)raw;
	struct sock_info *info = bpf_map_lookup_elem(&sockets, &skaddr);
	if (info)
		info->owner = tgid;
	int state = sk->__sk_common.skc_state;
	submit(ctx, sk, TCPTOP_RECORD_ACCEPTED, bpf_ktime_get_ns(), pid_tgid, family, sport, dport,
	       state, state, 0, 0, true);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tcptop_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return handle_accept_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tcptop_accept(struct trace_event_raw_sys_exit *ctx)
{
	return handle_accept_exit(ctx, ctx->ret);
}

/* Counts a socket a pass walked (see pass_state_counts). */
static __always_inline void count_in_pass(__u8 state)
{
	__u32 index = state - 1;

	if (index < TCPTOP_COUNTED_STATES)
		pass_state_counts[index]++;
}

/*
 * What a listener dropped since it listened: the kernel counts each connection attempt a
 * listener drops (tcp_listendrop: its accept queue full, or no memory) in the socket's
 * sk_drops (ss -m's d) as well as in the namespace's ListenDrops; newer kernels may keep part
 * of a socket's count per NUMA node.
 */
struct numa_drop_counters___tcptop {
	atomic_t drops0;
	atomic_t drops1;
} __attribute__((preserve_access_index));

struct sock___tcptop {
	struct numa_drop_counters___tcptop *sk_drop_counters;
} __attribute__((preserve_access_index));

static __always_inline __u32 listen_drops(const struct sock *sk)
{
	__u32 drops = BPF_CORE_READ(sk, sk_drops.counter);
	const struct sock___tcptop *numa_sk = (const void *)sk;
	if (bpf_core_field_exists(numa_sk->sk_drop_counters)) {
		struct numa_drop_counters___tcptop *numa = BPF_CORE_READ(numa_sk, sk_drop_counters);
		if (numa)
			drops += BPF_CORE_READ(numa, drops0.counter) + BPF_CORE_READ(numa, drops1.counter);
	}
	return drops;
}

/*
 * One TCPTOP_RECORD_SOCKET record of a socket, in `state`, written to a pass's file: with a
 * full socket's counters (tp: its tcp_sock, or NULL), and, when `changed_only`, only if those
 * or the state changed since a pass last sent them (`sent`: its pass_sent, or NULL). With
 * `counted`, the socket is counted by state. A record that does not fit in what is left of the
 * reader's buffer is thrown away and the socket shown again in the next read: counted, and
 * noted as sent, once written.
 */
static __always_inline void pass_socket(struct seq_file *seq, const struct sock_common *skc,
					__u8 state, __u16 family, __u16 sport, __u16 dport,
					const struct tcp_sock *tp, struct pass_sent *sent,
					bool changed_only, bool counted, const struct sock *listener)
{
	/* bytes_acked and bytes_received are what `ss -ti` shows. */
	__u64 bytes_acked = 0, bytes_received = 0;
	__u32 srtt_us = 0, total_retrans = 0;
	if (tp) {
		bytes_acked = tp->bytes_acked;
		bytes_received = tp->bytes_received;
		srtt_us = tp->srtt_us >> 3;
		total_retrans = tp->total_retrans;
	}
	__u32 drops = sent ? sent->drops : 0;
	/* A listener is sent by every pass: its queue is what changes (and a host has few). */
	if (changed_only && !listener) {
		if (!tp || (sent && sent->state == state && sent->bytes_acked == bytes_acked &&
			    sent->bytes_received == bytes_received && sent->srtt_us == srtt_us &&
			    sent->total_retrans == total_retrans && sent->drops_sent == drops)) {
			if (counted)
				count_in_pass(state);
			return;
		}
	}

	struct tcptop_record rec = {};
	rec.ts_ns = bpf_ktime_get_ns();
	rec.skaddr = (__u64)skc;
	/*
	 * Pointers followed by probe reads, not loads: the verifier looks up each pointer load it
	 * explores in the kernel's whole BTF, by name, and with this function's paths that made
	 * the program's load 50 ms of tcptop's start (5 ms so).
	 */
	rec.netns = BPF_CORE_READ(skc, skc_net.net, ns.inum);
	rec.family = family;
	rec.sport = sport;
	rec.dport = dport;
	rec.oldstate = state;
	rec.newstate = state;
	rec.type = TCPTOP_RECORD_SOCKET;
	__u32 *saddr = (__u32 *)rec.saddr;
	__u32 *daddr = (__u32 *)rec.daddr;
	if (family == AF_INET) {
		saddr[0] = skc->skc_rcv_saddr;
		daddr[0] = skc->skc_daddr;
	} else {
		for (int i = 0; i < 4; i++) {
			saddr[i] = skc->skc_v6_rcv_saddr.in6_u.u6_addr32[i];
			daddr[i] = skc->skc_v6_daddr.in6_u.u6_addr32[i];
		}
	}
	if (tp) {
		rec.flags = TCPTOP_FLAG_FIGURES;
		/* The control group of the process that made the socket (of the listener, for one accepted). */
		rec.cgroup_id = BPF_CORE_READ(tp, inet_conn.icsk_inet.sk.sk_cgrp_data.cgroup, kn, id);
		rec.bytes_acked = bytes_acked;
		rec.figures.bytes_received = bytes_received;
		rec.figures.srtt_us = srtt_us;
		rec.figures.total_retrans = total_retrans;
	} else if (listener) {
		rec.flags = TCPTOP_FLAG_QUEUE;
		rec.queue.accept_queue = listener->sk_ack_backlog;
		rec.queue.accept_backlog = listener->sk_max_ack_backlog;
		const struct inet_connection_sock *icsk = (const struct inet_connection_sock *)listener;
		rec.queue.syn_queue = icsk->icsk_accept_queue.qlen.counter;
		rec.queue.drops = listen_drops(listener);
		__u64 key = (__u64)skc;
		__u64 *synacks = bpf_map_lookup_elem(&synack_retransmits, &key);
		rec.synack_retransmits = synacks ? *synacks : 0;
	}
	if (bpf_seq_write(seq, &rec, sizeof(rec)) != 0)
		return;
	/*
	 * A connection the kernel dropped packets for: a second record, right after the socket's.
	 * (Neither is kept when this one does not fit: the socket is shown again whole.)
	 */
	if (sent && drops != 0) {
		rec.type = TCPTOP_RECORD_SOCKET_DROPS;
		rec.flags = 0;
		rec.drops = drops;
		__builtin_memset(&rec.dropped, 0, sizeof(rec.dropped));
		rec.dropped.reason = sent->drop_reason;
		if (bpf_seq_write(seq, &rec, sizeof(rec)) != 0)
			return;
	}
	if (counted)
		count_in_pass(state);
	if (sent) {
		sent->bytes_acked = bytes_acked;
		sent->bytes_received = bytes_received;
		sent->srtt_us = srtt_us;
		sent->total_retrans = total_retrans;
		sent->drops_sent = drops;
		sent->state = state;
	}
}

/* The port settings, for a socket found by a pass. */
static __always_inline bool pass_ports_wanted(__u16 sport, __u16 dport)
{
	if (n_lports && !port_listed(sport, lports, n_lports))
		return false;
	return !n_rports || port_listed(dport, rports, n_rports);
}

/*
 * A socket pass (the start-up snapshot, then one per refresh, fewer on a big host): every TCP
 * socket of the reader's network namespace (listeners, connections, TIME_WAIT and request
 * sockets included), one TCPTOP_RECORD_SOCKET record each, with a full socket's counters,
 * read by user space from the iterator's file; with pass_changed_only, only the connections
 * that changed since the last pass sent them. Every socket walked is counted by state either
 * way. The family, port and namespace settings apply; the pid setting does not (a socket found
 * here has no task on the CPU).
 */
/*
 * More than the iterator's buffer holds (the kernel gives it 8 pages): written once the
 * listeners are done in a listeners pass, it cannot fit, so the read returns what the buffer
 * holds (the listeners) and the next read fails with E2BIG, which ends the walk there.
 */
struct walk_stop {
	__u8 bytes[64 * 1024];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_stop);
} walk_stop SEC(".maps");

SEC("iter/tcp")
int tcptop_snapshot(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	if (!skc)
		return 0;
	/* The kernel walks the listening sockets first, then the rest. */
	if (pass_listeners_only && skc->skc_state != TCP_LISTEN) {
		__u32 zero = 0;
		struct walk_stop *stop = bpf_map_lookup_elem(&walk_stop, &zero);
		if (stop)
			bpf_seq_write(ctx->meta->seq, stop, sizeof(*stop));
		return 0;
	}

	__u16 family = skc->skc_family;
	if (!family_wanted(family))
		return 0;
	/* A pass walks that namespace only; a socket of another is not expected here. */
	if (target_netns && skc->skc_net.net->ns.inum != target_netns)
		return 0;
	__u8 state = skc->skc_state;
	__u16 sport = skc->skc_num;
	__u16 dport = bpf_ntohs(skc->skc_dport);
	if (!pass_ports_wanted(sport, dport))
		return 0;
	/*
	 * A timewait socket also stands for a closed end whose peer has not closed yet (an
	 * orphaned FIN_WAIT2, kept for tcp_fin_timeout): its sub-state says which, and ss lists
	 * it as FIN-WAIT-2.
	 */
	if (state == TCP_TIME_WAIT) {
		struct tcp_timewait_sock *tw = bpf_skc_to_tcp_timewait_sock(skc);
		if (tw && tw->tw_sk.tw_substate == TCP_FIN_WAIT2)
			state = TCP_FIN_WAIT2;
	}
	/*
	 * Listeners have no counters but a queue; the TIME_WAIT and request sockets the walk also
	 * finds keep neither.
	 */
	struct tcp_sock *full = skc->skc_state == TCP_TIME_WAIT ? NULL : bpf_skc_to_tcp_sock(skc);
	struct tcp_sock *tp = state == TCP_LISTEN ? NULL : full;
	const struct sock *listener = state == TCP_LISTEN && full ? &full->inet_conn.icsk_inet.sk : NULL;
	struct pass_sent *sent = tp && pass_notes_sent ?
		bpf_sk_storage_get(&pass_sent, tp, 0, BPF_LOCAL_STORAGE_GET_F_CREATE) : NULL;
	pass_socket(ctx->meta->seq, skc, state, family, sport, dport, tp, sent, pass_changed_only, true,
		    listener);
	return 0;
}

/* The TCP socket an open file is, or NULL. */
static __always_inline struct sock *tcp_socket_of(struct file *file)
{
	struct socket *socket = file ? bpf_sock_from_file(file) : NULL;
	struct sock *sk = socket ? socket->sk : NULL;
	return sk && sk->sk_protocol == IPPROTO_TCP ? sk : NULL;
}

/*
 * The counters of connections in the other network namespaces (not pass_own_netns), for a
 * counters pass: walking the socket tables of each namespace would cost each the whole host's
 * hash table, so this walks every process's open files once, as tcptop_owners does, and sends
 * every connection found there (without counting: the namespaces' per-state counts come from
 * complete passes), and every listener with its queue, once per process holding it.
 * Connections no process holds (orphans closing, accepted ones not yet accept()ed) wait for
 * the next complete pass.
 */
SEC("iter/task_file")
int tcptop_foreign(struct bpf_iter__task_file *ctx)
{
	struct sock *sk = tcp_socket_of(ctx->file);
	if (!sk)
		return 0;
	struct sock_common *skc = &sk->__sk_common;
	__u32 netns = skc->skc_net.net->ns.inum;
	if (netns == pass_own_netns || (target_netns && netns != target_netns))
		return 0;
	__u16 family = skc->skc_family;
	if (!family_wanted(family))
		return 0;
	/* A closed socket (or one not connected yet) is in no table. */
	__u8 state = skc->skc_state;
	if (state == TCP_CLOSE)
		return 0;
	__u16 sport = skc->skc_num;
	__u16 dport = bpf_ntohs(skc->skc_dport);
	if (!pass_ports_wanted(sport, dport))
		return 0;
	/*
	 * A socket a process holds is a full socket, a tcp_sock for TCP; reached through the file,
	 * it is not one the kernel lets a program keep storage on, so every such connection is sent.
	 */
	const struct tcp_sock *tp = bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct tcp_sock));
	if (state == TCP_LISTEN) {
		/* A listener: its queue, not counters. */
		pass_socket(ctx->meta->seq, skc, state, family, sport, dport, NULL, NULL, false, false,
			    &tp->inet_conn.icsk_inet.sk);
		return 0;
	}
	pass_socket(ctx->meta->seq, skc, state, family, sport, dport, tp, NULL, false, false, NULL);
	return 0;
}

/*
 * Owners for the snapshot: every open file of every process that is a TCP socket, as one
 * TCPTOP_RECORD_OWNER record (socket address, pid, comm). User space joins them to the
 * socket records by address; a socket shared by several processes gets one record each.
 */
SEC("iter/task_file")
int tcptop_owners(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct sock *sk = tcp_socket_of(ctx->file);
	if (!task || !sk)
		return 0;
	__u16 family = sk->__sk_common.skc_family;
	if (family != AF_INET && family != AF_INET6)
		return 0;

	struct tcptop_record rec = {};
	rec.skaddr = (__u64)sk;
	rec.pid = task->tgid;
	rec.tid = task->pid;
	rec.family = family;
	rec.type = TCPTOP_RECORD_OWNER;
	__u64 *comm = (__u64 *)rec.comm;
	comm[0] = *(__u64 *)&task->comm[0];
	comm[1] = *(__u64 *)&task->comm[8];
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

/*
 * Sends what waits in this CPU's perf stage. Run by user space on each CPU whose stage holds
 * records (BPF_PROG_TEST_RUN with BPF_F_TEST_RUN_ON_CPU: an IPI on another CPU), never
 * attached. Returns TCPTOP_FLUSH_BUSY when it interrupted a handler
 * writing the stage, for user space to try again.
 */
SEC("raw_tp")
int tcptop_flush(void *ctx)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct perf_stage *stage = bpf_map_lookup_elem(&perf_stage, &cpu);
	if (!stage)
		return 0;
	if (stage->busy)
		return TCPTOP_FLUSH_BUSY;
	__u32 n = stage->count;
	if (n == 0 || n > TCPTOP_STAGED_RECORDS)
		return 0;
	/*
	 * Run on the caller's own CPU, the flush is not an IPI and interrupts stay on: a softirq's
	 * state changes may come in meanwhile, and must not add to a stage being emptied.
	 */
	stage->busy = 1;
	compiler_barrier();
	if (bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, stage->records,
				  n * sizeof(struct tcptop_record)))
		count_n(TCPTOP_COUNTER_DROPPED, n);
	stage->count = 0;
	compiler_barrier();
	stage->busy = 0;
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
