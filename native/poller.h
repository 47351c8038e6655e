// The thread that owns the blocking work of a capture: it waits on the BPF buffer, drains it
// in batches, and hands each batch to JS through a thread-safe function.
#pragma once

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "bpf_session.h"

namespace tcptop {

// One hand-off to JS: whole records, back to back, plus the running loss counters.
struct Batch {
	std::vector<uint8_t> block;
	uint64_t dropped = 0; // records the kernel could not write (buffer full)
	uint64_t lost = 0;    // records the perf buffer reported lost
	int error = 0;        // a negative errno if waiting on the buffer or a pass failed
	// Non-zero: the block is a socket pass taken at this CLOCK_MONOTONIC time, not records
	// from the buffer; complete (with owner records) or of full sockets only.
	uint64_t passNs = 0;
	bool passComplete = false;
	uint64_t passCpuNs = 0; // the CPU time the pass took this thread (mostly the kernel's walk)
};

class Poller {
public:
	// JS thread. The function behind `deliver` is called on the JS thread once per batch,
	// as onBatch(block: ArrayBuffer, dropped: number, lost: number, errno: number,
	// passMs: number, passComplete: boolean, passCpuMs: number), passMs being 0 for the
	// buffer's records and the time of a socket pass (CLOCK_MONOTONIC, ms) for a pass's
	// records, and passCpuMs the CPU time the pass took.
	Poller(std::unique_ptr<BpfSession> session, Napi::ThreadSafeFunction deliver);
	// JS thread. Stops the thread after a last drain, detaches the program, and releases
	// `deliver` (batches already queued are still delivered).
	~Poller();

	// JS thread, before any RequestPass(). A pass with owners, taken now (see BpfSession::Pass).
	int Snapshot(std::vector<uint8_t>& block)
	{
		uint64_t helperCpuNs = 0;
		return session_->Pass(true, true, block, helperCpuNs);
	}

	// The passes JS can ask for (requestPass's argument).
	enum class PassKind { counters = 0, complete = 1, listeners = 2 };

	// JS thread. Asks for a pass: complete (with owners), of full sockets only (counters), or
	// of listeners only: the thread takes it after its next drain and delivers it after that
	// drain's batch, so everything recorded before the pass is delivered before it. Requests
	// made while one is pending are one request (the widest asked for).
	void RequestPass(PassKind kind);

	bool AcceptOwners() const { return session_->AcceptOwners(); }
	const std::string& AcceptOwnersProblem() const { return session_->AcceptOwnersProblem(); }

	// JS thread (see BpfSession::DropCounts).
	bool DropCounts(std::vector<uint64_t>& counts) const { return session_->DropCounts(counts); }
	// JS thread (see BpfSession::TakeLive).
	bool TakeLive(std::vector<uint64_t>& sockets, std::vector<tcptop_live>& counts) const
	{
		return session_->TakeLive(sockets, counts);
	}
	uint64_t LiveMissed() const { return session_->LiveMissed(); }

private:
	void Run(); // poller thread
	void Send(Batch* batch); // poller thread
	void TakePass(PassKind kind); // poller thread
	// Poller thread. Sleeps up to timeoutMs; a kernel wakeup, a pass asked for or the stop
	// ends it sooner.
	void Wait(int timeoutMs);
	void Wake(); // any thread: ends the current (or next) Wait

	std::unique_ptr<BpfSession> session_;
	Napi::ThreadSafeFunction deliver_;
	std::atomic<bool> stopping_{false};
	static constexpr int kCountersPass = 1;
	static constexpr int kCompletePass = 2;
	static constexpr int kListenersPass = 4;
	std::atomic<int> passRequested_{0};
	// Bytes handed to JS and not yet delivered: when JS falls this far behind, the thread
	// stops draining, the kernel's buffer fills, and what it cannot hold is counted as
	// dropped instead of growing this process without bound.
	// Shared with the queued deliveries, which may outlive the poller.
	std::shared_ptr<std::atomic<size_t>> pendingBytes_ = std::make_shared<std::atomic<size_t>>(0);
	uint64_t sentDropped_ = 0;
	uint64_t sentLost_ = 0;
	int epollFd_ = -1; // the buffer's wakeups and wakeFd_
	int wakeFd_ = -1;  // an eventfd: a pass asked for, or the stop
	std::thread thread_;
};

} // namespace tcptop
