/* SPDX-License-Identifier: MIT */
/*
 * The wire format between the BPF program and the native addon: one fixed-size record per
 * TCP state change, socket found by a pass, or owner. Both sides include this file; the TypeScript decoder
 * (src/capture/decode.ts) mirrors the offsets and checks the size the addon reports.
 * Fixed-width types only, explicit padding, no implicit holes.
 */
#ifndef TCPTOP_H
#define TCPTOP_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TCPTOP_COMM_LEN 16
/* Records a perf buffer sample carries (a power of two; see struct perf_stage). */
#define TCPTOP_STAGED_RECORDS 16
#define TCPTOP_FLUSH_BUSY 2 /* tcptop_flush's return: the stage was being written */
#define TCPTOP_MAX_PORTS 16

/* Indexes of the per-CPU counters map. */
#define TCPTOP_COUNTER_DROPPED 0 /* records the buffer had no room for */
#define TCPTOP_COUNTER_RESCUED 1 /* changes tcptop_state missed and tcptop_state2 handled */
#define TCPTOP_COUNTER_LIVE_FULL 2 /* retransmits and drops live_counts had no room for */
#define TCPTOP_COUNTERS 3

/*
 * Slots of the per-CPU drops map, indexed by the kernel's enum skb_drop_reason; a reason past
 * the last slot (a subsystem's own reasons) counts in slot 0, which no drop has as its own
 * (SKB_NOT_DROPPED_YET).
 */
#define TCPTOP_DROP_SLOTS 256

/* Connections live_counts holds at most between two readings. */
#define TCPTOP_LIVE_SOCKETS 16384

/* A connection's retransmits and drops since user space last took them (live_counts). */
struct tcptop_live {
	__u32 retransmits;
	__u32 drops;
};

/* record.type */
#define TCPTOP_RECORD_STATE 1  /* a state change: oldstate -> newstate */
#define TCPTOP_RECORD_SOCKET 2 /* a socket found by a socket walk (the start-up snapshot, a pass), in newstate */
#define TCPTOP_RECORD_RESET_SENT 3     /* the socket, in newstate, sent a reset */
#define TCPTOP_RECORD_RESET_RECEIVED 4 /* the socket, in newstate, received a reset */
#define TCPTOP_RECORD_OWNER 5          /* process pid (comm) holds the socket skaddr open */
#define TCPTOP_RECORD_ACCEPTED 6       /* process pid (comm) accepted the socket, in newstate */
#define TCPTOP_RECORD_COUNTS 7         /* a namespace's sockets per state (state_counts), after them */
#define TCPTOP_RECORD_RETRANSMIT 8     /* the socket, in newstate, retransmitted a segment */
#define TCPTOP_RECORD_DROP 9           /* the kernel dropped a packet for the socket, in newstate; delta_ns: the reason */
/*
 * Right after a full socket's SOCKET record, in a pass, when the kernel dropped packets for it
 * since tcptop started: drops, and dropped.reason (the last one's).
 */
#define TCPTOP_RECORD_SOCKET_DROPS 10

/* States a pass counts: 1 (ESTABLISHED) to 12 (NEW_SYN_RECV), at state_counts[state - 1]. */
#define TCPTOP_COUNTED_STATES 12

/* record.flags */
#define TCPTOP_FLAG_DELTA_KNOWN 0x1 /* delta_ns is the time spent in oldstate */
#define TCPTOP_FLAG_FIGURES 0x2     /* a SOCKET record of a full socket: figures are filled */
/*
 * A STATE record FIN_WAIT2 -> CLOSE of a socket whose peer had not closed (no FIN received):
 * the kernel keeps its closed end as a timewait socket in sub-state FIN_WAIT2, for
 * tcp_fin_timeout, not TIME_WAIT.
 */
#define TCPTOP_FLAG_ORPHANED 0x4
/* A SOCKET record of a listener: queue is filled (in place of comm). */
#define TCPTOP_FLAG_QUEUE 0x8

/* What a SOCKET record of a full TCP socket carries in place of comm (struct tcp_sock). */
struct tcptop_figures {
	__u64 bytes_received; /* 80 */
	__u32 srtt_us;        /* 88: smoothed RTT in microseconds (not tcp_sock's <<3 form) */
	__u32 total_retrans;  /* 92 */
};

/* What a SOCKET record of a listener carries in place of comm. */
struct tcptop_queue {
	__u32 accept_queue;   /* 80: connections waiting for accept() (sk_ack_backlog) */
	__u32 accept_backlog; /* 84: listen()'s backlog (sk_max_ack_backlog) */
	__u32 syn_queue;      /* 88: handshakes under way (request sockets) */
	__u32 drops;          /* 92: connection attempts dropped since the socket listened */
};

/* What a SOCKET_DROPS record carries in place of comm. */
struct tcptop_dropped {
	__u32 reason;      /* 80: the last drop's (enum skb_drop_reason) */
	__u32 reserved[3]; /* 84 */
};

struct tcptop_record {
	__u64 ts_ns;    /*  0: bpf_ktime_get_ns(), CLOCK_MONOTONIC */
	__u64 skaddr;   /*  8: kernel address of the socket */
	union {
		__u64 delta_ns;    /* 16: time spent in oldstate (see flags) */
		__u64 bytes_acked; /* 16: SOCKET records with TCPTOP_FLAG_FIGURES */
		/* 16: SOCKET records with TCPTOP_FLAG_QUEUE: SYN-ACKs the listener retransmitted since tcptop started */
		__u64 synack_retransmits;
		/* 16: SOCKET_DROPS records: packets the kernel dropped for the socket since tcptop started */
		__u64 drops;
	};
	union {
		struct {
			__u32 pid; /* 24: tgid of the task on the CPU (0 in softirq on the idle task) */
			__u32 tid; /* 28 */
		};
		/* 24: SOCKET records of full sockets: the socket's control group id (0: none known) */
		__u64 cgroup_id;
	};
	__u32 netns;    /* 32: inode number of the socket's network namespace */
	__u16 family;   /* 36: AF_INET or AF_INET6 */
	__u16 sport;    /* 38: local port, host byte order */
	__u16 dport;    /* 40: remote port, host byte order */
	__u8 oldstate;  /* 42 */
	__u8 newstate;  /* 43 */
	__u8 type;      /* 44: TCPTOP_RECORD_* */
	__u8 flags;     /* 45: TCPTOP_FLAG_* */
	__u16 reserved; /* 46 */
	__u8 saddr[16]; /* 48: IPv4 in the first 4 bytes, network byte order */
	__u8 daddr[16]; /* 64 */
	union {
		char comm[TCPTOP_COMM_LEN];     /* 80: the task's name (not in SOCKET records) */
		struct tcptop_figures figures;  /* 80: SOCKET records with TCPTOP_FLAG_FIGURES */
		struct tcptop_queue queue;      /* 80: SOCKET records with TCPTOP_FLAG_QUEUE */
		struct tcptop_dropped dropped;  /* 80: SOCKET_DROPS records */
	};
};

/*
 * A COUNTS record shares the header (ts_ns .. reserved; family is 0; netns is the namespace
 * walked, ts_ns when its walk began) and ends in the counts.
 */
struct tcptop_counts_record {
	__u8 header[48];
	__u32 state_counts[TCPTOP_COUNTED_STATES]; /* 48: every socket the pass walked, by state */
};

#define TCPTOP_RECORD_SIZE 96

#ifdef __cplusplus
static_assert(sizeof(struct tcptop_record) == TCPTOP_RECORD_SIZE,
	      "struct tcptop_record must stay 96 bytes: src/capture/decode.ts mirrors it");
static_assert(sizeof(struct tcptop_counts_record) == TCPTOP_RECORD_SIZE,
	      "a COUNTS record is a record's size");
#else
_Static_assert(sizeof(struct tcptop_record) == TCPTOP_RECORD_SIZE,
	       "struct tcptop_record must stay 96 bytes: src/capture/decode.ts mirrors it");
#endif

#endif
