// `tcptop -b`: the connection table fed by a source, printed every interval until the
// iterations are done, a signal arrives, stdout closes, the source fails, or a replay ends.
// Intervals are on the origin's clock: this host's, or a replay's (one print per recorded
// interval, however fast the replay goes).
import type {Writable} from 'node:stream';
import type {Origin} from '../core/origin.js';
import type {TransitionSource} from '../core/source.js';
import type {ConnectionTable} from '../model/connection-table.js';
import type {GroupKind} from '../model/groups.js';
import {IntervalCounter} from '../model/interval-counts.js';
import {frameJsonLine, formatTextPieces, takeFrame, type BatchFormat, type TextOptions} from './batch-format.js';
import {drained} from './drained.js';
import {watchReader} from './reader-watch.js';
import {runFed} from './run-fed.js';

export type BatchOptions = Omit<TextOptions, 'host' | 'kernel'> & {
	readonly format: BatchFormat;
	/** Groups in place of connections (see ConnectionTable.groupBy). */
	readonly groupBy?: GroupKind;
	/** How many times to print; undefined runs until stopped. */
	readonly iterations: number | undefined;
	/** Whether the reader of the output has gone (see reader-watch.ts); live runs ask it. */
	readonly readerGone?: () => boolean;
};

/** Characters of output written at once, at least (see frameJsonLine). */
const writeBytes = 1 << 20;

/** Resolves once the last iteration is out (or the reader left) and the source is stopped. */
export async function runBatch(source: TransitionSource, table: ConnectionTable, origin: Origin, options: BatchOptions, out: Writable): Promise<void> {
	const textOptions = {...options, host: origin.host, kernel: origin.kernel};
	await runFed(source, table, origin, (stop, feed) => {
		// Left in place after the run: a write that fails after the last iteration lands here too.
		out.on('error', (error: NodeJS.ErrnoException) => {
			// A reader that goes away (tcptop -b | head) ends the run quietly.
			stop(error.code === 'EPIPE' ? undefined : error);
		});
		const counter = new IntervalCounter(table.rates, origin.startedAtMs);
		if (options.groupBy) {
			table.groupBy(options.groupBy, origin.startedAtMs);
		}

		let printed = 0;
		let firstAtMs: number | undefined;
		let deliveriesPrinted = 0;
		let cancel: (() => void) | undefined;
		/** While a write waits for the stream to drain: one wait, however many prints are behind. */
		let draining: Promise<void> | undefined;
		const done = () => options.iterations !== undefined && printed >= options.iterations;
		/** Returns a promise while the output is behind, for a replay to wait on. */
		const print = (): Promise<void> | undefined => {
			const nowMs = origin.now();
			firstAtMs ??= nowMs;
			table.sweep(nowMs);
			const frame = takeFrame(table, counter, {...options, nowMs, startedAtMs: origin.startedAtMs, wallMs: origin.wallNow()});
			printed++;
			deliveriesPrinted = feed.deliveries;
			if (!out.writable) {
				return undefined;
			}

			// A long document goes out in pieces of about writeBytes; a short one in one write.
			let flowing = true;
			let text = '';
			for (const piece of options.format === 'json' ? frameJsonLine(frame) : formatTextPieces(frame, textOptions)) {
				text += piece;
				if (text.length >= writeBytes) {
					flowing = out.write(text);
					text = '';
					if (!out.writable) {
						return undefined;
					}
				}
			}

			if (text !== '') {
				flowing = out.write(text);
			}

			if (!flowing) {
				draining ??= drained(out).finally(() => {
					draining = undefined;
				});
			}

			return draining;
		};

		const tick = () => {
			const behind = print();
			if (done()) {
				stop();
				return undefined;
			}

			// Scheduled from the first print, so the intervals do not drift by the time printing takes.
			cancel = origin.setTimer(firstAtMs! + (printed * options.delaySeconds * 1000), tick);
			return behind;
		};

		// Between prints far apart (-d 60), a reader that left is noticed without a write.
		const stopWatching = watchReader(options.readerGone, () => {
			stop();
		});
		// The first iteration right away: the start-up snapshot has made the table complete.
		void tick();
		return {
			cleanUp() {
				cancel?.();
				stopWatching();
			},
			ended() {
				// The recording's last, partial interval, if anything happened in it.
				if (!done() && feed.deliveries > deliveriesPrinted) {
					void print();
				}

				stop();
			},
		};
	});
}
