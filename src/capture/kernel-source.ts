// Transitions from the kernel, through the native addon.
import {loadAddon, PassKind, type CaptureAddon, type LoadedCapture, type NativeCapture, type NativeCaptureOptions} from './addon.js';
import {decodeBlock, decodePass, decodePassSteps, InStateClock, RECORD_SIZE} from './decode.js';
import type {LiveCounts, NetCounters, SourceHandlers, TransitionSource, Unfinished} from '../core/source.js';
import {errnoName} from './errno.js';
import {readNetCounters} from './net-counters.js';
import {monotonicNow} from '../core/origin.js';
import {SlicedQueue} from './sliced-queue.js';

export type KernelSourceOptions = Partial<NativeCaptureOptions> & {
	/**
	 * How often to take a socket pass (SourceHandlers.pass) for the sockets' counters: the
	 * connections whose counters or state changed since the pass before; every fifth is
	 * complete (every socket), for reconciliation, and names the processes holding each socket,
	 * and not before the last complete one's cost over passBudget has passed.
	 * 0 (the default) for never. Only when a pass handler is given. Passes honour the family
	 * and port settings, not the pid setting. On a host with so many sockets that passes this
	 * often would cost more than passBudget, they come less often (see passDelayMs), and passes
	 * of the listeners alone (SocketPass.listenersOnly, cheap) keep the interval between them.
	 */
	passIntervalMs?: number;
	/** The wall clock (Date.now): events' wall times follow its steps. */
	wallNow?: () => number;
	/** Reads the namespace's TCP counters for each pass (readNetCounters: /proc/net/snmp and netstat). */
	netCounters?: () => NetCounters | undefined;
	/** Told, at start, what was asked for and could not be had (accept() not traced), in one line. */
	warn?: (message: string) => void;
};

/** One delivery of the addon (see BatchCallback). */
type Delivery = {
	readonly block: ArrayBuffer;
	readonly dropped: number;
	readonly lost: number;
	readonly errno: number;
	readonly passMs: number;
	readonly complete: boolean;
	readonly passCpuMs: number;
	/** For a pass: a listeners pass (see PassKind). */
	readonly listenersOnly: boolean;
};

/**
 * Deliveries waiting to be decoded at most: about a second of the busiest load measured here
 * (300,000 changes a second). Enough to ride out the longest single piece of work (a -b
 * document listing 65,536 connections takes a few hundred ms on a loaded machine), and what
 * is shown is never much older than that.
 */
const maxQueuedBytes = 32 << 20;
/** Decoding and applying batches goes on for this long at most before the event loop's turn. */
const sliceMs = 8;

/** Every this many passes, one is complete (lists every socket, changed or not). */
const completePassEvery = 5;

/**
 * The share of one core socket passes may take, the kernel's walk and the table's work
 * together. A pass walks every socket (about 1 us each in the kernel, measured at 100,000), so
 * on a big host passes at every refresh would make tcptop's idle cost grow with the host.
 */
export const passBudget = 0.01;

/** How long to wait after a pass that cost costMs before the next: its cost over the budget, at least the interval. */
function passDelayMs(intervalMs: number, costMs: number): number {
	return Math.max(intervalMs, costMs / passBudget);
}

const defaults: NativeCaptureOptions = {
	transport: 'ringbuf',
	family: 0,
	pid: 0,
	localPorts: [],
	remotePorts: [],
	acceptOwners: false,
};

/**
 * Milliseconds to add to CLOCK_MONOTONIC (the kernel's bpf_ktime_get_ns) to get wall time,
 * read again at each delivery: the wall clock steps (NTP, a resume from suspend) where the
 * monotonic one does not, and a daemon runs for weeks. A change within the clocks' reading
 * jitter is not taken, so events' wall times do not wobble from one batch to the next.
 */
class WallOffset {
	#ms: number;

	constructor(private readonly wallNow: () => number) {
		this.#ms = this.#read();
	}

	get ms(): number {
		const now = this.#read();
		if (Math.abs(now - this.#ms) > 2) {
			this.#ms = now;
		}

		return this.#ms;
	}

	#read(): number {
		// process.hrtime reads CLOCK_MONOTONIC on Linux, the clock the BPF program stamps with.
		return this.wallNow() - monotonicNow();
	}
}

export class KernelSource implements TransitionSource {
	readonly #options: NativeCaptureOptions;
	readonly #passIntervalMs: number;
	readonly #wallNow: () => number;
	readonly #netCounters: () => NetCounters | undefined;
	readonly #addon: CaptureAddon;
	readonly #warn: (message: string) => void;
	#capture: NativeCapture | undefined;
	/** prepare()'s load, once asked for; then what it gave, or why it failed. */
	#loading: Promise<void> | undefined;
	#loaded: LoadedCapture | undefined;
	#loadFailure: Error | undefined;
	#closed: Promise<void> | undefined;
	#passTimer: NodeJS.Timeout | undefined;
	/** Counters passes since the last complete one (or the start-up snapshot). */
	#sinceComplete = 0;
	/**
	 * performance.now() before which no complete pass is asked for: the last complete one's
	 * (or the snapshot's) cost over the budget after it. A complete pass lists every socket,
	 * however few changed: on a big, busy host (100,000 connections, a few hundred thousand in
	 * TIME_WAIT) it costs seconds, where a counters pass costs a fraction of one.
	 */
	#completeDueAtMs = 0;
	/** When the pass under way was asked for (performance.now()); undefined while none is. */
	#passAskedAtMs: number | undefined;
	/** What the pass under way (or the last) is. */
	#askedKind: PassKind = PassKind.counters;
	/** performance.now() before which no pass of the connections (counters or complete) is asked for. */
	#samplingDueAtMs = 0;
	/** performance.now() before which no listeners pass is asked for. */
	#listenersDueAtMs = 0;
	#stopped = false;
	/** The kernel's drop reason names by value, read once the first drop needs one. */
	#dropNames: string[] | undefined;

	constructor({passIntervalMs = 0, wallNow = Date.now, netCounters = readNetCounters, warn = () => undefined, ...options}: KernelSourceOptions = {}, addon: CaptureAddon = loadAddon()) {
		this.#options = {...defaults, ...options};
		this.#warn = warn;
		this.#passIntervalMs = passIntervalMs;
		this.#wallNow = wallNow;
		this.#netCounters = netCounters;
		this.#addon = addon;
	}

	/** Loads the programs on a worker thread, for start to attach (see TransitionSource.prepare). */
	async prepare(): Promise<void> {
		const {load} = this.#addon;
		if (!load) {
			return;
		}

		this.#loading ??= load(this.#options).then(loaded => {
			this.#loaded = loaded;
		}, (error: unknown) => {
			this.#loadFailure = error as Error;
		});
		await this.#loading;
		if (this.#loadFailure) {
			throw this.#loadFailure;
		}
	}

	/** Whether the owners of accepted connections are known (accept() is traced). */
	get acceptOwners(): boolean {
		return this.#capture?.acceptOwners ?? false;
	}

	start(handlers: SourceHandlers): void {
		if (this.#capture) {
			throw new Error('this source is already started');
		}

		if (this.#addon.recordSize !== RECORD_SIZE) {
			throw new Error(`the native addon writes ${this.#addon.recordSize}-byte records, the decoder reads ${RECORD_SIZE}: rebuild tcptop`);
		}

		const wallOffset = new WallOffset(this.#wallNow);
		// The pid setting passes a socket's changes one by one, whatever came before.
		const clock = new InStateClock(this.#options.pid === 0);
		// Perf buffers are per CPU: a batch holds each CPU's records in turn, so restore time order.
		const reorder = this.#options.transport === 'perf';
		let failed = false;
		let resolveClosed!: () => void;
		const closed = new Promise<void>(resolve => {
			resolveClosed = resolve;
		});
		/** Records of batches tcptop had no room for (see onBatch); the kernel's drops are added to it. */
		let droppedHere = 0;
		let queuedBytes = 0;
		const fail = (error: Error) => {
			failed = true;
			queue.clear();
			this.#stopPasses();
			this.#capture?.stop();
			handlers.error(error);
		};

		const readNetCountersNow = this.#netCounters;
		const readDrops = () => this.#drops();
		/** When the span of the next live counts began: the last taking, or the capture's start. */
		let liveFromMs = Number.NaN;
		const readLive = (): LiveCounts | undefined => {
			const taken = this.#capture?.takeLive?.();
			if (taken === undefined) {
				return undefined;
			}

			const toMs = monotonicNow();
			const live = {fromMs: liveFromMs, toMs, counts: taken.counts, missed: taken.missed};
			liveFromMs = toMs;
			return live;
		};
		const dropReason = (value: number) => this.#dropReason(value);
		/** A pass, decoded and handed over in shares; what each share cost is added up. */
		const passWork = ({block, errno, passMs, complete, passCpuMs, listenersOnly}: Delivery): Unfinished => {
			const steps = (function * (): Generator<void> {
				if (errno !== 0) {
					throw new Error(`cannot list the TCP sockets: ${errnoName(-errno)}`);
				}

				const wallOffsetMs = wallOffset.ms;
				const {sockets, counts, namespaces} = yield * decodePassSteps(block, wallOffsetMs, dropReason);
				const netCounters = readNetCountersNow();
				const drops = readDrops();
				const live = readLive();
				const rest = handlers.pass?.({monoMs: passMs, wallMs: passMs + wallOffsetMs, sockets, counts, namespaces, owners: complete, complete, listenersOnly, netCounters, drops, live});
				while (rest && !rest()) {
					yield;
				}
			})();
			let spentMs = passCpuMs;
			return () => {
				if (failed) {
					return true;
				}

				const startedMs = performance.now();
				try {
					const {done} = steps.next();
					spentMs += performance.now() - startedMs;
					if (done) {
						this.#passDone(spentMs, complete);
					}

					return done === true;
				} catch (error) {
					fail(error as Error);
					return true;
				}
			};
		};

		const work = (delivery: Delivery): Unfinished | void => {
			queuedBytes -= delivery.block.byteLength;
			if (failed) {
				return;
			}

			if (delivery.passMs > 0) {
				return passWork(delivery);
			}

			try {
				const {block, dropped, lost, errno} = delivery;
				if (errno !== 0) {
					throw new Error(`waiting on the kernel's buffer failed: ${errnoName(-errno)}`);
				}

				const decoded = decodeBlock(block, wallOffset.ms);
				const {resets, accepted} = decoded;
				let {transitions} = decoded;
				if (reorder) {
					const byTime = (a: {monoMs: number}, b: {monoMs: number}) => a.monoMs - b.monoMs;
					transitions.sort(byTime);
					resets.sort(byTime);
					accepted.sort(byTime);
					decoded.incidents.sort(byTime);
				}

				const incidents = decoded.incidents.length === 0 ? undefined : decoded.incidents.map(({reasonValue, ...incident}) => ({...incident, reason: incident.kind === 'drop' ? this.#dropReason(reasonValue) : ''}));

				transitions = clock.apply(transitions);
				handlers.batch({transitions, resets, accepted, incidents, dropped: dropped + droppedHere, lost});
			} catch (error) {
				fail(error as Error);
			}
		};

		const queue = new SlicedQueue(work, sliceMs);
		// Called on the JS thread for each batch or pass the addon drained, as soon as it can: the
		// work waits its turn in the queue. A batch that finds the queue full is dropped, its
		// records counted with the kernel's drops: under a load beyond what tcptop can decode,
		// memory stays bounded and frames, keys and prints keep their pace. Passes are kept.
		const onBatch = (block: ArrayBuffer, dropped: number, lost: number, errno: number, passMs: number, complete: boolean, passCpuMs: number) => {
			if (passMs === 0 && errno === 0 && queuedBytes + block.byteLength > maxQueuedBytes) {
				droppedHere += block.byteLength / RECORD_SIZE;
				return;
			}

			queuedBytes += block.byteLength;
			queue.push({block, dropped, lost, errno, passMs, complete, passCpuMs, listenersOnly: passMs > 0 && this.#askedKind === PassKind.listeners});
		};

		const onClose = () => {
			void queue.emptied().then(resolveClosed);
		};

		this.#capture = new this.#addon.Capture(this.#preparedSession(), onBatch, onClose);
		liveFromMs = monotonicNow();
		this.#closed = closed;
		const {acceptOwnersProblem} = this.#capture;
		if (this.#options.acceptOwners && acceptOwnersProblem !== undefined) {
			this.#warn(`--accept-owners: ${acceptOwnersProblem}; the owners of accepted connections come from the socket walks`);
		}

		if (handlers.snapshot) {
			// Taken after the programs attached, so no change falls between the two: a socket
			// that changes meanwhile is in the snapshot and in the first batch.
			try {
				const startedMs = performance.now();
				const monoMs = monotonicNow();
				const wallOffsetMs = wallOffset.ms;
				const {sockets, counts, namespaces} = decodePass(this.#capture.snapshot(), wallOffsetMs, value => this.#dropReason(value));
				handlers.snapshot({monoMs, wallMs: monoMs + wallOffsetMs, sockets, counts, namespaces, owners: true, complete: true, netCounters: this.#netCounters(), drops: this.#drops()});
				this.#completeDone(performance.now() - startedMs);
			} catch (error) {
				this.#capture.stop();
				throw error;
			}
		}

		if (handlers.pass && this.#passIntervalMs > 0) {
			this.#schedulePass(this.#passIntervalMs);
		}
	}

	/** What start attaches: prepare()'s loaded session, or, without one, the options to load with. */
	#preparedSession(): NativeCaptureOptions | LoadedCapture {
		if (this.#loadFailure) {
			throw this.#loadFailure;
		}

		if (this.#loading && !this.#loaded) {
			throw new Error('this source is still being prepared: start it once prepare() has resolved');
		}

		const loaded = this.#loaded;
		this.#loaded = undefined;
		return loaded ?? this.#options;
	}

	/**
	 * Asks for the next pass in delayMs. A pass that reads the connections once the last one's
	 * cost over the budget has passed (#samplingDueAtMs): a complete one after
	 * completePassEvery - 1 counters passes, once the last complete one's cost over the budget
	 * has passed too (#completeDueAtMs). Before that, a listeners pass (when the connections'
	 * passes come less often than the interval, on a big host).
	 */
	#schedulePass(delayMs: number): void {
		// Which kind is decided now, not when the timer fires: a timer counts from the event
		// loop's cached time, so it may fire early by performance.now()'s clock, most on a
		// loaded machine, and a pass of the connections would turn into a listeners pass.
		const listeners = this.#listenersDueAtMs < this.#samplingDueAtMs;
		this.#passTimer = setTimeout(() => {
			this.#passTimer = undefined;
			const now = performance.now();
			this.#passAskedAtMs = now;
			if (listeners) {
				this.#askedKind = PassKind.listeners;
			} else {
				const complete = this.#sinceComplete >= completePassEvery - 1 && now >= this.#completeDueAtMs;
				this.#sinceComplete = complete ? 0 : this.#sinceComplete + 1;
				this.#askedKind = complete ? PassKind.complete : PassKind.counters;
			}

			this.#capture?.requestPass(this.#askedKind);
		}, delayMs);
		// The capture keeps the process alive while it runs; the timer need not.
		this.#passTimer.unref();
	}

	/**
	 * A pass asked for has been handed over, having cost costMs: the next of its kind waits its
	 * cost over the budget (at least the interval), and the next pass is whichever is due first.
	 */
	#passDone(costMs: number, complete: boolean): void {
		if (this.#passAskedAtMs === undefined || this.#stopped) {
			return;
		}

		if (complete) {
			this.#completeDone(costMs);
		}

		const now = performance.now();
		const dueAtMs = this.#passAskedAtMs + passDelayMs(this.#passIntervalMs, costMs);
		if (this.#askedKind === PassKind.listeners) {
			this.#listenersDueAtMs = dueAtMs;
		} else {
			this.#samplingDueAtMs = dueAtMs;
			this.#listenersDueAtMs = Math.max(this.#listenersDueAtMs, this.#passAskedAtMs + this.#passIntervalMs);
		}

		this.#passAskedAtMs = undefined;
		this.#schedulePass(Math.max(0, Math.min(this.#samplingDueAtMs, this.#listenersDueAtMs) - now));
	}

	/** A complete pass (or the snapshot) cost costMs: the next complete one waits it over the budget. */
	#completeDone(costMs: number): void {
		this.#completeDueAtMs = performance.now() + (costMs / passBudget);
	}

	/** The kernel's TCP drops by reason name, since the start; undefined where it cannot say. */
	#drops(): ReadonlyMap<string, number> | undefined {
		const counts = this.#capture?.dropCounts?.();
		if (counts === undefined) {
			return undefined;
		}

		const drops = new Map<string, number>();
		for (const [value, count] of counts.entries()) {
			if (count > 0) {
				drops.set(this.#dropReason(value), count);
			}
		}

		return drops;
	}

	/** A drop reason's name (the kernel's), read from its BTF once a drop needs one. */
	#dropReason(value: number): string {
		this.#dropNames ??= this.#addon.dropReasonNames?.() ?? [];
		return value === 0 || value >= this.#dropNames.length ? 'OTHER' : (this.#dropNames[value] || `REASON_${value}`);
	}

	#stopPasses(): void {
		this.#stopped = true;
		clearTimeout(this.#passTimer);
		this.#passTimer = undefined;
	}

	async stop(): Promise<void> {
		this.#stopPasses();
		this.#capture?.stop();
		await this.#closed;
	}
}
