// A backlog from the kernel is worked through in slices, timers running in between, and what
// finds the queue full is dropped and counted, never queued without bound. A stand-in for the
// native addon hands over a burst of batches at once, as it does when JS has fallen behind.
import {statSync} from 'node:fs';
import test from 'ava';
import type {BatchCallback, CaptureAddon, NativeCapture} from '../src/capture/addon.js';
import {RECORD_SIZE} from '../src/capture/decode.js';
import {KernelSource} from '../src/capture/kernel-source.js';
import type {TransitionBatch} from '../src/core/source.js';
import {TcpState} from '../src/core/transition.js';
import {ConnectionTable} from '../src/model/connection-table.js';

/** A block of `records` state changes (ESTABLISHED -> CLOSE_WAIT) on 127.0.0.1, of sockets `first` on. */
function block(records: number, first = 0): ArrayBuffer {
	const bytes = new Uint8Array(records * RECORD_SIZE);
	const view = new DataView(bytes.buffer);
	for (let index = 0; index < records; index++) {
		const offset = index * RECORD_SIZE;
		view.setBigUint64(offset, BigInt(1e9 + index), true);
		view.setUint32(offset + 8, 0x1000 + first + index, true);
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
					// Each change once: a socket repeating its last change would be a change delivered twice.
					onBatch(block(records, index * records), 0, 0, 0, 0, false, 0);
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

const netns = statSync('/proc/self/ns/net').ino;

/** A complete pass's block: `sockets` established sockets with their counters, then the per-state counts. */
function passBlock(sockets: number): ArrayBuffer {
	const bytes = new Uint8Array((sockets + 1) * RECORD_SIZE);
	const view = new DataView(bytes.buffer);
	for (let index = 0; index < sockets; index++) {
		const offset = index * RECORD_SIZE;
		view.setBigUint64(offset, BigInt(1e9), true);
		view.setUint32(offset + 8, 0x10_0000 + index, true);
		view.setUint32(offset + 32, netns, true); // the namespace passes walk: this process's
		view.setUint16(offset + 36, 2, true); // AF_INET
		view.setUint16(offset + 38, 10_000 + (index % 50_000), true);
		view.setUint16(offset + 40, 443 + Math.floor(index / 50_000), true);
		view.setUint8(offset + 42, TcpState.ESTABLISHED);
		view.setUint8(offset + 43, TcpState.ESTABLISHED);
		view.setUint8(offset + 44, 2); // a socket
		view.setUint8(offset + 45, 0x2); // with counters
		bytes.set([127, 0, 0, 1], offset + 48);
		bytes.set([127, 0, 0, 2], offset + 64);
	}

	const counts = sockets * RECORD_SIZE;
	view.setUint32(counts + 32, netns, true); // of the namespace walked
	view.setUint8(counts + 44, 7); // the per-state counts
	view.setUint32(counts + 48, sockets, true); // ESTABLISHED
	return bytes.buffer;
}

test('a pass of many sockets is taken in shares: timers fire meanwhile, and what came after it waits until it is done', async t => {
	const sockets = 60_000;
	let deliver!: (block: ArrayBuffer, passMs: number) => void;
	class Capture implements NativeCapture {
		readonly acceptOwners = false;
		constructor(_options: unknown, onBatch: BatchCallback, private readonly onClose: () => void) {
			deliver = (block, passMs) => {
				onBatch(block, 0, 0, 0, passMs, passMs > 0, 0);
			};
		}

		stop(): void {
			this.onClose();
		}

		snapshot(): ArrayBuffer {
			return new ArrayBuffer(0);
		}

		requestPass(): void {}
	}

	const source = new KernelSource({}, {recordSize: RECORD_SIZE, readerGone: () => false, Capture});
	const table = new ConnectionTable({maxConnections: 100_000});
	const order: string[] = [];
	let ticks = 0;
	let ticksWhileApplying = 0;
	const timer = setInterval(() => {
		ticks++;
	}, 1);
	let passesDone = 0;
	let allDone!: () => void;
	const finished = new Promise<void>(resolve => {
		allDone = resolve;
	});
	source.start({
		pass(pass) {
			const rest = table.passInShares(pass);
			const ticksAtStart = ticks;
			let shares = 0;
			return () => {
				shares++;
				const done = rest();
				if (done) {
					ticksWhileApplying = Math.max(ticksWhileApplying, ticks - ticksAtStart);
					order.push(`pass ${pass.sockets.length} in ${shares} shares`);
					passesDone++;
				}

				return done;
			};
		},
		batch(batch) {
			order.push(`batch ${batch.transitions.length}`);
			if (passesDone === 2) {
				allDone();
			}
		},
		error(error) {
			t.fail(error.message);
		},
	});
	// Two complete passes (a socket unknown to the table is added when two in a row find it), then a batch.
	deliver(passBlock(sockets), 2000);
	deliver(passBlock(sockets), 3000);
	deliver(block(10), 0);
	await finished;
	clearInterval(timer);
	await source.stop();

	const shares = Math.ceil(sockets / 4096);
	t.deepEqual(order, [`pass ${sockets} in ${shares} shares`, `pass ${sockets} in ${shares} shares`, 'batch 10']);
	t.is(table.size, sockets, 'the second pass added every socket');
	t.is(table.countInState(TcpState.ESTABLISHED), sockets);
	t.true(ticksWhileApplying >= 3, `the 1 ms timer fired ${ticksWhileApplying} times while a pass was taken in`);
});

test('wall times follow a step of the wall clock (NTP, a resume from suspend); the jitter of reading it does not move them', async t => {
	// A wall clock that runs with the monotonic one, but for what the test moves it by (a
	// machine under load may take milliseconds between deliveries: the clocks keep together).
	let moved = 0;
	const wallNow = () => 1_700_000_000_000 + (Number(process.hrtime.bigint()) / 1e6) + moved;
	// Three deliveries of one change each, of three sockets.
	class Capture implements NativeCapture {
		readonly acceptOwners = false;
		constructor(_options: unknown, onBatch: BatchCallback, private readonly onClose: () => void) {
			setImmediate(() => {
				for (let index = 0; index < 3; index++) {
					onBatch(block(1, index), 0, 0, 0, 0, false, 0);
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

	const source = new KernelSource({wallNow}, {recordSize: RECORD_SIZE, readerGone: () => false, Capture});
	const received: number[] = [];
	let done!: () => void;
	const finished = new Promise<void>(resolve => {
		done = resolve;
	});
	source.start({
		batch(batch) {
			received.push(batch.transitions[0]!.wallMs - batch.transitions[0]!.monoMs);
			// Between deliveries: a millisecond of reading jitter, then an hour's step.
			moved += received.length === 1 ? 1 : 3_600_000;
			if (received.length === 3) {
				done();
			}
		},
		error(error) {
			t.fail(error.message);
		},
	});
	await finished;
	await source.stop();
	const [first, second, third] = received;
	t.true(Math.abs(second! - first!) < 0.5, 'a jitter of a millisecond is not a step');
	t.true(Math.abs(third! - second! - 3_600_000) < 50, `an hour's step is followed (${third! - second!} ms)`);
});
