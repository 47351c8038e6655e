// KernelSource.prepare against a fake addon: what start attaches, and when it refuses.
import test from 'ava';
import type {CaptureAddon, LoadedCapture, NativeCaptureOptions} from '../src/capture/addon.js';
import {RECORD_SIZE} from '../src/capture/decode.js';
import {KernelSource} from '../src/capture/kernel-source.js';

/**
 * An addon whose load() is settled by the test; each Capture made records what it was given,
 * and says accept() is not traced for `acceptOwnersProblem`, when given.
 */
function fakeAddon(acceptOwnersProblem?: string) {
	const given: Array<NativeCaptureOptions | LoadedCapture> = [];
	let settle!: {resolve: (loaded: LoadedCapture) => void; reject: (error: Error) => void};
	let loads = 0;
	const addon: CaptureAddon = {
		recordSize: RECORD_SIZE,
		readerGone: () => false,
		async load() {
			loads++;
			return new Promise<LoadedCapture>((resolve, reject) => {
				settle = {resolve, reject};
			});
		},
		Capture: class {
			readonly acceptOwners = false;
			readonly acceptOwnersProblem = acceptOwnersProblem;
			readonly #onClose: () => void;
			constructor(options: NativeCaptureOptions | LoadedCapture, _onBatch: unknown, onClose: () => void) {
				given.push(options);
				this.#onClose = onClose;
			}

			stop(): void {
				this.#onClose();
			}

			snapshot(): ArrayBuffer {
				return new ArrayBuffer(0);
			}

			requestPass(): void {}
		},
	};
	return {addon, given, settle: () => settle, loads: () => loads};
}

const handlers = {batch() {}, error() {}};
const loadedSession = {loadedCapture: 'session'} as unknown as LoadedCapture;

test('start attaches the session prepare loaded, once; without prepare it loads at once from the options', async t => {
	const fake = fakeAddon();
	const prepared = new KernelSource({passesOnly: true}, fake.addon);
	const preparing = prepared.prepare();
	void prepared.prepare();
	t.is(fake.loads(), 1, 'one load, however many calls');
	fake.settle().resolve(loadedSession);
	await preparing;
	prepared.start(handlers);
	t.is(fake.given[0], loadedSession);
	await prepared.stop();

	const direct = new KernelSource({passesOnly: true}, fake.addon);
	direct.start(handlers);
	t.like(fake.given[1], {passesOnly: true, transport: 'ringbuf'});
	await direct.stop();
});

test('start while prepare is under way is refused', async t => {
	const fake = fakeAddon();
	const source = new KernelSource({}, fake.addon);
	const preparing = source.prepare();
	t.throws(() => {
		source.start(handlers);
	}, {message: /still being prepared/});
	fake.settle().resolve(loadedSession);
	await preparing;
	source.start(handlers);
	t.is(fake.given.length, 1);
	await source.stop();
});

test('a load that fails fails every prepare and start with its error, and loads nothing more', async t => {
	const fake = fakeAddon();
	const source = new KernelSource({}, fake.addon);
	const early = source.prepare();
	early.catch(() => undefined); // as the command line does: the run awaits it again
	const refused = Object.assign(new Error('the kernel\'s verifier rejected tcptop\'s BPF program'), {code: 'EVERIFIER'});
	fake.settle().reject(refused);
	await t.throwsAsync(source.prepare(), {is: refused});
	t.throws(() => {
		source.start(handlers);
	}, {is: refused});
	t.is(fake.loads(), 1);
	t.is(fake.given.length, 0, 'nothing attached');
	await source.stop();
});

test('accept() asked for and not traced: the source says why in one line, at start', async t => {
	const warned: string[] = [];
	// No load(): the source loads at once, as without prepare.
	const addon: CaptureAddon = {...fakeAddon('cannot attach to the exits of accept() and accept4() (No such file or directory)').addon, load: undefined};
	for (const acceptOwners of [true, false]) {
		const source = new KernelSource({acceptOwners, warn: message => warned.push(message)}, addon);
		source.start(handlers);
		await source.stop();
	}

	t.deepEqual(warned, ['--accept-owners: cannot attach to the exits of accept() and accept4() (No such file or directory); the owners of accepted connections come from the socket walks']);
});
