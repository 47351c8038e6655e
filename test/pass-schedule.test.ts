// Socket passes come at the refresh interval while they are cheap, and less often when they
// cost more than their share of a core (a host with a hundred thousand sockets), so tcptop's
// idle cost does not grow with the host. A stand-in for the native addon reports each pass's cost.
import {setTimeout as delay} from 'node:timers/promises';
import test from 'ava';
import type {BatchCallback, CaptureAddon, NativeCapture} from '../src/capture/addon.js';
import {RECORD_SIZE} from '../src/capture/decode.js';
import {KernelSource, passBudget} from '../src/capture/kernel-source.js';

/**
 * An addon whose passes are empty and report costing passCpuMs (completeCpuMs for complete
 * ones); counts the passes asked for, and the complete ones.
 */
function fakeAddon(passCpuMs: number, completeCpuMs = passCpuMs): {addon: CaptureAddon; asked: () => number; complete: () => number} {
	let asked = 0;
	let completeAsked = 0;
	class Capture implements NativeCapture {
		readonly acceptOwners = false;
		constructor(_options: unknown, private readonly onBatch: BatchCallback, private readonly onClose: () => void) {}
		stop(): void {
			this.onClose();
		}

		snapshot(): ArrayBuffer {
			return new ArrayBuffer(0);
		}

		requestPass(complete: boolean): void {
			asked++;
			completeAsked += complete ? 1 : 0;
			setImmediate(() => {
				this.onBatch(new ArrayBuffer(0), 0, 0, 0, performance.now(), complete, complete ? completeCpuMs : passCpuMs);
			});
		}
	}

	return {addon: {recordSize: RECORD_SIZE, readerGone: () => false, Capture}, asked: () => asked, complete: () => completeAsked};
}

async function passesIn(ms: number, intervalMs: number, passCpuMs: number): Promise<number> {
	const {addon, asked} = fakeAddon(passCpuMs);
	const source = new KernelSource({passIntervalMs: intervalMs, netCounters: () => undefined}, addon);
	source.start({batch() {}, pass() {}, error() {}});
	await delay(ms);
	await source.stop();
	return asked();
}

test('cheap passes come every interval; costly ones wait their cost over the budget', async t => {
	const cheap = await passesIn(600, 20, 0);
	// A pass that takes 2 ms may come every 2 / budget ms (200 ms at 1 %), however short the interval.
	const costly = await passesIn(600, 20, 2);
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
