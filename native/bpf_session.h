// The kernel side of a capture, in plain C++ (no Node-API): open, configure, load and
// attach the BPF program, then drain its buffer into a contiguous block of records.
// Destroying the session detaches every link and closes every map.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <bpf/libbpf.h>

#include "net_namespaces.h"
#include "tcptop.h"

struct tcptop_bpf;

namespace tcptop {

enum class Transport { RingBuffer, PerfBuffer };

struct CaptureOptions {
	Transport transport = Transport::RingBuffer;
	uint16_t family = 0; // 0: both, else AF_INET / AF_INET6
	uint32_t pid = 0;    // 0: every process
	uint32_t netns = 0;  // 0: every network namespace, else its inode
	// How counters passes reach other namespaces' connections: 0 the cheaper way (see Pass),
	// 1 their tables, 2 their processes' open files.
	uint8_t foreignWalk = 0;
	std::vector<uint16_t> localPorts;
	std::vector<uint16_t> remotePorts;
	// Trace accept()/accept4() exits for passive connections' owners. Off by default: a
	// syscall tracepoint puts every system call on the host on its slow path.
	bool acceptOwners = false;
	// Retransmits, and drops of packets for known sockets, as records of their own
	// (TCPTOP_RECORD_RETRANSMIT, TCPTOP_RECORD_DROP): trace --events.
	bool traceEvents = false;
	// The socket walks only, no tracepoint (tcptop -b -n 1: one walk, then the end): a start
	// with a fraction of the programs to verify, and an exit with no tracepoint to detach.
	bool passesOnly = false;
};

// Why a session could not start. `code` is what JS sees as error.code; `log` holds what
// libbpf printed (the verifier's log among it) while the session was being set up.
struct CaptureError {
	std::string code;
	std::string message;
	std::string log;
};

class BpfSession {
public:
	// Load, then Attach. Returns nullptr and fills `error` when the program cannot run.
	static std::unique_ptr<BpfSession> Open(const CaptureOptions& options, CaptureError& error);
	// Any thread (the costly part: the kernel verifies the programs). Checks what must hold,
	// then opens, configures and loads the programs without attaching any. Returns nullptr
	// and fills `error` when the program cannot run.
	static std::unique_ptr<BpfSession> Load(const CaptureOptions& options, CaptureError& error);
	// JS thread, once, after Load: attaches the programs and opens the buffer. Returns false
	// and fills `error` when that fails; the session is then only fit to be destroyed.
	bool Attach(CaptureError& error);
	~BpfSession();

	BpfSession(const BpfSession&) = delete;
	BpfSession& operator=(const BpfSession&) = delete;

	// Any one thread at a time. For each network namespace walked, one TCPTOP_RECORD_SOCKET
	// record per TCP socket that exists now (iter/tcp; without `complete`, only the connections
	// that changed since they were last sent), then one TCPTOP_RECORD_COUNTS record carrying
	// the namespace: every socket walked, by state, those left out included. A complete pass
	// walks every namespace on the host (the thread's own first); a counters pass too, or, when
	// that cost more at the last complete pass than its walk of every process's open files,
	// its own (or the one the options name), then every connection and listener of the others
	// that a process holds, found in those files (iter/task_file), without counts. Then, with
	// `owners`, one TCPTOP_RECORD_OWNER record per process holding one open (iter/task_file,
	// every namespace at once), from a thread of its own whose CPU time goes to `helperCpuNs`.
	// Returns a negative errno on failure.
	int Pass(bool complete, bool owners, std::vector<uint8_t>& block, uint64_t& helperCpuNs);

	// The listeners of the thread's own namespace (or the one the options name), one
	// TCPTOP_RECORD_SOCKET record each with its queue, and nothing else (no counts): the walk
	// stops where the listening sockets end (the kernel lists them first), so it costs about the
	// same on a host of 100,000 connections as on an idle one. Returns a negative errno on failure.
	int ListenersPass(std::vector<uint8_t>& block);

	// Whether accept()/accept4() exits are traced (TCPTOP_RECORD_ACCEPTED records).
	bool AcceptOwners() const { return acceptOwners_; }
	// Why they are not, when they were asked for; empty otherwise.
	const std::string& AcceptOwnersProblem() const { return acceptProblem_; }

	// Readable when the kernel wakes the consumer: the ring buffer past its high mark, or a
	// CPU's perf buffer three quarters full. Records below that wake no one (Drain on a timer).
	int WakeupFd() const;

	// Poller thread. Drains everything waiting into `block` (appending whole records), without
	// waiting. Returns a negative errno on failure.
	int Drain(std::vector<uint8_t>& block);

	// Poller thread. Records the kernel could not deliver: no room in the buffer, changes
	// missed by both programs (see tcptop_state2 in bpf/tcptop.bpf.c), resets missed by theirs.
	uint64_t Dropped();
	// Any thread. TCP packets the kernel dropped since the program attached, by reason (the
	// kernel's enum skb_drop_reason; slot 0: a reason past the last slot), into `counts`;
	// false when the kernel cannot say (before Linux 6.11) or the map cannot be read.
	bool DropCounts(std::vector<uint64_t>& counts) const;

	// Any thread. Takes what live_counts holds (see bpf/tcptop.bpf.c): the connections that
	// retransmitted or had packets dropped since the last call, by socket address, and how
	// many; false when the session has none (a run of passes only) or the map cannot be read.
	bool TakeLive(std::vector<uint64_t>& sockets, std::vector<tcptop_live>& counts) const;
	// Retransmits and drops live_counts had no room for (summed over CPUs).
	uint64_t LiveMissed() const { return Counter(TCPTOP_COUNTER_LIVE_FULL); }

	// Poller thread. Records the perf buffer reported lost (always 0 for the ring buffer).
	uint64_t Lost() const { return lost_; }

private:
	BpfSession() = default;
	// Whether tracefs is mounted, mounting it at /sys/kernel/tracing when it is not.
	bool EnsureTracefs();
	bool AttachAcceptOwners();
	int WalkSockets(std::vector<uint8_t>& block, bool complete, bool listenersOnly = false);

	bool StartPerfStaging();
	void FlushPerfStages();

	static int OnRingRecord(void* ctx, void* data, size_t size);
	static enum bpf_perf_event_ret OnPerfEvent(void* ctx, int cpu, struct perf_event_header* event);

	tcptop_bpf* skel_ = nullptr;
	ring_buffer* ring_ = nullptr;
	perf_buffer* perf_ = nullptr;
	std::vector<uint8_t>* block_ = nullptr; // the block Drain() is filling
	uint64_t lost_ = 0;
	uint64_t Counter(uint32_t index) const; // summed over CPUs

	uint64_t unrescued_ = 0;
	int countersFd_ = -1;
	bool dropsTraced_ = false;
	int dropsFd_ = -1;
	int liveFd_ = -1;
	int cpus_ = 1;
	// The perf buffer's per-CPU stages (struct perf_stage in bpf/tcptop.bpf.c), mapped
	// read-only, and the flush program run on a CPU whose stage holds records.
	const uint8_t* perfStages_ = nullptr;
	size_t perfStagesBytes_ = 0;
	size_t perfStageStride_ = 0;
	int flushFd_ = -1;
	std::set<unsigned> strandedCpus_; // offline CPUs whose stage's records were counted lost
	bool acceptOwners_ = false;
	bool acceptOwnersAsked_ = false; // loaded, for Attach
	std::string acceptProblem_;
	bool perfTransport_ = false;
	bool passesOnly_ = false;
	uint32_t onlyNetns_ = 0; // passes walk this namespace only (0: every one)
	uint8_t foreignWalk_ = 0; // CaptureOptions::foreignWalk
	bool mountedTracefs_ = false;
	size_t lastCompleteBytes_ = 0; // the last complete pass's block, to size the next one's
	// What the last complete pass spent walking other namespaces' tables, and every process's
	// open files (its owner walk): a counters pass walks the other namespaces the cheaper way.
	uint64_t foreignTablesNs_ = 0;
	uint64_t filesNs_ = 0;
	uint64_t foreignConnections_ = 0; // and the connections it found in the other namespaces
	std::vector<NetNamespace> knownNamespaces_; // those it found (paths only: no descriptors)
};

// The names of the running kernel's drop reasons (enum skb_drop_reason in its BTF), by value,
// without the SKB_DROP_REASON_ prefix; "" for a slot without one. Parses the kernel's BTF
// (tens of milliseconds): asked once, when the first drop is seen.
std::vector<std::string> DropReasonNames();

} // namespace tcptop
