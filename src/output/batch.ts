// `tcptop -b`: the connection table fed by a source, printed every interval until the
// iterations are done, a signal arrives, stdout closes, or the source fails.
import type {Writable} from 'node:stream';
import type {TransitionSource} from '../capture/source.js';
import type {ConnectionTable} from '../model/connection-table.js';
import {IntervalCounter} from '../model/interval-counts.js';
import {frameJson, formatText, takeFrame, type BatchFormat, type TextOptions} from './batch-format.js';
import {monotonicNow, runFed} from './run-fed.js';
import {jsonLine} from './sanitize.js';

export type BatchOptions = TextOptions & {
	readonly format: BatchFormat;
	/** How many times to print; undefined runs until stopped. */
	readonly iterations: number | undefined;
};

/** Resolves once the last iteration is out (or the reader left) and the source is stopped. */
export async function runBatch(source: TransitionSource, table: ConnectionTable, options: BatchOptions, out: Writable): Promise<void> {
	await runFed(source, table, (stop, startedAtMs) => {
		// Left in place after the run: a write that fails after the last iteration lands here too.
		out.on('error', (error: NodeJS.ErrnoException) => {
			// A reader that goes away (tcptop -b | head) ends the run quietly.
			stop(error.code === 'EPIPE' ? undefined : error);
		});
		const counter = new IntervalCounter(table.rates, startedAtMs);
		let printed = 0;
		let firstAtMs: number | undefined;
		let timer: NodeJS.Timeout | undefined;
		const print = () => {
			const nowMs = monotonicNow();
			firstAtMs ??= nowMs;
			table.sweep(nowMs);
			const frame = takeFrame(table, counter, {...options, nowMs, startedAtMs, wallMs: Date.now()});
			if (out.writable) {
				out.write(options.format === 'json' ? jsonLine(frameJson(frame)) + '\n' : formatText(frame, options));
			}

			printed++;
			if (options.iterations !== undefined && printed >= options.iterations) {
				stop();
				return;
			}

			// Scheduled from the first print, so the intervals do not drift by the time printing takes.
			const next = firstAtMs + (printed * options.delaySeconds * 1000);
			timer = setTimeout(print, Math.max(0, next - monotonicNow()));
		};

		// The first iteration right away: the start-up snapshot has made the table complete.
		print();
		return () => {
			clearTimeout(timer);
		};
	});
}
