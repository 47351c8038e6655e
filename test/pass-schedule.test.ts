// Socket passes come at the refresh interval while they are cheap, and less often when they
// cost more than their share of a core (a host with a hundred thousand sockets), so tcptop's
// idle cost does not grow with the host. A stand-in for the native addon reports each pass's cost.
import {setTimeout as delay} from 'node:timers/promises';
import test from 'ava';
import {PassKind, type BatchCallback, type CaptureAddon, type NativeCapture} from '../src/capture/addon.js';
import {RECORD_SIZE} from '../src/capture/decode.js';
import {KernelSource, passBudget} from '../src/capture/kernel-source.js';

/**
 * An addon whose passes are empty and report costing passCpuMs (completeCpuMs for complete
 * ones, listenersCpuMs for listeners passes); counts the passes of the connections asked for,
 * the complete ones among them, and the listeners passes.
 */
function fakeAddon(passCpuMs: number, completeCpuMs = passCpuMs, listenersCpuMs = 0): {addon: CaptureAddon; asked: () => number; complete: () => number; listeners: () => number} {
	let asked = 0;
	let completeAsked = 0;
	let listenersAsked = 0;
	class Capture implements NativeCapture {
		readonly acceptOwners = false;
		constructor(_options: unknown, private readonly onBatch: BatchCallback, private readonly onClose: () => void) {}
		stop(): void {
			this.onClose();
		}

		snapshot(): ArrayBuffer {
			return new ArrayBuffer(0);
		}

		requestPass(kind: PassKind): void {
			const complete = kind === PassKind.complete;
			if (kind === PassKind.listeners) {
				listenersAsked++;
			} else {
				asked++;
				completeAsked += complete ? 1 : 0;
			}

			const cost = complete ? completeCpuMs : (kind === PassKind.listeners ? listenersCpuMs : passCpuMs);
			setImmediate(() => {
				this.onBatch(new ArrayBuffer(0), 0, 0, 0, performance.now(), complete, cost);
			});
		}
	}

	return {addon: {recordSize: RECORD_SIZE, readerGone: () => false, Capture}, asked: () => asked, complete: () => completeAsked, listeners: () => listenersAsked};
}

async function passesIn(ms: number, intervalMs: number, passCpuMs: number, listenersCpuMs = 0): Promise<{asked: number; listeners: number}> {
	const {addon, asked, listeners} = fakeAddon(passCpuMs, passCpuMs, listenersCpuMs);
	const source = new KernelSource({passIntervalMs: intervalMs, netCounters: () => undefined}, addon);
	source.start({batch() {}, pass() {}, error() {}});
	await delay(ms);
	await source.stop();
	return {asked: asked(), listeners: listeners()};
}

test('cheap passes come every interval; costly ones wait their cost over the budget', async t => {
	const {asked: cheap} = await passesIn(600, 20, 0);
	// A pass that takes 2 ms may come every 2 / budget ms (200 ms at 1 %), however short the interval.
	const {asked: costly} = await passesIn(600, 20, 2);
	t.true(costly <= 1 + (600 / (2 / passBudget)), `${costly} costly passes in 600 ms`);
	t.true(costly >= 1);
	// A loaded machine runs timers late, so the cheap ones are only sure to be many more.
	t.true(cheap >= 2 * (1 + (600 / (2 / passBudget))), `${cheap} cheap passes in 600 ms`);
});

test('a complete pass comes every fifth, and not before the last complete one\'s cost over the budget', async t => {
	const run = async (completeCpuMs: number) => {
		const {addon, asked, complete} = fakeAddon(0, completeCpuMs);
		// The passes cost nothing but what the source itself does: no reading of this host's counters.
		const source = new KernelSource({passIntervalMs: 10, netCounters: () => undefined}, addon);
		source.start({batch() {}, pass() {}, error() {}});
		await delay(600);
		await source.stop();
		return {asked: asked(), complete: complete()};
	};

	const cheap = await run(0);
	t.true(cheap.complete >= 2 && cheap.complete <= Math.ceil(cheap.asked / 5), `${cheap.complete} of ${cheap.asked} complete`);
	// One costing 3 ms waits 300 ms at 1 %: at most two in 600 ms, the cheap passes going on between.
	const costly = await run(3);
	t.true(costly.complete >= 1 && costly.complete <= 1 + (600 / (3 / passBudget)), `${costly.complete} of ${costly.asked} complete`);
	t.true(costly.asked - costly.complete >= 2 * costly.complete, `${costly.asked - costly.complete} counters passes between them`);
});

test('between costly passes, listeners passes keep the interval, themselves within the budget', async t => {
	// Passes well within the budget (an empty one costs a fraction of the 6 ms 600 ms allow,
	// even on a loaded machine): none.
	const steady = await passesIn(1500, 600, 0);
	t.is(steady.listeners, 0, 'no listeners pass while the passes keep the interval');
	t.true(steady.asked >= 2);
	// Passes of the connections costing 3 ms come every 300 ms; listeners passes fill the interval.
	const {asked, listeners} = await passesIn(600, 20, 3, 0);
	t.true(asked <= 1 + (600 / (3 / passBudget)), `${asked} passes of the connections`);
	t.true(listeners >= 5, `${listeners} listeners passes in 600 ms`);
	// Listeners passes costing 1 ms come every 100 ms at most.
	const costly = await passesIn(600, 20, 3, 1);
	t.true(costly.listeners <= 1 + (600 / (1 / passBudget)), `${costly.listeners} listeners passes costing 1 ms`);
	t.true(costly.listeners >= 1);
});
