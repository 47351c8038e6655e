// The only module that knows the native addon exists. Everything else talks to a
// TransitionSource, so tests and replay can put another source in its place.
import {existsSync} from 'node:fs';
import {createRequire} from 'node:module';
import {join} from 'node:path';
import {packageRoot} from '../core/package-root.js';

export type Transport = 'ringbuf' | 'perf';

export type NativeCaptureOptions = {
	transport: Transport;
	/** 0 for both families. */
	family: 0 | 4 | 6;
	/** 0 for every process. */
	pid: number;
	/** 0 for every network namespace, else the inode of the one to capture. */
	netns?: number;
	/**
	 * How counters passes reach the connections of other namespaces than tcptop's: through
	 * each namespace's socket tables (each walk costs a pass through the host's whole hash
	 * table) or through every process's open files (one walk, whatever the namespaces); by
	 * default whichever cost less at the last complete pass. For tests.
	 */
	foreignWalk?: 'auto' | 'tables' | 'files';
	localPorts: readonly number[];
	remotePorts: readonly number[];
	/**
	 * Trace accept()/accept4() exits to name the owners of passive connections as they are
	 * accepted (batches' `accepted`). It has a price: a syscall tracepoint puts every system
	 * call on the host on the kernel's slow path (about +150 ns each measured here), so by
	 * default the owners come from the complete socket passes instead.
	 */
	acceptOwners: boolean;
	/**
	 * Send retransmits, and the packets the kernel drops for known sockets, as events of their
	 * own (batches' `incidents`; trace --events). Off by default: the counts come without them.
	 */
	traceEvents?: boolean;
	/**
	 * Load and attach no tracepoint: the socket passes only (`-b -n 1`, one pass and the end).
	 * Starting verifies a fraction of the programs, and stopping has no tracepoint to detach;
	 * no transition, reset or drop is seen (dropCounts is undefined).
	 */
	passesOnly?: boolean;
};

/**
 * Called on the JS thread once per drained batch, and once per socket pass asked for with
 * requestPass (passMs: when the pass started, CLOCK_MONOTONIC ms; 0 for a batch;
 * passComplete: as asked; passCpuMs: the CPU time the pass took, mostly the kernel's walk).
 * A pass's block is laid out as snapshot's: socket records, each namespace whose tables it
 * walked counted after its sockets (a listeners pass counts none), then, in a complete pass
 * only, owner records (see decodePass). The counters are running totals.
 */
export type BatchCallback = (block: ArrayBuffer, dropped: number, lost: number, errno: number, passMs: number, passComplete: boolean, passCpuMs: number) => void;

/** The socket passes the addon takes (requestPass's argument). */
export const PassKind = {counters: 0, complete: 1, listeners: 2} as const;
export type PassKind = (typeof PassKind)[keyof typeof PassKind];

export type NativeCapture = {
	/** Detaches the program. Batches drained before it are still delivered, then onClose runs. */
	stop(): void;
	/**
	 * Every TCP socket that exists now: a complete pass, taken at once, as one block of socket
	 * records (each namespace's counted after its sockets), then owner records.
	 */
	snapshot(): ArrayBuffer;
	/**
	 * Asks for a pass, delivered through onBatch after every record drained before it started:
	 * PassKind.counters (the connections whose counters changed, and the listeners; no owners),
	 * PassKind.complete (every socket, TIME_WAIT and request sockets too, with owners), or
	 * PassKind.listeners (the listeners only, no owners; cheap however many connections there are).
	 */
	requestPass(kind: PassKind): void;
	/**
	 * TCP packets the kernel dropped since the capture started, indexed by the kernel's drop
	 * reason value (index 0: reasons past the last index); undefined where the kernel cannot say.
	 */
	dropCounts?(): Float64Array | undefined;
	/**
	 * Takes the connections that retransmitted or had packets dropped since the last call
	 * (see LiveCounts); undefined where the capture does not count them (a run of passes only).
	 */
	takeLive?(): {counts: Float64Array; missed: number} | undefined;
	/** Whether accept()/accept4() are traced, naming the owners of accepted connections. */
	readonly acceptOwners: boolean;
	/** Why accept() is not traced though acceptOwners was asked for; undefined otherwise. */
	readonly acceptOwnersProblem?: string;
};

/** A session whose programs are loaded and verified, not attached: load()'s, for Capture. */
export type LoadedCapture = {readonly loadedCapture: unique symbol};

export type CaptureAddon = {
	readonly recordSize: number;
	/** Whether the reading end of the pipe or socket on `fd` has gone (never for a file or terminal). */
	readonly readerGone: (fd: number) => boolean;
	/** The running kernel's drop reason names by value ("" for a value without one). */
	readonly dropReasonNames?: () => string[];
	/**
	 * Loads the programs on a worker thread (the kernel's verifier is most of tcptop's start),
	 * rejecting with a CaptureError as Capture would throw it; Capture attaches what it gives.
	 */
	readonly load?: (options: NativeCaptureOptions) => Promise<LoadedCapture>;
	readonly Capture: new (
		options: NativeCaptureOptions | LoadedCapture,
		onBatch: BatchCallback,
		onClose: () => void,
	) => NativeCapture;
};

/** An error from the kernel side; `code` says what went wrong (EPERM, ENOBTF, EVERIFIER, ...). */
export type CaptureError = Error & {code?: string; libbpfLog?: string};

let addon: CaptureAddon | undefined;

/**
 * The addon: the one built in build/Release (a checkout, or a package built from source where
 * no prebuild fits), else the package's prebuild for this platform (prebuilds/, found by
 * node-gyp-build). It links the system's libbpf.so.1 (libbpf 1.0 or later); without it, the
 * error says what to install.
 */
export function loadAddon(): CaptureAddon {
	if (addon) {
		return addon;
	}

	const require = createRequire(import.meta.url);
	const root = packageRoot();
	try {
		addon = (require('node-gyp-build') as (directory: string) => unknown)(root) as CaptureAddon;
	} catch (error) {
		throw new Error(addonProblem(error as NodeJS.ErrnoException, root), {cause: error});
	}

	return addon;
}

/** Why the addon did not load, in one line that says what to do. */
function addonProblem(error: NodeJS.ErrnoException, root: string): string {
	if (/libbpf\.so/.test(error.message)) {
		return 'libbpf 1.0 or later (libbpf.so.1) is needed, and this host does not have it: install libbpf1 (Debian, Ubuntu) or libbpf (Fedora, RHEL, Arch)';
	}

	if (/No native build was found/.test(error.message)) {
		return existsSync(join(root, 'src'))
			? 'the native addon is not built: run \'npm run build\' in tcptop\'s folder'
			: `no native addon for ${process.platform}-${process.arch} in this installation: reinstall tcptop where its build can run (npm install -g says what it needs)`;
	}

	return `the native addon did not load: ${error.message.split('\n')[0]!}`;
}

/** Whether the reader of the pipe or socket on `fd` has gone (see CaptureAddon.readerGone). */
export function readerGone(fd: number): boolean {
	return loadAddon().readerGone(fd);
}
