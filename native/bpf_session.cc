#include "bpf_session.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/tcp.h>
#include <linux/perf_event.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>

#include "net_namespaces.h"
#include "tcptop.h"
#include "tcptop.skel.h"

namespace tcptop {
namespace {

// The perf buffer gets the ring buffer's 8 MiB, split between the CPUs, but at least 1 MiB a
// CPU (a power of two pages each, as perf requires).
constexpr size_t kPerfBufferBytes = 8u << 20;
constexpr size_t kMinPerfBytesPerCpu = 1u << 20;

size_t PerfPagesPerCpu(int cpus)
{
	size_t page = getpagesize();
	size_t pages = 1;
	cpus = cpus < 1 ? 1 : cpus;
	while (pages * 2 * page * cpus <= kPerfBufferBytes) {
		pages *= 2;
	}
	while (pages * page < kMinPerfBytesPerCpu) {
		pages *= 2;
	}
	return pages;
}
constexpr uint32_t kCapPerfmon = 38;
constexpr uint32_t kCapBpf = 39;

// The hook of the first program that should have attached and did not ("tp_btf/kfree_skb"),
// for the message of a failed attach: the skeleton attaches them in order, and stops at the first
// that fails.
std::string UnattachedHook(tcptop_bpf* skel)
{
	const bpf_object_skeleton* skeleton = skel->skeleton;
	for (int i = 0; i < skeleton->prog_cnt; i++) {
		const bpf_prog_skeleton& program = skeleton->progs[i];
		bool wanted = bpf_program__autoload(*program.prog) &&
		              (bpf_program__autoattach(*program.prog) || *program.prog == skel->progs.tcptop_state2);
		if (wanted && *program.link == nullptr) {
			return std::string(bpf_program__section_name(*program.prog)) + " hook";
		}
	}
	return "sock:inet_sock_set_state tracepoint";
}

// Whether the running kernel's release is at least major.minor.
bool KernelAtLeast(int major, int minor)
{
	utsname name = {};
	int hasMajor = 0;
	int hasMinor = 0;
	if (uname(&name) != 0 || sscanf(name.release, "%d.%d", &hasMajor, &hasMinor) != 2) {
		return false;
	}
	return hasMajor > major || (hasMajor == major && hasMinor >= minor);
}

// The oldest kernel the program loads on: every record names its task through
// bpf_get_current_task_btf(), the owner walk calls bpf_sock_from_file() and the socket walk
// bpf_sk_storage_get() from an iterator, all Linux 5.11 (the ring buffer came in 5.8; the perf
// transport goes no lower: the program holds the ring buffer map either way).
constexpr int kOldestMajor = 5;
constexpr int kOldestMinor = 11;

// The running kernel's release when it is older than the oldest tcptop runs on; empty when it
// is not, or when its release does not say (the load then decides).
std::string TooOldKernel()
{
	utsname name = {};
	int major = 0;
	int minor = 0;
	if (uname(&name) != 0 || sscanf(name.release, "%d.%d", &major, &minor) != 2) {
		return "";
	}
	if (major > kOldestMajor || (major == kOldestMajor && minor >= kOldestMinor)) {
		return "";
	}
	return name.release;
}

// libbpf reports through one global print hook; while a session is being set up (on the JS
// thread, one at a time) its output is collected here so it can travel with the error.
// Where libbpf's output goes while this thread sets a session up (a session may load on a
// worker thread while another thread uses libbpf); dropped otherwise: it would land on the
// terminal the live view draws on.
thread_local std::string* collectedLog = nullptr;

int CollectLibbpfOutput(enum libbpf_print_level level, const char* format, va_list args)
{
	if (collectedLog == nullptr || level == LIBBPF_DEBUG) {
		return 0;
	}
	// The verifier's log arrives as one (long) argument: size the text before writing it.
	va_list sizing;
	va_copy(sizing, args);
	int length = vsnprintf(nullptr, 0, format, sizing);
	va_end(sizing);
	if (length > 0) {
		std::string text(length + 1, '\0');
		vsnprintf(text.data(), text.size(), format, args);
		text.pop_back();
		collectedLog->append(text);
	}
	return length;
}

bool HasCapability(const __user_cap_data_struct data[2], uint32_t cap)
{
	return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

// Root, or CAP_BPF with CAP_PERFMON (CAP_SYS_ADMIN also covers both).
bool MayTrace()
{
	__user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
	__user_cap_data_struct data[2] = {};
	if (syscall(SYS_capget, &header, data) != 0) {
		return geteuid() == 0;
	}
	return HasCapability(data, CAP_SYS_ADMIN) ||
	       (HasCapability(data, kCapBpf) && HasCapability(data, kCapPerfmon));
}

void Fail(CaptureError& error, const char* code, const std::string& message)
{
	error.code = code;
	error.message = message;
}

const char* kPermissionHint = "run as root, or grant CAP_BPF and CAP_PERFMON";

constexpr const char* kTracefs = "/sys/kernel/tracing";

bool TracefsMounted()
{
	struct stat st = {};
	return stat("/sys/kernel/tracing/events", &st) == 0 || stat("/sys/kernel/debug/tracing/events", &st) == 0;
}

} // namespace

bool BpfSession::EnsureTracefs()
{
	if (TracefsMounted()) {
		return true;
	}
	if (mount("tracefs", kTracefs, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
		return false;
	}
	mountedTracefs_ = true;
	return true;
}

bool BpfSession::AttachAcceptOwners()
{
	// libbpf resolves a classic tracepoint through tracefs (Load() made sure of it). A second
	// try covers another tcptop unmounting its own mount between the check and the attach.
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!EnsureTracefs()) {
			acceptProblem_ = std::string("tracefs is not mounted and could not be (") + strerror(errno) + ")";
			return false;
		}
		skel_->links.tcptop_accept4 = bpf_program__attach(skel_->progs.tcptop_accept4);
		int code = skel_->links.tcptop_accept4 == nullptr ? errno : 0;
		skel_->links.tcptop_accept = bpf_program__attach(skel_->progs.tcptop_accept);
		code = code != 0 ? code : (skel_->links.tcptop_accept == nullptr ? errno : 0);
		if (code == 0) {
			acceptProblem_.clear();
			return true;
		}
		acceptProblem_ = std::string("cannot attach to the exits of accept() and accept4() (") + strerror(code) + ")";
		bpf_link__destroy(skel_->links.tcptop_accept4);
		bpf_link__destroy(skel_->links.tcptop_accept);
		skel_->links.tcptop_accept4 = nullptr;
		skel_->links.tcptop_accept = nullptr;
	}
	return false;
}

std::unique_ptr<BpfSession> BpfSession::Open(const CaptureOptions& options, CaptureError& error)
{
	std::unique_ptr<BpfSession> session = Load(options, error);
	return session && session->Attach(error) ? std::move(session) : nullptr;
}

std::unique_ptr<BpfSession> BpfSession::Load(const CaptureOptions& options, CaptureError& error)
{
	// What must hold before anything loads, each failure one line saying what to do. What
	// privileges cannot fix is checked first.
	std::string release = TooOldKernel();
	if (!release.empty()) {
		Fail(error, "EKERNEL",
		     "capturing needs Linux " + std::to_string(kOldestMajor) + "." + std::to_string(kOldestMinor) +
		         " or later (this kernel is " + release + "): boot a newer kernel");
		return nullptr;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		Fail(error, "ENOBTF",
		     "this kernel exposes no BTF (/sys/kernel/btf/vmlinux): boot a kernel built with "
		     "CONFIG_DEBUG_INFO_BTF=y");
		return nullptr;
	}
	if (!MayTrace()) {
		Fail(error, "EPERM", std::string("loading the BPF program needs privileges: ") + kPermissionHint);
		return nullptr;
	}

	std::unique_ptr<BpfSession> session(new BpfSession());
	// libbpf finds the classic tracepoints of accept() through tracefs. A host that booted
	// without it mounted (no systemd) gets it mounted where systemd would put it, for this
	// session (the destructor unmounts it); where that fails, asking for them is an error.
	if (options.acceptOwners && !session->EnsureTracefs()) {
		Fail(error, "ENOTRACEFS",
		     std::string("--accept-owners needs tracefs, which is not mounted and could not be (") +
		         strerror(errno) +
		         "): mount -t tracefs nodev /sys/kernel/tracing, or run without --accept-owners");
		return nullptr;
	}
	static std::once_flag printerSet;
	std::call_once(printerSet, [] { libbpf_set_print(CollectLibbpfOutput); });
	collectedLog = &error.log;
	struct StopCollecting {
		~StopCollecting() { collectedLog = nullptr; }
	} stopCollecting;

	// 1. Open.
	tcptop_bpf* skel = tcptop_bpf__open();
	if (skel == nullptr) {
		Fail(error, "EBPFOPEN", std::string("cannot open the BPF object: ") + strerror(errno));
		return nullptr;
	}
	session->skel_ = skel;
	session->onlyNetns_ = options.netns;
	session->foreignWalk_ = options.foreignWalk;

	// 2. Configure: load-time settings become constants the verifier prunes on.
	skel->rodata->target_family = options.family;
	skel->rodata->target_pid = options.pid;
	if (options.pid == 0) {
		// Only the pid setting uses it (it must exist for the programs to load).
		bpf_map__set_max_entries(skel->maps.sockets, 1);
	}
	skel->rodata->target_netns = options.netns;
	skel->rodata->n_lports = options.localPorts.size();
	for (size_t i = 0; i < options.localPorts.size() && i < TCPTOP_MAX_PORTS; i++) {
		skel->rodata->lports[i] = options.localPorts[i];
	}
	skel->rodata->n_rports = options.remotePorts.size();
	for (size_t i = 0; i < options.remotePorts.size() && i < TCPTOP_MAX_PORTS; i++) {
		skel->rodata->rports[i] = options.remotePorts[i];
	}
	bool perf = options.transport == Transport::PerfBuffer;
	// The socket walks' iterators run on demand (Pass()), not as tracepoints.
	bpf_program__set_autoattach(skel->progs.tcptop_snapshot, false);
	// Attached after the first copy, explicitly: the kernel runs a tracepoint's programs in the
	// order they were attached, and the second copy must run after the first (see tcptop_state2).
	bpf_program__set_autoattach(skel->progs.tcptop_state2, false);
	bpf_program__set_autoattach(skel->progs.tcptop_foreign, false);
	// It reads sockets through bpf_rdonly_cast (Linux 6.2): before, counters passes walk the
	// other namespaces' tables.
	bool castable = KernelAtLeast(6, 2);
	bpf_program__set_autoload(skel->progs.tcptop_foreign, castable);
	if (!castable) {
		session->foreignWalk_ = 1;
	}
	bpf_program__set_autoattach(skel->progs.tcptop_owners, false);
	// Loaded only when asked for (they need Linux 6.2), and attached on their own: without
	// them tcptop still runs, knowing fewer owners.
	bpf_program__set_autoload(skel->progs.tcptop_accept4, options.acceptOwners);
	bpf_program__set_autoload(skel->progs.tcptop_accept, options.acceptOwners);
	bpf_program__set_autoattach(skel->progs.tcptop_accept4, false);
	bpf_program__set_autoattach(skel->progs.tcptop_accept, false);
	// skb:kfree_skb names the receiving socket (rx_sk) from Linux 6.11: before, no drops.
	session->dropsTraced_ = KernelAtLeast(6, 11);
	bpf_program__set_autoload(skel->progs.tcptop_drop, session->dropsTraced_);
	// Retransmits are counted by connection (live_counts), and are records of their own for the
	// stream that asks (trace --events).
	skel->rodata->trace_events = options.traceEvents;
	skel->rodata->use_perf = perf;
	bpf_program__set_autoload(skel->progs.tcptop_flush, perf);
	bpf_program__set_autoattach(skel->progs.tcptop_flush, false);
	if (options.passesOnly) {
		// The iterators alone; the buffer must exist for the maps to load, at its minimum.
		bpf_program* program = nullptr;
		bpf_object__for_each_program(program, skel->obj)
		{
			bool walk = program == skel->progs.tcptop_snapshot || program == skel->progs.tcptop_foreign ||
			            program == skel->progs.tcptop_owners;
			if (!walk) {
				bpf_program__set_autoload(program, false);
			}
		}
		perf = false;
		skel->rodata->use_perf = false;
		skel->rodata->pass_notes_sent = false;
		bpf_map__set_max_entries(skel->maps.events, getpagesize());
		session->dropsTraced_ = false;
	} else if (perf) {
		// The ring buffer map must exist for the program to load; keep it at its minimum.
		bpf_map__set_max_entries(skel->maps.events, getpagesize());
		// A stage per CPU, indexed by CPU number.
		int possible = libbpf_num_possible_cpus();
		bpf_map__set_max_entries(skel->maps.perf_stage, possible > 0 ? possible : 1);
	}

	// 3. Load (the verifier runs here). The verifier gives up with EAGAIN when a signal is
	// pending for the loading thread, and a signal can come at any time (SIGWINCH from a
	// terminal being resized, a profiler's SIGPROF): they wait until the load is done.
	sigset_t all;
	sigset_t previousMask;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &previousMask);
	int err = tcptop_bpf__load(skel);
	pthread_sigmask(SIG_SETMASK, &previousMask, nullptr);
	if (err != 0) {
		int code = -err;
		if (code == EPERM) {
			Fail(error, "EPERM",
			     std::string("the kernel refused to load tcptop's BPF program (") + strerror(code) +
			         "): " + kPermissionHint + "; a kernel in lockdown mode refuses it even then");
		} else if (code == ESRCH || code == ENOENT) {
			Fail(error, "ENOTRACEPOINT",
			     "this kernel lacks the sock:inet_sock_set_state tracepoint or another kernel "
			     "symbol tcptop needs; run with --debug to see which");
		} else {
			Fail(error, "EVERIFIER",
			     std::string("the kernel's verifier rejected tcptop's BPF program (") +
			         strerror(code) + "); run with --debug to see the verifier's log");
		}
		return nullptr;
	}
	session->acceptOwnersAsked_ = options.acceptOwners && !options.passesOnly;
	session->perfTransport_ = perf;
	session->passesOnly_ = options.passesOnly;
	return session;
}

bool BpfSession::Attach(CaptureError& error)
{
	collectedLog = &error.log;
	struct StopCollecting {
		~StopCollecting() { collectedLog = nullptr; }
	} stopCollecting;
	tcptop_bpf* skel = skel_;

	// 4. Attach.
	int err = tcptop_bpf__attach(skel);
	if (err == 0 && !passesOnly_) {
		skel->links.tcptop_state2 = bpf_program__attach(skel->progs.tcptop_state2);
		err = skel->links.tcptop_state2 == nullptr ? -errno : 0;
	}
	if (err != 0) {
		int code = -err;
		Fail(error, code == ENOENT ? "ENOTRACEPOINT" : "EATTACH",
		     std::string("cannot attach to the ") + UnattachedHook(skel) + ": " + strerror(code));
		return false;
	}

	acceptOwners_ = acceptOwnersAsked_ && AttachAcceptOwners();

	// 5. Buffer.
	if (perfTransport_) {
		// Wake the consumer only when a CPU's buffer is three quarters full (the default
		// wakes it for every event, which costs the traced host most of its connection
		// rate); the consumer drains it on its timer long before that.
		perf_event_attr attr = {};
		attr.type = PERF_TYPE_SOFTWARE;
		attr.config = PERF_COUNT_SW_BPF_OUTPUT;
		attr.sample_type = PERF_SAMPLE_RAW;
		attr.sample_period = 1;
		attr.watermark = 1;
		// libbpf opens a buffer for each online CPU.
		size_t pagesPerCpu = PerfPagesPerCpu(static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
		attr.wakeup_watermark = pagesPerCpu * getpagesize() / 4 * 3;
		perf_ = perf_buffer__new_raw(bpf_map__fd(skel->maps.perf_events), pagesPerCpu, &attr,
		                             OnPerfEvent, this, nullptr);
		if (perf_ == nullptr) {
			Fail(error, "EBUFFER", std::string("cannot open the perf buffer: ") + strerror(errno));
			return false;
		}
		// Without staging (a kernel that cannot run the flush on a chosen CPU), each record
		// is a sample of its own: correct, only costlier for the traced host.
		StartPerfStaging();
	} else {
		ring_ = ring_buffer__new(bpf_map__fd(skel->maps.events), OnRingRecord, this, nullptr);
		if (ring_ == nullptr) {
			Fail(error, "EBUFFER", std::string("cannot open the ring buffer: ") + strerror(errno));
			return false;
		}
	}

	countersFd_ = bpf_map__fd(skel->maps.counters);
	dropsFd_ = bpf_map__fd(skel->maps.drops);
	liveFd_ = passesOnly_ ? -1 : bpf_map__fd(skel->maps.live_counts);
	cpus_ = libbpf_num_possible_cpus();
	if (cpus_ < 1) {
		cpus_ = 1;
	}
	return true;
}

BpfSession::~BpfSession()
{
	ring_buffer__free(ring_);
	perf_buffer__free(perf_);
	if (perfStages_ != nullptr) {
		munmap(const_cast<uint8_t*>(perfStages_), perfStagesBytes_);
	}
	tcptop_bpf__destroy(skel_); // detaches the links, closes the maps and programs
	if (mountedTracefs_) {
		// Lazily: another tracer may have started using it meanwhile.
		umount2(kTracefs, MNT_DETACH);
	}
}

bool BpfSession::StartPerfStaging()
{
	flushFd_ = bpf_program__fd(skel_->progs.tcptop_flush);
	bpf_map* stages = skel_->maps.perf_stage;
	perfStageStride_ = (bpf_map__value_size(stages) + 7) & ~size_t{7};
	size_t page = getpagesize();
	perfStagesBytes_ = (perfStageStride_ * bpf_map__max_entries(stages) + page - 1) / page * page;
	void* mapped = mmap(nullptr, perfStagesBytes_, PROT_READ, MAP_SHARED, bpf_map__fd(stages), 0);
	if (mapped == MAP_FAILED) {
		return false;
	}
	perfStages_ = static_cast<const uint8_t*>(mapped);
	// Check that the flush runs on a chosen CPU (Linux 5.10 and later) before staging anything.
	LIBBPF_OPTS(bpf_test_run_opts, run, .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = 0);
	if (bpf_prog_test_run_opts(flushFd_, &run) != 0) {
		munmap(mapped, perfStagesBytes_);
		perfStages_ = nullptr;
		return false;
	}
	skel_->bss->perf_staging = true;
	return true;
}

void BpfSession::FlushPerfStages()
{
	for (unsigned cpu = 0; cpu < bpf_map__max_entries(skel_->maps.perf_stage); cpu++) {
		// A stage's first field is its count; a stale zero leaves its records for the next drain.
		auto count = reinterpret_cast<const volatile uint32_t*>(perfStages_ + cpu * perfStageStride_);
		if (*count == 0) {
			continue;
		}
		// A flush that lands while a handler writes the stage leaves it; the handler is done
		// within microseconds, and a stage left for the next drain would put its records a
		// batch after later ones from other CPUs.
		for (int attempt = 0; attempt < 8; attempt++) {
			LIBBPF_OPTS(bpf_test_run_opts, run, .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = cpu);
			// Fails only for a CPU gone offline: its stage's records cannot be sent while it is,
			// and are counted lost once (should the CPU come back, they arrive after all).
			if (bpf_prog_test_run_opts(flushFd_, &run) != 0) {
				if (strandedCpus_.insert(cpu).second) {
					lost_ += *count;
				}
				break;
			}
			strandedCpus_.erase(cpu);
			if (run.retval != TCPTOP_FLUSH_BUSY) {
				break;
			}
		}
	}
}

int BpfSession::WakeupFd() const
{
	return ring_ != nullptr ? ring_buffer__epoll_fd(ring_) : perf_buffer__epoll_fd(perf_);
}

int BpfSession::Drain(std::vector<uint8_t>& block)
{
	block_ = &block;
	// The consume drains everything waiting, the perf stages' records included.
	if (perfStages_ != nullptr) {
		FlushPerfStages();
	}
	int err = ring_ != nullptr ? ring_buffer__consume(ring_) : perf_buffer__consume(perf_);
	block_ = nullptr;
	return err < 0 ? err : 0;
}

namespace {

// Appends everything an iterator's file holds to `block`, read straight into the block's end.
int ReadIteratorFile(int fd, std::vector<uint8_t>& block)
{
	// Each read returns whole records or the rest of one; appending them keeps the block whole.
	constexpr size_t kReadBytes = 64 * 1024;
	for (;;) {
		// resize() grows the capacity geometrically: appends stay amortised constant.
		size_t used = block.size();
		block.resize(used + kReadBytes);
		ssize_t length = read(fd, block.data() + used, kReadBytes);
		block.resize(used + (length > 0 ? length : 0));
		if (length < 0 && errno == EINTR) {
			continue;
		}
		if (length <= 0) {
			return length < 0 ? -errno : 0;
		}
	}
}

// Runs an iterator program once and appends everything it writes to `block`.
int ReadIterator(bpf_program* program, std::vector<uint8_t>& block)
{
	bpf_link* link = bpf_program__attach_iter(program, nullptr);
	if (link == nullptr) {
		return -errno;
	}
	int err = 0;
	int fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
	} else {
		err = ReadIteratorFile(fd, block);
		close(fd);
	}
	bpf_link__destroy(link);
	return err;
}

// Whether the calling thread's network namespace holds no TCP socket at all, as its own
// counters say (/proc/thread-self/net/sockstat: "TCP: inuse N orphan N tw N ..."; inuse and tw
// are the namespace's). A walk costs the same whatever a namespace holds: it goes through the
// host's whole hash table, whose size the host's memory sets (a few ms at 262,144 buckets).
// A thread that cannot go back to its own network namespace would walk, and connect, in
// another: tcptop stops rather than go on there.
[[noreturn]] void ReturnFailed()
{
	fprintf(stderr, "tcptop: cannot return to its own network namespace: %s\n", strerror(errno));
	abort();
}

// A /proc/net file of the calling thread's namespace, whole; false when there is none.
bool ReadProcNet(const char* file, std::string& text)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/thread-self/net/%s", file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return false;
	}
	char buffer[1024];
	ssize_t length = read(fd, buffer, sizeof(buffer));
	close(fd);
	text.assign(buffer, length > 0 ? length : 0);
	return true;
}

// The number after `label` in such a file's text; -1 when it has none.
long CountAfter(const std::string& text, const char* label)
{
	size_t at = text.find(label);
	long count = -1;
	return at != std::string::npos && sscanf(text.c_str() + at + strlen(label), "%ld", &count) == 1 ? count : -1;
}

// The TCP sockets of the calling thread's namespace, as its own counters say
// (/proc/thread-self/net/sockstat: "TCP: inuse N orphan N tw N ..."; inuse and tw are the
// namespace's; sockstat6 the IPv6 sockets in use, and a kernel without IPv6 has no such file);
// -1 when they do not say.
long TcpSocketsInUse()
{
	std::string v4;
	std::string v6;
	long v6InUse = ReadProcNet("sockstat6", v6) ? CountAfter(v6, "TCP6: inuse ") : 0;
	long v4InUse = ReadProcNet("sockstat", v4) ? CountAfter(v4, "TCP: inuse ") : -1;
	long timeWait = v4InUse >= 0 ? CountAfter(v4, " tw ") : -1;
	return v6InUse < 0 || v4InUse < 0 || timeWait < 0 ? -1 : v6InUse + v4InUse + timeWait;
}

bool NoTcpSockets()
{
	return TcpSocketsInUse() == 0;
}

// Whether `space` holds any TCP socket: the calling thread enters it for that moment.
bool HoldsTcpSockets(const NetNamespace& space, const NetNamespace& own)
{
	if (EnterNetNamespace(space.fd) != 0) {
		return false;
	}
	bool holds = !NoTcpSockets();
	if (EnterNetNamespace(own.fd) != 0) {
		ReturnFailed();
	}
	return holds;
}

// An iterator's file over the sockets of `space`: the kernel takes the namespace of the
// thread that creates it, so the thread enters it for that moment (`own`: its own). Returns
// -ENODATA, without one, for a namespace without TCP sockets.
int CreateIteratorIn(int linkFd, const NetNamespace& space, const NetNamespace& own)
{
	if (space.fd != own.fd) {
		int err = EnterNetNamespace(space.fd);
		if (err != 0) {
			return err;
		}
	}
	int fd = NoTcpSockets() ? -ENODATA : bpf_iter_create(linkFd);
	if (fd < 0 && fd != -ENODATA) {
		fd = -errno;
	}
	// Back home, or every later pass and connection of this thread would be the other namespace's.
	if (space.fd != own.fd && EnterNetNamespace(own.fd) != 0) {
		ReturnFailed();
	}
	return fd;
}

uint64_t ThreadCpuNs()
{
	timespec now = {};
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
	return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
}

} // namespace

int BpfSession::Pass(bool complete, bool owners, std::vector<uint8_t>& block, uint64_t& helperCpuNs)
{
	skel_->bss->pass_changed_only = !complete;
	// The owner walk (every open file of every process) runs on a thread of its own, alongside
	// the socket walk: on a host of 100,000 sockets they take about 90 and 150 ms.
	// The first complete pass is sized from the namespace's count of sockets (as many owner
	// records again), later ones from the last: grown as it is read, a block of 100,000 sockets
	// would be copied and faulted in several times over.
	long inUse = complete && lastCompleteBytes_ == 0 ? TcpSocketsInUse() : 0;
	size_t expected = inUse > 0 ? static_cast<size_t>(inUse) * sizeof(tcptop_record) : 0;
	std::vector<uint8_t> ownerBlock;
	int ownersErr = 0;
	std::thread ownerWalk;
	if (owners) {
		try {
			ownerWalk = std::thread([&] {
				ownerBlock.reserve(expected);
				uint64_t before = ThreadCpuNs();
				ownersErr = ReadIterator(skel_->progs.tcptop_owners, ownerBlock);
				helperCpuNs = ThreadCpuNs() - before;
			});
		} catch (const std::system_error&) {
			// No thread to be had (the process at its limit): the owner walk follows the other.
		}
	}
	if (complete) {
		block.reserve(block.size() + (inUse > 0 ? 2 * expected : lastCompleteBytes_) + sizeof(tcptop_counts_record));
	}
	int err = WalkSockets(block, complete);
	if (ownerWalk.joinable()) {
		ownerWalk.join();
		err = err != 0 ? err : ownersErr;
		block.insert(block.end(), ownerBlock.begin(), ownerBlock.end());
	} else if (owners && err == 0) {
		uint64_t before = ThreadCpuNs();
		err = ReadIterator(skel_->progs.tcptop_owners, block);
		helperCpuNs = ThreadCpuNs() - before;
	}
	if (err != 0) {
		return err;
	}
	if (complete) {
		lastCompleteBytes_ = block.size();
	}
	if (complete && owners) {
		filesNs_ = helperCpuNs;
	}
	return 0;
}

int BpfSession::ListenersPass(std::vector<uint8_t>& block)
{
	skel_->bss->pass_listeners_only = true;
	int err = WalkSockets(block, false, true);
	skel_->bss->pass_listeners_only = false;
	return err;
}

int BpfSession::WalkSockets(std::vector<uint8_t>& block, bool complete, bool listenersOnly)
{
	bpf_link* link = bpf_program__attach_iter(skel_->progs.tcptop_snapshot, nullptr);
	if (link == nullptr) {
		return -errno;
	}
	// A complete pass looks for every namespace (a link read per process); a counters pass
	// opens again those the last complete pass found (an open per namespace): one born since
	// waits for the next complete pass, as its sockets' reconciliation does.
	std::vector<NetNamespace> namespaces =
	    complete || knownNamespaces_.empty() ? ListNetNamespaces() : ReopenNetNamespaces(knownNamespaces_);
	if (namespaces.empty()) {
		bpf_link__destroy(link);
		return -ENOENT; // not even our own: no /proc
	}
	if (complete) {
		knownNamespaces_ = namespaces;
		for (NetNamespace& space : knownNamespaces_) {
			space.fd = -1; // the paths only: a descriptor would keep the namespace alive
		}
	}
	const NetNamespace& own = namespaces.front();
	// Each namespace's tables cost a walk of the host's whole hash table. A counters pass walks
	// the other namespaces' tables, or the processes' open files (tcptop_foreign) when those
	// cost less by the last complete pass (whose owner walk went through the same files): a
	// walk of the files sends every connection it finds, changed or not, for JavaScript to
	// read (about a microsecond each), where a walk of the tables sends the changed ones.
	constexpr uint64_t kRecordReadNs = 1000;
	bool byFiles = !complete && !listenersOnly && onlyNetns_ == 0 &&
	               (foreignWalk_ == 0 ? foreignTablesNs_ > filesNs_ + foreignConnections_ * kRecordReadNs
	                                  : foreignWalk_ == 2);
	int err = 0;
	bool foreign = false; // whether another namespace holds TCP sockets, walking by files
	uint64_t foreignNs = 0;
	uint64_t foreignConnections = 0;
	for (const NetNamespace& space : namespaces) {
		if (onlyNetns_ != 0 && space.inode != onlyNetns_) {
			continue;
		}
		// A listeners pass walks its own namespace (or the one asked for): past the listeners, a
		// walk of another finds the first of its connections only after going through the
		// host's. Other namespaces' listeners come with the processes' files (tcptop_foreign).
		if (listenersOnly && onlyNetns_ == 0 && &space != &own) {
			continue;
		}
		if (byFiles && &space != &own) {
			foreign = foreign || HoldsTcpSockets(space, own);
			continue;
		}
		uint64_t startedNs = ThreadCpuNs();
		timespec walkedAt = {};
		clock_gettime(CLOCK_MONOTONIC, &walkedAt);
		uint64_t walkedAtNs = static_cast<uint64_t>(walkedAt.tv_sec) * 1000000000u + walkedAt.tv_nsec;
		int fd = CreateIteratorIn(bpf_link__fd(link), space, own);
		// Another namespace may be gone already (its last process exited), or out of reach
		// (entering one takes CAP_SYS_ADMIN): left out. Not ours, nor the one asked for.
		if (fd < 0 && fd != -ENODATA && (&space == &own || onlyNetns_ != 0)) {
			err = fd;
			break;
		}
		if (fd < 0 && fd != -ENODATA) {
			continue;
		}
		memset(skel_->bss->pass_state_counts, 0, sizeof(skel_->bss->pass_state_counts));
		if (fd >= 0) {
			err = ReadIteratorFile(fd, block);
			close(fd);
		}
		// Past the listeners, the walk ends itself with E2BIG (see tcptop_snapshot).
		if (listenersOnly && err == -E2BIG) {
			err = 0;
		}
		if (err != 0) {
			break;
		}
		if (listenersOnly) {
			continue; // nothing counted
		}
		// The namespace's sockets are followed by its counts, stamped with when its walk began.
		tcptop_counts_record counts = {};
		memcpy(counts.header + offsetof(tcptop_record, ts_ns), &walkedAtNs, sizeof(walkedAtNs));
		counts.header[offsetof(tcptop_record, type)] = TCPTOP_RECORD_COUNTS;
		memcpy(counts.header + offsetof(tcptop_record, netns), &space.inode, sizeof(space.inode));
		memcpy(counts.state_counts, skel_->bss->pass_state_counts, sizeof(counts.state_counts));
		auto* bytes = reinterpret_cast<const uint8_t*>(&counts);
		block.insert(block.end(), bytes, bytes + sizeof(counts));
		if (&space != &own) {
			foreignNs += ThreadCpuNs() - startedNs;
			for (uint32_t state = TCP_ESTABLISHED; state <= TCP_CLOSING; state++) {
				bool connection = state != TCP_TIME_WAIT && state != TCP_CLOSE && state != TCP_LISTEN;
				foreignConnections += connection ? counts.state_counts[state - 1] : 0;
			}
		}
	}
	if (complete && err == 0) {
		foreignTablesNs_ = foreignNs;
		foreignConnections_ = foreignConnections;
	}
	uint32_t ownInode = own.inode;
	CloseNetNamespaces(namespaces);
	bpf_link__destroy(link);
	if (err == 0 && foreign) {
		skel_->bss->pass_own_netns = ownInode;
		err = ReadIterator(skel_->progs.tcptop_foreign, block);
	}
	return err;
}

uint64_t BpfSession::Counter(uint32_t index) const
{
	std::vector<uint64_t> perCpu(cpus_);
	if (bpf_map_lookup_elem(countersFd_, &index, perCpu.data()) != 0) {
		return 0;
	}
	uint64_t total = 0;
	for (uint64_t count : perCpu) {
		total += count;
	}
	return total;
}

bool BpfSession::DropCounts(std::vector<uint64_t>& counts) const
{
	if (!dropsTraced_) {
		return false;
	}
	// Every slot of every CPU in one call.
	std::vector<uint32_t> keys(TCPTOP_DROP_SLOTS);
	std::vector<uint64_t> perCpu(static_cast<size_t>(TCPTOP_DROP_SLOTS) * cpus_);
	uint32_t outBatch = 0;
	uint32_t read = TCPTOP_DROP_SLOTS;
	LIBBPF_OPTS(bpf_map_batch_opts, options);
	int err = bpf_map_lookup_batch(dropsFd_, nullptr, &outBatch, keys.data(), perCpu.data(), &read, &options);
	if (err != 0 && errno != ENOENT) {
		return false;
	}
	counts.assign(TCPTOP_DROP_SLOTS, 0);
	for (uint32_t i = 0; i < read; i++) {
		if (keys[i] >= TCPTOP_DROP_SLOTS) {
			continue;
		}
		for (int cpu = 0; cpu < cpus_; cpu++) {
			counts[keys[i]] += perCpu[static_cast<size_t>(i) * cpus_ + cpu];
		}
	}
	return true;
}

bool BpfSession::TakeLive(std::vector<uint64_t>& sockets, std::vector<tcptop_live>& counts) const
{
	if (liveFd_ < 0) {
		return false;
	}
	sockets.clear();
	counts.clear();
	// Taken and deleted a batch at a time; the kernel adds entries meanwhile (taken next time).
	constexpr uint32_t kBatch = 4096;
	std::vector<uint64_t> keys(kBatch);
	std::vector<tcptop_live> values(kBatch);
	uint64_t inBatch = 0;
	uint64_t outBatch = 0;
	bool first = true;
	for (;;) {
		uint32_t read = kBatch;
		LIBBPF_OPTS(bpf_map_batch_opts, options);
		int err = bpf_map_lookup_and_delete_batch(liveFd_, first ? nullptr : &inBatch, &outBatch, keys.data(),
		                                          values.data(), &read, &options);
		if (err != 0 && errno != ENOENT) {
			return false;
		}
		sockets.insert(sockets.end(), keys.begin(), keys.begin() + read);
		counts.insert(counts.end(), values.begin(), values.begin() + read);
		if (err != 0) {
			return true; // ENOENT: the last batch
		}
		inBatch = outBatch;
		first = false;
	}
}

std::vector<std::string> DropReasonNames()
{
	std::vector<std::string> names(TCPTOP_DROP_SLOTS);
	btf* kernel = btf__load_vmlinux_btf();
	if (kernel == nullptr) {
		return names;
	}
	constexpr const char* kPrefix = "SKB_DROP_REASON_";
	int id = btf__find_by_name_kind(kernel, "skb_drop_reason", BTF_KIND_ENUM);
	const btf_type* type = id > 0 ? btf__type_by_id(kernel, id) : nullptr;
	if (type != nullptr) {
		const struct btf_enum* values = btf_enum(type);
		for (unsigned i = 0; i < btf_vlen(type); i++) {
			auto value = static_cast<uint32_t>(values[i].val);
			std::string name = btf__name_by_offset(kernel, values[i].name_off);
			if (value == 0 || value >= TCPTOP_DROP_SLOTS || name.rfind(kPrefix, 0) != 0) {
				continue;
			}
			names[value] = name.substr(strlen(kPrefix));
		}
	}
	btf__free(kernel);
	return names;
}

namespace {

// Runs of a program the kernel skipped because it was already running on that CPU.
uint64_t RecursionMisses(bpf_program* program)
{
	bpf_prog_info info = {};
	uint32_t length = sizeof(info);
	return bpf_obj_get_info_by_fd(bpf_program__fd(program), &info, &length) == 0 ? info.recursion_misses : 0;
}

} // namespace

uint64_t BpfSession::Dropped()
{
	// Changes the first program missed (it was already running on that CPU: the kernel's
	// recursion_misses) that the second did not rescue. Misses are read before rescues, so
	// a rescue is never counted without its miss: the difference can fall short for a
	// moment but never overshoots, and its running maximum only grows.
	uint64_t misses = RecursionMisses(skel_->progs.tcptop_state);
	uint64_t rescued = Counter(TCPTOP_COUNTER_RESCUED);
	if (misses > rescued && misses - rescued > unrescued_) {
		unrescued_ = misses - rescued;
	}
	// The reset handlers have no second copy: each of their misses is a reset not recorded.
	uint64_t resetsMissed = RecursionMisses(skel_->progs.tcptop_reset_sent) +
	                        RecursionMisses(skel_->progs.tcptop_reset_received);
	return Counter(TCPTOP_COUNTER_DROPPED) + unrescued_ + resetsMissed;
}

int BpfSession::OnRingRecord(void* ctx, void* data, size_t size)
{
	auto* self = static_cast<BpfSession*>(ctx);
	if (size >= TCPTOP_RECORD_SIZE) {
		auto* bytes = static_cast<const uint8_t*>(data);
		self->block_->insert(self->block_->end(), bytes, bytes + TCPTOP_RECORD_SIZE);
	}
	return 0;
}

enum bpf_perf_event_ret BpfSession::OnPerfEvent(void* ctx, int /*cpu*/, struct perf_event_header* event)
{
	auto* self = static_cast<BpfSession*>(ctx);
	if (event->type == PERF_RECORD_SAMPLE) {
		// PERF_SAMPLE_RAW: the header, a u32 size, then the record (padded to 8 bytes).
		struct RawSample {
			perf_event_header header;
			uint32_t size;
			uint8_t data[];
		};
		// A sample carries one record or a stage's worth (padding after them: ignored).
		auto* sample = reinterpret_cast<RawSample*>(event);
		size_t records = sample->size / TCPTOP_RECORD_SIZE;
		self->block_->insert(self->block_->end(), sample->data,
		                     sample->data + records * TCPTOP_RECORD_SIZE);
	} else if (event->type == PERF_RECORD_LOST) {
		struct LostRecord {
			perf_event_header header;
			uint64_t id;
			uint64_t lost;
		};
		self->lost_ += reinterpret_cast<LostRecord*>(event)->lost;
	}
	return LIBBPF_PERF_EVENT_CONT;
}

} // namespace tcptop
