// `tcptop trace`: every transition from a source, streamed to a writable until the source
// fails, the duration ends, stdout closes, or a signal arrives.
import type {Writable} from 'node:stream';
import type {Origin} from '../core/origin.js';
import {runLifecycle} from '../core/run-lifecycle.js';
import type {TransitionSource} from '../core/source.js';
import {drained} from './drained.js';
import {watchReader} from './reader-watch.js';
import {formatBatch, TextLayout, type TraceFormat} from './trace-format.js';

export type TraceOptions = {
	format: TraceFormat;
	/** Stop after this many seconds; undefined runs until stopped. */
	durationSeconds?: number;
	ipv6Only?: boolean;
	/**
	 * The clock of a replay, which waits while the output is behind (its timers hold it), so a
	 * slow reader does not make the output pile up in memory. A live capture cannot wait.
	 */
	replay?: Pick<Origin, 'now' | 'setTimer'>;
	/** Whether the reader of the output has gone (see reader-watch.ts); a live trace asks it. */
	readerGone?: () => boolean;
};

/** Resolves to the exit code once the trace has ended and the source is stopped. */
export async function runTrace(source: TransitionSource, options: TraceOptions, out: Writable, err: Writable): Promise<number> {
	const layout = new TextLayout({ipv6Only: options.ipv6Only});
	let dropped = 0;
	let lost = 0;

	/** While a write waits for the stream to drain: one wait, however many batches are behind. */
	let draining: Promise<void> | undefined;
	const write = (text: string) => {
		if (!out.write(text) && options.replay && draining === undefined) {
			draining = drained(out).finally(() => {
				draining = undefined;
			});
			// Held before the replay's next event.
			options.replay.setTimer(options.replay.now(), () => draining);
		}
	};

	// A failure is the trace's to report (the source's, or the output's); the run ends without one.
	let failure: Error | undefined;
	await runLifecycle(source, stop => {
		const fail = (error: Error) => {
			failure ??= error;
			stop();
		};

		// Throws (nothing printed yet) when the source cannot start; batches arrive from the next tick on.
		source.start({
			batch(batch) {
				dropped = batch.dropped;
				lost = batch.lost;
				if ((batch.transitions.length > 0 || (batch.incidents?.length ?? 0) > 0) && out.writable) {
					write(formatBatch(batch.transitions, options.format, layout, batch.incidents));
				}
			},
			// A replay that reached the end of its recording.
			end: () => {
				stop();
			},
			error: fail,
		});
		const onOutputError = (error: NodeJS.ErrnoException) => {
			// A reader that goes away (tcptop trace | head) ends the trace quietly.
			if (error.code === 'EPIPE') {
				stop();
			} else {
				fail(error);
			}
		};

		// Kept after the run: a write still buffered may fail once it has ended.
		out.on('error', onOutputError);
		const timer = options.durationSeconds === undefined ? undefined : setTimeout(stop, options.durationSeconds * 1000);
		const stopWatching = watchReader(options.readerGone, stop);
		if (options.format === 'text') {
			write(layout.header() + '\n');
		}

		return () => {
			clearTimeout(timer);
			stopWatching();
		};
	});

	if (dropped + lost > 0) {
		err.write(`tcptop: ${dropped + lost} events lost (${dropped} dropped by the kernel, buffer full; ${lost} lost by the perf buffer)\n`);
	}

	if (failure) {
		err.write(`tcptop: ${failure.message}\n`);
		return 1;
	}

	return 0;
}
