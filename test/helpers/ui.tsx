// tsconfig.json covers src/ only, so tsx compiles this file without its jsx setting.
/** @jsxRuntime automatic @jsxImportSource react */
// The interactive view in ink-testing-library, fed by a fake source on a clock the test moves.
import {setTimeout as delay} from 'node:timers/promises';
import type {ExecutionContext} from 'ava';
import {render} from 'ink-testing-library';
import {TcpState, type ExistingSocket, type Transition} from '../../src/core/transition.js';
import type {SourceHandlers, TransitionSource} from '../../src/core/source.js';
import {ConnectionTable} from '../../src/model/connection-table.js';
import {TransitionLog} from '../../src/model/transition-log.js';
import {App} from '../../src/ui/app.js';
import {feedTable} from '../../src/model/feed-table.js';
import {colorTheme, plainTheme, ThemeContext} from '../../src/ui/theme.js';
import {initialViewState} from '../../src/ui/view-state.js';
import type {Filter} from '../../src/model/filter.js';
import type {Settings} from '../../src/ui/settings.js';

/** A source the test pushes hand-built transitions through. */
export class FakeSource implements TransitionSource {
	handlers: SourceHandlers | undefined;
	stopped = false;

	/** `existing` is the start-up snapshot it hands a consumer that asks for one. */
	constructor(private readonly existing: readonly ExistingSocket[] = []) {}

	start(handlers: SourceHandlers): void {
		this.handlers = handlers;
		handlers.snapshot?.({monoMs: 0, wallMs: 0, sockets: this.existing, namespaces: [1], owners: true, complete: true});
	}

	async stop(): Promise<void> {
		this.stopped = true;
		return Promise.resolve();
	}

	push(transitions: Transition[], lost = 0): void {
		this.handlers!.batch({transitions, resets: [], accepted: [], dropped: 0, lost});
	}
}

let nextSock = 1;

/** One transition on 127.0.0.1, from lport to rport. */
export function transition(fields: Partial<Transition> & {oldstate: number; newstate: number; monoMs: number}): Transition {
	return {
		wallMs: fields.monoMs,
		sock: nextSock++,
		netns: 1,
		pid: 100,
		tid: 100,
		comm: 'client',
		family: 4,
		laddr: '127.0.0.1',
		lport: 40_000,
		raddr: '127.0.0.1',
		rport: 5432,
		ms: null,
		...fields,
	};
}

/** A connection that connected at monoMs and is ESTABLISHED (two transitions). */
export function established(fields: Partial<Transition> & {monoMs: number}): Transition[] {
	const sock = nextSock++;
	return [
		transition({...fields, sock, oldstate: TcpState.CLOSE, newstate: TcpState.SYN_SENT}),
		transition({...fields, sock, oldstate: TcpState.SYN_SENT, newstate: TcpState.ESTABLISHED, pid: 0, comm: 'swapper/0'}),
	];
}

export type ViewHarness = {
	source: FakeSource;
	table: ConnectionTable;
	clock: {now: number};
	frame(): string;
	press(...sequence: string[]): Promise<void>;
	/** Waits until the frame passes `test` (a refresh or a key may be on its way). */
	until(test: (frame: string) => boolean): Promise<string>;
	/** Whether the view has closed: it read the terminal's keys and has stopped (Ink does when the app exits). */
	closed(): boolean;
	resize(columns: number, rows: number): void;
	unmount(): void;
};

export const tickSeconds = 0.02;

export type HarnessOptions = {
	color?: boolean;
	sortKey?: string;
	filter?: Filter;
	columns?: number;
	rows?: number;
	existing?: readonly ExistingSocket[];
	/** The header's host (a replay's comes from its file). */
	host?: string;
	/** What the host calls a network namespace (Origin.namespaceName). */
	namespaceName?: (inode: number) => string | undefined;
	/** Settings to start with (tcptoprc's), and where the setup screen's go when it closes. */
	settings?: Settings;
	saveSettings?: (settings: Settings) => string | undefined;
};

/** Renders the view for one test, unmounted when the test ends (or its timer keeps the process alive). */
export function renderView(t: ExecutionContext, options: HarnessOptions = {}): ViewHarness {
	const source = new FakeSource(options.existing);
	const table = new ConnectionTable();
	const log = new TransitionLog();
	const clock = {now: 100_000};
	const now = () => clock.now;
	feedTable(source, table, now, error => {
		throw error;
	}, {log});
	const view = (
		<ThemeContext.Provider value={options.color === false ? plainTheme : colorTheme}>
			<App
				table={table}
				log={log}
				now={now}
				startedAtMs={clock.now}
				host={options.host ?? 'testhost'}
				kernel="6.18.0-test"
				delaySeconds={tickSeconds}
				initialView={initialViewState({sortKey: options.sortKey ?? 'inState', filter: options.filter, settings: options.settings})}
				namespaceName={options.namespaceName}
				saveSettings={options.saveSettings}
			/>
		</ThemeContext.Provider>
	);
	// The size is set before the first frame, as a terminal has one from the start.
	const instance = renderSized(view, options.columns ?? 100, options.rows ?? 24);
	t.teardown(() => {
		instance.unmount();
	});
	const frame = () => instance.lastFrame() ?? '';
	// Keys are read ('readable', as Ink does, or 'data') from an effect after the first frame,
	// until the view unmounts.
	const reading = () => instance.stdin.listenerCount('readable') + instance.stdin.listenerCount('data') > 0;
	let wasReading = reading();
	instance.stdin.on('newListener', (event: string) => {
		wasReading ||= event === 'readable' || event === 'data';
	});
	let typed = false;
	const until = async (test: (frame: string) => boolean) => {
		for (let waited = 0; waited < 2000; waited += 10) {
			if (test(frame())) {
				return frame();
			}

			await delay(10);
		}

		throw new Error(`the frame never matched; last frame:\n${frame()}`);
	};

	return {
		source,
		table,
		clock,
		frame,
		async press(...sequence) {
			// Ink subscribes to keys in an effect that runs after the first frame is drawn.
			if (!typed) {
				typed = true;
				await delay(50);
			}

			for (const key of sequence) {
				instance.stdin.write(key);
				// Ink takes a lone Escape as a key only after a short wait for more of a sequence.
				await delay(key === keys.escape ? 60 : 15);
			}
		},
		until,
		closed: () => wasReading && !reading(),
		resize(columns, rows) {
			setSize(instance.stdout, columns, rows);
			instance.stdout.emit('resize');
		},
		unmount() {
			instance.unmount();
		},
	};
}

export const keys = {
	up: '\u001B[A',
	down: '\u001B[B',
	pageDown: '\u001B[6~',
	pageUp: '\u001B[5~',
	home: '\u001B[H',
	end: '\u001B[F',
	enter: '\r',
	escape: '\u001B',
	backspace: '\u007F',
	f10: '\u001B[21~',
	ctrlC: '\u0003',
};

function renderSized(view: React.JSX.Element, columns: number, rows: number): ReturnType<typeof render> {
	// ink-testing-library's stdout is 100 columns with no rows; the view reads both on mount.
	const instance = render(<></>);
	setSize(instance.stdout, columns, rows);
	instance.rerender(view);
	return instance;
}

function setSize(stdout: object, columns: number, rows: number): void {
	Object.defineProperty(stdout, 'columns', {value: columns, configurable: true});
	Object.defineProperty(stdout, 'rows', {value: rows, configurable: true});
}

/** The text of a frame without colour codes. */
export function plain(frame: string): string {
	return frame.replaceAll(/\u001B\[[\d;]*m/g, '');
}

/** The frame's connection rows: the lines between the title bar and the next pane. */
export function rowLines(frame: string): string[] {
	const lines = plain(frame).split('\n');
	const title = lines.findIndex(line => /^ +PID/.test(line) && line.includes('LOCAL'));
	if (title === -1) {
		return [];
	}

	const end = lines.findIndex((line, index) => index > title && /^(TRANSITION|Transitions|TIME )/.test(line));
	return lines.slice(title + 1, end === -1 ? undefined : end).filter(line => line.trim() !== '');
}

/** The lines of the Transitions pane, from its title. */
export function transitionLines(frame: string): string[] {
	const lines = plain(frame).split('\n');
	const title = lines.findIndex(line => /^(TRANSITION|Transitions)/.test(line));
	if (title === -1) {
		return [];
	}

	const end = lines.findIndex((line, index) => index > title && /^TIME /.test(line));
	return lines.slice(title, end === -1 ? undefined : end).filter(line => line.trim() !== '');
}

/** The event log's lines, after its title. */
export function logLines(frame: string): string[] {
	const lines = plain(frame).split('\n');
	const title = lines.findIndex(line => /^TIME +TRANSITION/.test(line));
	return title === -1 ? [] : lines.slice(title + 1).filter(line => line.trim() !== '');
}
