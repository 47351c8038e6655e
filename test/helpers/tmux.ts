// A terminal for tests: a tmux server of the test's own (no user's sessions or settings are
// involved), one session in it, keys sent with send-keys, the screen read with capture-pane.
import {execFileSync} from 'node:child_process';
import {setTimeout as delay} from 'node:timers/promises';

export type Terminal = {
	readonly session: string;
	readonly tmux: (...args: string[]) => string;
	readonly screen: () => string;
	/** The screen with its colours and attributes, as SGR sequences. */
	readonly styledScreen: () => string;
	/** Polls `probe` until it returns a value (10 s at most; the error shows the screen). */
	readonly until: <T>(what: string, probe: () => T | undefined) => Promise<T>;
};

export function terminal(name: string, session = 'view'): Terminal {
	const socket = `tcptop-test-${process.pid}-${name}`;
	const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', socket, ...args], {encoding: 'utf8'});
	const screen = (): string => tmux('capture-pane', '-p', '-t', session);
	return {
		session,
		tmux,
		screen,
		styledScreen: () => tmux('capture-pane', '-p', '-e', '-t', session),
		async until<T>(what: string, probe: () => T | undefined): Promise<T> {
			for (let waited = 0; waited < 10_000; waited += 50) {
				const value = probe();
				if (value !== undefined) {
					return value;
				}

				await delay(50);
			}

			throw new Error(`timed out waiting for ${what}; screen:\n${screen()}`);
		},
	};
}
