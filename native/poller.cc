#include "poller.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>

namespace tcptop {
namespace {

// Why a thread and not uv_poll on the buffer's epoll fd: the drain must not wait for the JS
// thread. With uv_poll, a slow frame or a long GC pause on the JS thread stops the draining
// and the kernel's buffer overflows; with this thread, JS can stall for seconds (measured: a
// JS thread blocked for the whole of a 2 s run at 300,000 changes/s lost nothing) and only
// finished blocks queue up for it, bounded by kMaxPendingBytes.
//
// How long the thread sleeps between drains while records come: they reach JS at most this
// late. Measured here (bench/README.md): draining every 10 ms without per-record wakeups
// keeps the traced host near 90 % of its untraced connection rate, where a wakeup per record
// costs it half or more. Drains that find nothing double the sleep up to kIdleDrainIntervalMs
// (an idle host costs a tenth of the wakeups); the first records bring it back to 10 ms, and
// the kernel wakes the thread at once if its buffer fills past a high mark meanwhile (a
// quarter of the ring buffer: a quarter of a second of records at 200,000 changes/s; three
// quarters of a CPU's perf buffer).
constexpr int kDrainIntervalMs = 10;
constexpr int kIdleDrainIntervalMs = 100;
constexpr size_t kMaxPendingBytes = 64u << 20;
constexpr size_t kInitialBlockBytes = 64u << 10;

} // namespace

Poller::Poller(std::unique_ptr<BpfSession> session, Napi::ThreadSafeFunction deliver)
    : session_(std::move(session)), deliver_(std::move(deliver))
{
	// Without them the thread still drains on its timer; only sooner wakeups are lost.
	wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	epollFd_ = epoll_create1(EPOLL_CLOEXEC);
	for (int fd : {wakeFd_, session_->WakeupFd()}) {
		epoll_event event = {};
		event.events = EPOLLIN;
		event.data.fd = fd;
		if (fd >= 0 && epollFd_ >= 0) {
			epoll_ctl(epollFd_, EPOLL_CTL_ADD, fd, &event);
		}
	}
	thread_ = std::thread(&Poller::Run, this);
}

Poller::~Poller()
{
	stopping_ = true;
	Wake();
	thread_.join();
	session_.reset();
	deliver_.Release();
	for (int fd : {epollFd_, wakeFd_}) {
		if (fd >= 0) {
			close(fd);
		}
	}
}

void Poller::RequestPass(PassKind kind)
{
	passRequested_ |= kind == PassKind::complete ? kCompletePass : (kind == PassKind::counters ? kCountersPass : kListenersPass);
	Wake();
}

void Poller::Wake()
{
	uint64_t one = 1;
	if (wakeFd_ >= 0 && write(wakeFd_, &one, sizeof(one)) < 0) {
		// Full (it never is: the thread reads it on every wait) or closed: the timer still runs.
	}
}

void Poller::Wait(int timeoutMs)
{
	if (epollFd_ < 0) {
		std::this_thread::sleep_for(std::chrono::milliseconds(timeoutMs));
		return;
	}
	epoll_event events[2];
	int ready = epoll_wait(epollFd_, events, 2, timeoutMs);
	for (int index = 0; index < ready; index++) {
		if (events[index].data.fd == wakeFd_) {
			uint64_t count = 0;
			if (read(wakeFd_, &count, sizeof(count)) < 0) {
				// Already read: nothing waits.
			}
		}
	}
}

void Poller::Run()
{
	bool last = false;
	int interval = kDrainIntervalMs;
	while (!last) {
		// Read the flag before draining, so the drain after it is seen set is the last one.
		last = stopping_;
		if (!last && *pendingBytes_ > kMaxPendingBytes) {
			Wait(kDrainIntervalMs);
			continue;
		}
		if (!last && passRequested_ == 0) {
			Wait(interval);
		}
		auto* batch = new Batch();
		batch->block.reserve(kInitialBlockBytes);
		batch->error = session_->Drain(batch->block);
		batch->dropped = session_->Dropped();
		batch->lost = session_->Lost();
		interval = batch->block.empty() ? std::min(2 * interval, kIdleDrainIntervalMs) : kDrainIntervalMs;
		bool news = !batch->block.empty() || batch->error != 0 || batch->dropped != sentDropped_ ||
		            batch->lost != sentLost_;
		if (news) {
			Send(batch);
		} else {
			delete batch;
		}
		int pass = last ? 0 : passRequested_.exchange(0);
		if (pass != 0) {
			// A counters pass lists the listeners too.
			TakePass((pass & kCompletePass) != 0 ? PassKind::complete
			                                     : ((pass & kCountersPass) != 0 ? PassKind::counters : PassKind::listeners));
		}
	}
}

void Poller::TakePass(PassKind kind)
{
	bool complete = kind == PassKind::complete;
	auto* pass = new Batch();
	pass->passComplete = complete;
	timespec now = {};
	clock_gettime(CLOCK_MONOTONIC, &now);
	pass->passNs = static_cast<uint64_t>(now.tv_sec) * 1000000000u + now.tv_nsec;
	// A complete pass also names the processes holding each socket (the owners of accepted
	// connections, without tracing accept()).
	timespec cpuBefore = {};
	timespec cpuAfter = {};
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpuBefore);
	uint64_t helperCpuNs = 0;
	pass->error = kind == PassKind::listeners ? session_->ListenersPass(pass->block)
	                                          : session_->Pass(complete, complete, pass->block, helperCpuNs);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpuAfter);
	pass->passCpuNs = static_cast<uint64_t>(cpuAfter.tv_sec - cpuBefore.tv_sec) * 1000000000u +
	                  static_cast<uint64_t>(cpuAfter.tv_nsec) - static_cast<uint64_t>(cpuBefore.tv_nsec) +
	                  helperCpuNs;
	pass->dropped = sentDropped_;
	pass->lost = sentLost_;
	Send(pass);
}

void Poller::Send(Batch* batch)
{
	sentDropped_ = batch->dropped;
	sentLost_ = batch->lost;
	size_t bytes = batch->block.size();
	std::shared_ptr<std::atomic<size_t>> pending = pendingBytes_;
	*pending += bytes;
	auto callJs = [pending, bytes](Napi::Env env, Napi::Function onBatch, Batch* batch) {
		*pending -= bytes;
		if (env == nullptr) { // the function is being torn down with the environment
			delete batch;
			return;
		}
		// The ArrayBuffer takes the block over without a copy and frees it when collected. An
		// empty block (a listeners pass of a namespace without listeners) has no data, and V8
		// makes an external buffer without data a detached one: it gets a buffer of its own.
		uint8_t* data = batch->block.data();
		Napi::ArrayBuffer block = data == nullptr
		    ? Napi::ArrayBuffer::New(env, 0)
		    : Napi::ArrayBuffer::New(
		          env, data, batch->block.size(), [](Napi::Env, void*, Batch* owner) { delete owner; },
		          batch);
		onBatch.Call({block, Napi::Number::New(env, static_cast<double>(batch->dropped)),
		              Napi::Number::New(env, static_cast<double>(batch->lost)),
		              Napi::Number::New(env, batch->error),
		              Napi::Number::New(env, static_cast<double>(batch->passNs) / 1e6),
		              Napi::Boolean::New(env, batch->passComplete),
		              Napi::Number::New(env, static_cast<double>(batch->passCpuNs) / 1e6)});
		if (data == nullptr) {
			delete batch;
		}
	};
	if (deliver_.NonBlockingCall(batch, callJs) != napi_ok) {
		*pending -= bytes;
		delete batch;
	}
}

} // namespace tcptop
