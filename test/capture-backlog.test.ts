// A backlog from the kernel is worked through in slices, timers running in between, and what
// finds the queue full is dropped and counted, never queued without bound. A stand-in for the
// native addon hands over a burst of batches at once, as it does when JS has fallen behind.
import test from 'ava';
import type {BatchCallback, CaptureAddon, NativeCapture} from '../src/capture/addon.js';
import {RECORD_SIZE} from '../src/capture/decode.js';
import {KernelSource} from '../src/capture/kernel-source.js';
import type {TransitionBatch} from '../src/capture/source.js';
import {TcpState} from '../src/capture/transition.js';

/** A block of `records` state changes (ESTABLISHED -> CLOSE_WAIT) on 127.0.0.1. */
function block(records: number): ArrayBuffer {
	const bytes = new Uint8Array(records * RECORD_SIZE);
	const view = new DataView(bytes.buffer);
	for (let index = 0; index < records; index++) {
		const offset = index * RECORD_SIZE;
		view.setBigUint64(offset, BigInt(1e9 + index), true);
		view.setUint32(offset + 8, 0x1000 + index, true);
		view.setUint16(offset + 36, 2, true); // AF_INET
		view.setUint16(offset + 38, 40_000, true);
		view.setUint16(offset + 40, 443, true);
		view.setUint8(offset + 42, TcpState.ESTABLISHED);
		view.setUint8(offset + 43, TcpState.CLOSE_WAIT);
		view.setUint8(offset + 44, 1); // a state change
		bytes.set([127, 0, 0, 1], offset + 48);
		bytes.set([127, 0, 0, 1], offset + 64);
	}

	return bytes.buffer;
}

/** An addon that hands over `batches` batches of `records` records in one go once started. */
function burstAddon(batches: number, records: number): CaptureAddon {
	class Capture implements NativeCapture {
		readonly acceptOwners = false;
		constructor(_options: unknown, onBatch: BatchCallback, private readonly onClose: () => void) {
			setImmediate(() => {
				for (let index = 0; index < batches; index++) {
					onBatch(block(records), 0, 0, 0, 0, false, 0);
				}
			});
		}

		stop(): void {
			this.onClose();
		}

		snapshot(): ArrayBuffer {
			return new ArrayBuffer(0);
		}

		requestPass(): void {}
	}

	return {recordSize: RECORD_SIZE, readerGone: () => false, Capture};
}

function busy(ms: number): void {
	const end = performance.now() + ms;
	while (performance.now() < end) {
		// A consumer slower than the kernel.
	}
}

test('a burst is worked through in slices with timers firing between them; what overflows is counted as dropped', async t => {
	const batches = 500;
	const records = 1000; // 96 KB a batch, 48 MB in all: more than tcptop queues
	const source = new KernelSource({}, burstAddon(batches, records));
	const received: TransitionBatch[] = [];
	let ticks = 0;
	let ticksAtFirst = 0;
	let ticksAtLast = 0;
	const timer = setInterval(() => {
		ticks++;
	}, 5);
	let done!: () => void;
	const finished = new Promise<void>(resolve => {
		done = resolve;
	});
	let idle: NodeJS.Timeout | undefined;
	source.start({
		batch(batch) {
			if (received.length === 0) {
				ticksAtFirst = ticks;
			}

			received.push(batch);
			ticksAtLast = ticks;
			busy(2);
			clearTimeout(idle);
			idle = setTimeout(done, 100);
		},
		error(error) {
			t.fail(error.message);
		},
	});
	await finished;
	clearInterval(timer);
	await source.stop();

	const handled = received.reduce((sum, batch) => sum + batch.transitions.length, 0);
	const dropped = received.at(-1)!.dropped;
	t.true(dropped > 0, 'the queue is bounded: some batches were dropped');
	t.is(handled + dropped, batches * records, 'every record is either handled or counted as dropped');
	t.true(received.length >= 40, `${received.length} batches handled (2 ms each)`);
	const ticksWhileWorking = ticksAtLast - ticksAtFirst;
	t.true(ticksWhileWorking >= 5, `the 5 ms timer fired ${ticksWhileWorking} times while the backlog was worked through`);
});
