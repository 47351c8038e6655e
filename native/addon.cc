// Node-API glue only: turns JS options into CaptureOptions, errors into JS errors with a
// code, and batches into ArrayBuffers. The work lives in BpfSession and Poller.
#include <napi.h>

#include <malloc.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>

#include "bpf_session.h"
#include "poller.h"
#include "tcptop.h"

namespace tcptop {
namespace {

std::vector<uint16_t> PortList(const Napi::Object& options, const char* name)
{
	std::vector<uint16_t> ports;
	Napi::Value value = options.Get(name);
	if (!value.IsArray()) {
		return ports;
	}
	auto array = value.As<Napi::Array>();
	if (array.Length() > TCPTOP_MAX_PORTS) {
		throw Napi::RangeError::New(options.Env(), std::string(name) + ": at most " +
		                                               std::to_string(TCPTOP_MAX_PORTS) + " ports");
	}
	for (uint32_t i = 0; i < array.Length(); i++) {
		ports.push_back(array.Get(i).As<Napi::Number>().Uint32Value());
	}
	return ports;
}

CaptureOptions ParseOptions(const Napi::Object& options)
{
	CaptureOptions parsed;
	Napi::Value transport = options.Get("transport");
	if (transport.IsString() && transport.As<Napi::String>().Utf8Value() == "perf") {
		parsed.transport = Transport::PerfBuffer;
	}
	Napi::Value family = options.Get("family");
	if (family.IsNumber()) {
		uint32_t version = family.As<Napi::Number>().Uint32Value();
		parsed.family = version == 4 ? AF_INET : version == 6 ? AF_INET6 : 0;
	}
	Napi::Value pid = options.Get("pid");
	if (pid.IsNumber()) {
		parsed.pid = pid.As<Napi::Number>().Uint32Value();
	}
	Napi::Value netns = options.Get("netns");
	if (netns.IsNumber()) {
		parsed.netns = netns.As<Napi::Number>().Uint32Value();
	}
	Napi::Value foreignWalk = options.Get("foreignWalk");
	if (foreignWalk.IsString()) {
		std::string walk = foreignWalk.As<Napi::String>().Utf8Value();
		parsed.foreignWalk = walk == "tables" ? 1 : walk == "files" ? 2 : 0;
	}
	Napi::Value acceptOwners = options.Get("acceptOwners");
	if (acceptOwners.IsBoolean()) {
		parsed.acceptOwners = acceptOwners.As<Napi::Boolean>().Value();
	}
	Napi::Value traceEvents = options.Get("traceEvents");
	if (traceEvents.IsBoolean()) {
		parsed.traceEvents = traceEvents.As<Napi::Boolean>().Value();
	}
	Napi::Value passesOnly = options.Get("passesOnly");
	if (passesOnly.IsBoolean()) {
		parsed.passesOnly = passesOnly.As<Napi::Boolean>().Value();
	}
	parsed.localPorts = PortList(options, "localPorts");
	parsed.remotePorts = PortList(options, "remotePorts");
	return parsed;
}

// A JS error for a session that could not start: its code, and libbpf's output (--debug).
Napi::Value CaptureErrorValue(Napi::Env env, const CaptureError& error)
{
	Napi::Error jsError = Napi::Error::New(env, error.message);
	jsError.Set("code", Napi::String::New(env, error.code));
	jsError.Set("libbpfLog", Napi::String::New(env, error.log));
	return jsError.Value();
}

// A session loaded by load(), waiting for a Capture to attach it (or for the collector).
struct LoadedSession {
	std::unique_ptr<BpfSession> session;
};

// Marks the externals load() makes, so a Capture takes no other for one.
constexpr napi_type_tag kLoadedSessionTag = {0x7463707470746f70, 0x6c6f616465640001};

// load(options): a promise of a loaded session, the programs verified on a worker thread
// while the JS thread goes on (loading the rest of tcptop, say); new Capture() attaches it.
class LoadWorker : public Napi::AsyncWorker {
public:
	LoadWorker(Napi::Env env, CaptureOptions options)
	    : Napi::AsyncWorker(env, "tcptop-load"), options_(std::move(options)),
	      deferred_(Napi::Promise::Deferred::New(env))
	{
	}

	Napi::Promise Promise() const { return deferred_.Promise(); }

protected:
	void Execute() override { session_ = BpfSession::Load(options_, error_); }

	void OnOK() override
	{
		Napi::Env env = Env();
		if (!session_) {
			deferred_.Reject(CaptureErrorValue(env, error_));
			return;
		}
		auto loaded = Napi::External<LoadedSession>::New(
		    env, new LoadedSession{std::move(session_)},
		    [](Napi::Env, LoadedSession* owned) { delete owned; });
		napi_type_tag_object(env, loaded, &kLoadedSessionTag);
		deferred_.Resolve(loaded);
	}

private:
	CaptureOptions options_;
	CaptureError error_;
	std::unique_ptr<BpfSession> session_;
	Napi::Promise::Deferred deferred_;
};

Napi::Value Load(const Napi::CallbackInfo& info)
{
	Napi::Env env = info.Env();
	if (!info[0].IsObject()) {
		throw Napi::TypeError::New(env, "load(options)");
	}
	auto* worker = new LoadWorker(env, ParseOptions(info[0].As<Napi::Object>()));
	Napi::Promise promise = worker->Promise();
	worker->Queue(); // deletes itself once done
	return promise;
}

// The session a load() promise gave, taken out of its handle; throws for anything else, or
// for a handle already taken.
std::unique_ptr<BpfSession> TakeLoaded(Napi::Env env, Napi::Value value)
{
	bool tagged = false;
	if (value.IsExternal()) {
		napi_check_object_type_tag(env, value, &kLoadedSessionTag, &tagged);
	}
	if (!tagged) {
		throw Napi::TypeError::New(env, "new Capture(options or a loaded session, onBatch, onClose)");
	}
	LoadedSession* loaded = value.As<Napi::External<LoadedSession>>().Data();
	if (!loaded->session) {
		throw Napi::Error::New(env, "this loaded session is already attached");
	}
	return std::move(loaded->session);
}

// new Capture(options or load()'s session, onBatch(block, dropped, lost, errno, passMs,
// passComplete, passCpuMs), onClose())
// A running capture keeps the process alive until stop() is called.
class Capture : public Napi::ObjectWrap<Capture> {
public:
	static Napi::Function Define(Napi::Env env)
	{
		return DefineClass(env, "Capture", {
		    InstanceMethod<&Capture::Stop>("stop"),
		    InstanceMethod<&Capture::Snapshot>("snapshot"),
		    InstanceMethod<&Capture::RequestPass>("requestPass"),
		    InstanceMethod<&Capture::DropCounts>("dropCounts"),
		    InstanceMethod<&Capture::TakeLive>("takeLive"),
		    InstanceAccessor<&Capture::AcceptOwners>("acceptOwners"),
		    InstanceAccessor<&Capture::AcceptOwnersProblem>("acceptOwnersProblem"),
		});
	}

	// JS thread.
	explicit Capture(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Capture>(info)
	{
		Napi::Env env = info.Env();
		if (!(info[0].IsObject() || info[0].IsExternal()) || !info[1].IsFunction() || !info[2].IsFunction()) {
			throw Napi::TypeError::New(env, "new Capture(options or a loaded session, onBatch, onClose)");
		}
		CaptureError error;
		std::unique_ptr<BpfSession> session;
		if (info[0].IsExternal()) {
			session = TakeLoaded(env, info[0]);
			if (!session->Attach(error)) {
				session.reset();
			}
		} else {
			session = BpfSession::Open(ParseOptions(info[0].As<Napi::Object>()), error);
		}
		if (!session) {
			throw Napi::Error(env, CaptureErrorValue(env, error));
		}

		auto onClose = std::make_shared<Napi::FunctionReference>(
		    Napi::Persistent(info[2].As<Napi::Function>()));
		auto deliver = Napi::ThreadSafeFunction::New(
		    env, info[1].As<Napi::Function>(), "tcptop-capture", 0, 1,
		    [onClose](Napi::Env) { onClose->Call({}); });
		poller_ = std::make_unique<Poller>(std::move(session), deliver);
		// Detach when the environment goes away (process exit) even if stop() was not called.
		napi_add_env_cleanup_hook(env, StopOnExit, this);
	}

	~Capture() override { StopPoller(); }

private:
	// JS thread. Idempotent. Returns once the program is detached; batches drained before
	// that are still delivered, then onClose runs.
	Napi::Value Stop(const Napi::CallbackInfo& info)
	{
		StopPoller();
		return info.Env().Undefined();
	}

	// JS thread. Every TCP socket that exists now, as TCPTOP_RECORD_SOCKET records.
	Napi::Value Snapshot(const Napi::CallbackInfo& info)
	{
		Napi::Env env = info.Env();
		if (!poller_) {
			throw Napi::Error::New(env, "the capture is stopped");
		}
		auto* block = new std::vector<uint8_t>();
		int err = poller_->Snapshot(*block);
		if (err != 0) {
			delete block;
			Napi::Error error = Napi::Error::New(
			    env, std::string("cannot list the existing TCP sockets: ") + strerror(-err));
			error.Set("code", Napi::String::New(env, "ESNAPSHOT"));
			throw error;
		}
		return Napi::ArrayBuffer::New(
		    env, block->data(), block->size(),
		    [](Napi::Env, void*, std::vector<uint8_t>* owner) { delete owner; }, block);
	}

	// JS thread. requestPass(kind): asks for a socket pass (0: counters, 1: complete, 2:
	// listeners), delivered through onBatch (passMs > 0).
	Napi::Value RequestPass(const Napi::CallbackInfo& info)
	{
		if (poller_) {
			int kind = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
			poller_->RequestPass(kind == 1 ? Poller::PassKind::complete
			                               : (kind == 2 ? Poller::PassKind::listeners : Poller::PassKind::counters));
		}
		return info.Env().Undefined();
	}

	// JS thread. TCP packets the kernel dropped since the capture started, by reason (a
	// Float64Array indexed by the kernel's enum skb_drop_reason; see BpfSession::DropCounts),
	// or undefined when the kernel cannot say.
	Napi::Value DropCounts(const Napi::CallbackInfo& info)
	{
		std::vector<uint64_t> counts;
		if (!poller_ || !poller_->DropCounts(counts)) {
			return info.Env().Undefined();
		}
		Napi::Float64Array array = Napi::Float64Array::New(info.Env(), counts.size());
		for (size_t i = 0; i < counts.size(); i++) {
			array[i] = static_cast<double>(counts[i]);
		}
		return array;
	}

	// JS thread. takeLive(): the connections that retransmitted or had packets dropped since the
	// last call, {counts: Float64Array of (socket, retransmits, drops) triples, missed: the
	// retransmits and drops since the start that found no room}; undefined when the session has
	// none. A socket is its address's low 48 bits, as the records carry it (src/capture/decode.ts).
	Napi::Value TakeLive(const Napi::CallbackInfo& info)
	{
		Napi::Env env = info.Env();
		std::vector<uint64_t> sockets;
		std::vector<tcptop_live> counts;
		if (!poller_ || !poller_->TakeLive(sockets, counts)) {
			return env.Undefined();
		}
		Napi::Float64Array array = Napi::Float64Array::New(env, sockets.size() * 3);
		for (size_t i = 0; i < sockets.size(); i++) {
			array[i * 3] = static_cast<double>(sockets[i] & 0xffff'ffff'ffffULL);
			array[i * 3 + 1] = counts[i].retransmits;
			array[i * 3 + 2] = counts[i].drops;
		}
		Napi::Object taken = Napi::Object::New(env);
		taken.Set("counts", array);
		taken.Set("missed", Napi::Number::New(env, static_cast<double>(poller_->LiveMissed())));
		return taken;
	}

	// Whether accepted connections are attributed to the accepting process.
	Napi::Value AcceptOwners(const Napi::CallbackInfo& info)
	{
		return Napi::Boolean::New(info.Env(), poller_ && poller_->AcceptOwners());
	}

	// Why they are not, when asked for (a string), else undefined.
	Napi::Value AcceptOwnersProblem(const Napi::CallbackInfo& info)
	{
		if (!poller_ || poller_->AcceptOwnersProblem().empty()) {
			return info.Env().Undefined();
		}
		return Napi::String::New(info.Env(), poller_->AcceptOwnersProblem());
	}

	void StopPoller()
	{
		if (poller_) {
			poller_.reset();
			napi_remove_env_cleanup_hook(Env(), StopOnExit, this);
		}
	}

	static void StopOnExit(void* self) { static_cast<Capture*>(self)->poller_.reset(); }

	std::unique_ptr<Poller> poller_;
};

// dropReasonNames(): the running kernel's drop reason names by value ("" where none).
Napi::Value DropReasonNamesOf(const Napi::CallbackInfo& info)
{
	std::vector<std::string> names = DropReasonNames();
	Napi::Array array = Napi::Array::New(info.Env(), names.size());
	for (size_t i = 0; i < names.size(); i++) {
		array.Set(i, Napi::String::New(info.Env(), names[i]));
	}
	return array;
}

// readerGone(fd): whether the reading end of the pipe or socket on `fd` has gone. A write would
// say so with EPIPE, but a trace with nothing to write would wait for its next event.
Napi::Value ReaderGone(const Napi::CallbackInfo& info)
{
	pollfd output = {};
	output.fd = info[0].As<Napi::Number>().Int32Value();
	output.events = POLLOUT;
	// The write end of a pipe whose readers have all closed polls as POLLERR; a socket as POLLHUP.
	bool gone = poll(&output, 1, 0) == 1 && (output.revents & (POLLERR | POLLHUP)) != 0;
	return Napi::Boolean::New(info.Env(), gone);
}

} // namespace
} // namespace tcptop

static Napi::Object Init(Napi::Env env, Napi::Object exports)
{
	// Socket passes are blocks of megabytes (96 bytes a socket), made on the poller thread and
	// freed when JS collects them. glibc's default raises its mmap threshold to the size of the
	// first such block freed, after which the blocks come from an arena that keeps their pages
	// when freed (measured: 35 MB resident at 100,000 sockets). A fixed threshold keeps every
	// block of 1 MiB or more in its own mapping, returned to the system when freed.
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	exports.Set("Capture", tcptop::Capture::Define(env));
	exports.Set("load", Napi::Function::New(env, tcptop::Load, "load"));
	exports.Set("recordSize", Napi::Number::New(env, TCPTOP_RECORD_SIZE));
	exports.Set("readerGone", Napi::Function::New(env, tcptop::ReaderGone, "readerGone"));
	exports.Set("dropReasonNames", Napi::Function::New(env, tcptop::DropReasonNamesOf, "dropReasonNames"));
	return exports;
}

NODE_API_MODULE(tcptop, Init)
