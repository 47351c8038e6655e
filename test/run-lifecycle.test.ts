import test from 'ava';
import {runLifecycle, stopSignals} from '../src/core/run-lifecycle.js';
import type {TransitionSource} from '../src/core/source.js';

/** A source that records when it was stopped, in order with the other steps. */
function recordingSource(steps: string[]): TransitionSource {
	return {
		start() {
			steps.push('start');
		},
		async stop() {
			steps.push('source stopped');
			return Promise.resolve();
		},
	};
}

for (const signal of stopSignals) {
	test.serial(`${signal} ends the run: teardown, then signal handlers released, then the source stopped`, async t => {
		const steps: string[] = [];
		const source = recordingSource(steps);
		const before = process.listenerCount(signal);
		const run = runLifecycle(source, () => {
			source.start({batch() {}, error() {}});
			t.is(process.listenerCount(signal), before + 1, 'the signal is taken over before the body runs');
			return async () => {
				await Promise.resolve();
				steps.push('teardown');
				t.is(process.listenerCount(signal), before + 1, 'still held while the view is torn down');
			};
		});
		await new Promise(resolve => setImmediate(resolve));
		process.emit(signal, signal);
		await run;
		t.deepEqual(steps, ['start', 'teardown', 'source stopped']);
		t.is(process.listenerCount(signal), before);
	});
}

test.serial('the first error given to stop is what the run rejects with; the source still stops', async t => {
	const steps: string[] = [];
	const run = runLifecycle(recordingSource(steps), stop => {
		setImmediate(() => {
			stop(new Error('first'));
			stop(new Error('second'));
		});
		return () => {
			steps.push('teardown');
		};
	});
	await t.throwsAsync(run, {message: 'first'});
	t.deepEqual(steps, ['teardown', 'source stopped']);
});

test.serial('a body that throws (a source that cannot start) still stops the source and releases the signals', async t => {
	const steps: string[] = [];
	const before = process.listenerCount('SIGINT');
	await t.throwsAsync(runLifecycle(recordingSource(steps), () => {
		throw new Error('cannot attach');
	}), {message: 'cannot attach'});
	t.deepEqual(steps, ['source stopped']);
	t.is(process.listenerCount('SIGINT'), before);
});

test.serial('a teardown that fails still stops the source', async t => {
	const steps: string[] = [];
	await t.throwsAsync(runLifecycle(recordingSource(steps), stop => {
		setImmediate(stop);
		return () => {
			throw new Error('unmount failed');
		};
	}), {message: 'unmount failed'});
	t.deepEqual(steps, ['source stopped']);
});

test.serial('a stop during start-up (before the body returned) ends the run once the body is done', async t => {
	const steps: string[] = [];
	await runLifecycle(recordingSource(steps), async stop => {
		stop();
		await new Promise(resolve => setTimeout(resolve, 10));
		steps.push('body done');
		return () => {
			steps.push('teardown');
		};
	});
	t.deepEqual(steps, ['body done', 'teardown', 'source stopped']);
});

/** recordingSource, with a prepare that waits for `ready` (and says when it began and ended). */
function preparedSource(steps: string[], ready: Promise<void>): TransitionSource {
	return {
		...recordingSource(steps),
		async prepare() {
			steps.push('preparing');
			await ready;
			steps.push('prepared');
		},
	};
}

test.serial('the source is prepared, with the signals taken, before the body runs', async t => {
	const steps: string[] = [];
	const before = process.listenerCount('SIGINT');
	let ready!: () => void;
	const run = runLifecycle(preparedSource(steps, new Promise(resolve => {
		ready = resolve;
	})), stop => {
		steps.push('body');
		setImmediate(stop);
		return () => undefined;
	});
	await new Promise(resolve => setImmediate(resolve));
	t.deepEqual(steps, ['preparing'], 'the body waits for the preparation');
	t.is(process.listenerCount('SIGINT'), before + 1);
	ready();
	await run;
	t.deepEqual(steps, ['preparing', 'prepared', 'body', 'source stopped']);
});

test.serial('a preparation that fails is the run\'s error: no body, the source stopped', async t => {
	const steps: string[] = [];
	await t.throwsAsync(runLifecycle(preparedSource(steps, Promise.reject(new Error('verifier said no'))), () => {
		steps.push('body');
		return () => undefined;
	}), {message: 'verifier said no'});
	t.deepEqual(steps, ['preparing', 'source stopped']);
});

test.serial('a signal while the source is prepared: nothing is started, the run ends', async t => {
	const steps: string[] = [];
	let ready!: () => void;
	const run = runLifecycle(preparedSource(steps, new Promise(resolve => {
		ready = resolve;
	})), () => {
		steps.push('body');
		return () => undefined;
	});
	await new Promise(resolve => setImmediate(resolve));
	process.emit('SIGINT', 'SIGINT');
	ready();
	await run;
	t.deepEqual(steps, ['preparing', 'prepared', 'source stopped']);
});
