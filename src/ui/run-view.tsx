// `tcptop` on a terminal: the connection table fed by a source, drawn by the interactive view
// until the user quits, a signal arrives, or the source fails. Every way out unmounts Ink (which
// gives the terminal back: cursor, raw mode) and stops the source (which detaches the programs).
import {hostname, release} from 'node:os';
import {render, type Instance} from 'ink';
import type {TransitionSource} from '../capture/source.js';
import {ConnectionTable} from '../model/connection-table.js';
import {TransitionLog} from '../model/transition-log.js';
import {App} from './app.js';
import {feedTable} from './feed-table.js';
import {colorTheme, plainTheme, ThemeContext} from './theme.js';
import type {ViewState} from './view-state.js';

export type ViewOptions = {
	readonly delaySeconds: number;
	readonly initialView: ViewState;
	readonly color: boolean;
	readonly maxConnections: number | undefined;
};

const stopSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

// The clock the kernel stamps transitions with (bpf_ktime_get_ns): process.hrtime reads
// CLOCK_MONOTONIC on Linux.
const monotonicNow = () => Number(process.hrtime.bigint()) / 1e6;

/** Resolves once the view has closed and the source is stopped; rejects with what ended it. */
export async function runView(source: TransitionSource, options: ViewOptions): Promise<void> {
	const table = new ConnectionTable({maxConnections: options.maxConnections});
	const log = new TransitionLog();
	let failure: Error | undefined;
	let instance: Instance | undefined;
	let quitting = false;
	const quit = () => {
		quitting = true;
		instance?.unmount();
	};

	// A terminal that went away (SSH dropped) fails writes; the view ends, the source still stops.
	const onOutputError = quit;
	// Signals are taken over before the source attaches, so none can kill tcptop mid-start.
	for (const signal of stopSignals) {
		process.on(signal, quit);
	}

	try {
		feedTable(source, table, monotonicNow, error => {
			failure = error;
			quit();
		}, log);
		process.stdout.on('error', onOutputError);
		instance = render(
			<ThemeContext.Provider value={options.color ? colorTheme : plainTheme}>
				<App
					table={table}
					log={log}
					now={monotonicNow}
					startedAtMs={monotonicNow()}
					host={hostname()}
					kernel={release()}
					delaySeconds={options.delaySeconds}
					initialView={options.initialView}
				/>
			</ThemeContext.Provider>,
			// Ctrl-C is a key like q, so every way out takes the same path.
			{exitOnCtrlC: false, patchConsole: false, maxFps: 10},
		);
		if (quitting) {
			instance.unmount();
		}

		await instance.waitUntilExit();
	} finally {
		for (const signal of stopSignals) {
			process.off(signal, quit);
		}

		process.stdout.off('error', onOutputError);

		await source.stop();
	}

	if (failure) {
		throw failure;
	}
}
