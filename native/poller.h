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
	int error = 0;        // a negative errno if waiting on the buffer failed
};

class Poller {
public:
	// JS thread. The function behind `deliver` is called on the JS thread once per batch,
	// as onBatch(block: ArrayBuffer, dropped: number, lost: number, errno: number).
	Poller(std::unique_ptr<BpfSession> session, Napi::ThreadSafeFunction deliver);
	// JS thread. Stops the thread after a last drain, detaches the program, and releases
	// `deliver` (batches already queued are still delivered).
	~Poller();

	// JS thread. See BpfSession::Snapshot.
	int Snapshot(std::vector<uint8_t>& block) { return session_->Snapshot(block); }

private:
	void Run(); // poller thread
	void Send(Batch* batch); // poller thread

	std::unique_ptr<BpfSession> session_;
	Napi::ThreadSafeFunction deliver_;
	std::atomic<bool> stopping_{false};
	// Bytes handed to JS and not yet delivered: when JS falls this far behind, the thread
	// stops draining, the kernel's buffer fills, and what it cannot hold is counted as
	// dropped instead of growing this process without bound.
	// Shared with the queued deliveries, which may outlive the poller.
	std::shared_ptr<std::atomic<size_t>> pendingBytes_ = std::make_shared<std::atomic<size_t>>(0);
	uint64_t sentDropped_ = 0;
	uint64_t sentLost_ = 0;
	std::thread thread_;
};

} // namespace tcptop
