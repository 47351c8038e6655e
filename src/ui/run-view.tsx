// `tcptop` on a terminal: the connection table fed by a source, drawn by the interactive view
// until the user quits, a signal arrives, or the source fails. Every way out turns the mouse
// reports off, unmounts Ink (which gives the terminal back: cursor, raw mode) and stops the
// source (which detaches the programs).
import {render} from 'ink';
import {runLifecycle} from '../core/run-lifecycle.js';
import type {TransitionSource} from '../core/source.js';
import type {ConnectionTable} from '../model/connection-table.js';
import {TransitionLog} from '../model/transition-log.js';
import {App} from './app.js';
import {installFastOutput} from './fast-output.js';
import {FrameWriter} from './frame-writer.js';
import {inkInternals} from './ink-internals.js';
import {mouseOff, mouseOn} from './keys.js';
import {boundInkTextCache} from './ink-text-cache.js';
import {feedTable} from '../model/feed-table.js';
import {colorTheme, plainTheme, ThemeContext} from './theme.js';
import {liveOrigin, type ViewOrigin} from './view-origin.js';
import type {ViewState} from './view-state.js';
import type {Settings} from './settings.js';

export type ViewOptions = {
	readonly delaySeconds: number;
	readonly initialView: ViewState;
	readonly color: boolean;
	/** Ask the terminal for mouse reports (clicks and the wheel); --no-mouse leaves them off. */
	readonly mouse: boolean;
	/** A replay's host and clock; this host's when not given. */
	readonly origin?: ViewOrigin;
	/** Keeps the setup screen's settings (see App). */
	readonly saveSettings?: (settings: Settings) => string | undefined;
};

/** Resolves once the view has closed and the source is stopped; rejects with what ended it. */
export async function runView(source: TransitionSource, table: ConnectionTable, options: ViewOptions): Promise<void> {
	const origin = options.origin ?? liveOrigin();
	const log = new TransitionLog();
	await runLifecycle(source, async stop => {
		// A terminal that went away (SSH dropped) fails writes; the view ends, the source still stops.
		const onOutputError = () => {
			stop();
		};

		// The Ink internals this Ink allows (src/ui/ink-internals.ts): its output step without its
		// per-cell objects, its text-size cache bounded, its debug mode into the frame writer.
		const {workarounds} = await inkInternals();
		await installFastOutput();
		await boundInkTextCache();
		feedTable(source, table, origin.now, stop, {log});
		process.stdout.on('error', onOutputError);
		const frames = workarounds.frameWriter.active ? new FrameWriter(process.stdout) : undefined;
		const instance = render(
			<ThemeContext.Provider value={options.color ? colorTheme : plainTheme}>
				<App
					table={table}
					log={log}
					now={origin.now}
					startedAtMs={origin.startedAtMs}
					host={origin.host}
					kernel={origin.kernel}
					notice={origin.notice}
					namespaceName={origin.namespaceName}
					delaySeconds={options.delaySeconds}
					initialView={options.initialView}
					saveSettings={options.saveSettings}
				/>
			</ThemeContext.Provider>,
			// Ctrl-C is a key like q, so every way out takes the same path. Ink's debug mode hands
			// each whole frame to the writer, which sends the terminal only the changed lines;
			// without the writer, Ink draws on the terminal itself, each frame whole.
			frames
				? {stdout: frames as unknown as NodeJS.WriteStream, debug: true, exitOnCtrlC: false, patchConsole: false}
				: {exitOnCtrlC: false, patchConsole: false},
		);
		// Mouse reports, turned off again before the terminal is given back, however the view ends.
		if (options.mouse) {
			process.stdout.write(mouseOn);
		}

		// The user quit (q, Ctrl-C) or the app failed.
		instance.waitUntilExit().then(() => {
			stop();
		}, stop);
		return async () => {
			if (options.mouse) {
				process.stdout.write(mouseOff);
			}

			// Unmounting gives the terminal back (cursor, raw mode) before the programs detach.
			instance.unmount();
			await instance.waitUntilExit().catch(() => undefined);
			frames?.end();
			process.stdout.off('error', onOutputError);
		};
	});
}
