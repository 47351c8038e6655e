// The one lifecycle every mode of tcptop runs in (trace, batch, headless metrics, the live
// view): a source started, shown until something stops the run (the user, a signal, the
// output going away, the source failing or ending), then everything undone in one order:
// what showed it (timers, Ink, which gives the terminal back), the signal handlers, and last
// the source, whose stop detaches the programs.
import type {TransitionSource} from './source.js';

/** The signals that end a run: Ctrl-C, kill, and a terminal that went away (SSH dropped). */
export const stopSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Ends the run; the first error any stop is given is what the run rejects with. */
export type Stop = (error?: Error) => void;

/** Undoes what a run's body set up, once the run has been stopped. */
export type Teardown = () => void | Promise<void>;

/**
 * Runs `body` (which starts the source and what shows it, and returns its teardown) until
 * `stop` is called; resolves once the teardown has run and the source has stopped, or rejects
 * with the first error passed to stop. The stop signals are taken over before the source is
 * prepared and the body runs, so none can kill tcptop mid-start; a signal is a stop without an
 * error. If preparing or the body throws, the source is still stopped and the error is the run's.
 */
export async function runLifecycle(source: TransitionSource, body: (stop: Stop) => Teardown | Promise<Teardown>): Promise<void> {
	let failure: Error | undefined;
	let end!: () => void;
	const stopped = new Promise<void>(resolve => {
		end = resolve;
	});
	let stopping = false;
	const stop: Stop = error => {
		failure ??= error;
		stopping = true;
		end();
	};

	const onSignal = () => {
		stop();
	};

	for (const signal of stopSignals) {
		process.on(signal, onSignal);
	}

	let teardown: Teardown | undefined;
	try {
		await source.prepare?.();
		// A signal while the source was being prepared: nothing is started.
		if (!stopping) {
			teardown = await body(stop);
		}

		await stopped;
	} finally {
		try {
			await teardown?.();
		} finally {
			for (const signal of stopSignals) {
				process.off(signal, onSignal);
			}

			await source.stop();
		}
	}

	if (failure) {
		throw failure;
	}
}
