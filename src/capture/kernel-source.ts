// Transitions from the kernel, through the native addon.
import {loadAddon, type CaptureAddon, type NativeCapture, type NativeCaptureOptions} from './addon.js';
import {decodeBlock, decodeSnapshot, RECORD_SIZE} from './decode.js';
import type {SourceHandlers, TransitionSource} from './source.js';
import {errnoName} from './errno.js';

export type KernelSourceOptions = Partial<NativeCaptureOptions>;

const defaults: NativeCaptureOptions = {
	transport: 'ringbuf',
	family: 0,
	pid: 0,
	localPorts: [],
	remotePorts: [],
};

/** Milliseconds to add to CLOCK_MONOTONIC (the kernel's bpf_ktime_get_ns) to get wall time. */
function monotonicToWallOffsetMs(): number {
	// process.hrtime reads CLOCK_MONOTONIC on Linux, the clock the BPF program stamps with.
	return Date.now() - (Number(process.hrtime.bigint()) / 1e6);
}

export class KernelSource implements TransitionSource {
	readonly #options: NativeCaptureOptions;
	readonly #addon: CaptureAddon;
	#capture: NativeCapture | undefined;
	#closed: Promise<void> | undefined;

	constructor(options: KernelSourceOptions = {}, addon: CaptureAddon = loadAddon()) {
		this.#options = {...defaults, ...options};
		this.#addon = addon;
	}

	start(handlers: SourceHandlers): void {
		if (this.#capture) {
			throw new Error('this source is already started');
		}

		if (this.#addon.recordSize !== RECORD_SIZE) {
			throw new Error(`the native addon writes ${this.#addon.recordSize}-byte records, the decoder reads ${RECORD_SIZE}: rebuild tcptop`);
		}

		const wallOffsetMs = monotonicToWallOffsetMs();
		// Perf buffers are per CPU: a batch holds each CPU's records in turn, so restore time order.
		const reorder = this.#options.transport === 'perf';
		let failed = false;
		let resolveClosed!: () => void;
		const closed = new Promise<void>(resolve => {
			resolveClosed = resolve;
		});
		const onBatch = (block: ArrayBuffer, dropped: number, lost: number, errno: number) => {
			if (failed) {
				return;
			}

			try {
				if (errno !== 0) {
					throw new Error(`waiting on the kernel's buffer failed: ${errnoName(-errno)}`);
				}

				const {transitions, resets} = decodeBlock(block, wallOffsetMs);
				if (reorder) {
					transitions.sort((a, b) => a.monoMs - b.monoMs);
					resets.sort((a, b) => a.monoMs - b.monoMs);
				}

				handlers.batch({transitions, resets, accepted: [], dropped, lost});
			} catch (error) {
				failed = true;
				this.#capture?.stop();
				handlers.error(error as Error);
			}
		};

		this.#capture = new this.#addon.Capture(this.#options, onBatch, resolveClosed);
		this.#closed = closed;
		if (handlers.snapshot) {
			// Taken after the programs attached, so no change falls between the two: a socket
			// that changes meanwhile is in the snapshot and in the first batch.
			try {
				const monoMs = Number(process.hrtime.bigint()) / 1e6;
				const sockets = decodeSnapshot(this.#capture.snapshot(), wallOffsetMs);
				handlers.snapshot({monoMs, wallMs: monoMs + wallOffsetMs, sockets, owners: true});
			} catch (error) {
				this.#capture.stop();
				throw error;
			}
		}
	}

	async stop(): Promise<void> {
		this.#capture?.stop();
		await this.#closed;
	}
}
