// The interactive view: header, status line, and the connection list (or help), redrawn on
// each refresh tick and after each key.
import {Box, useApp, useInput} from 'ink';
import {useCallback, useLayoutEffect, useMemo, useReducer, useRef} from 'react';
import type {ConnectionTable} from '../model/connection-table.js';
import {fitColumns} from '../model/columns.js';
import {ConnectionsPane} from './connections-pane.js';
import {Header} from './header.js';
import {HelpScreen} from './help-screen.js';
import {selectedIndexOf} from './keymap.js';
import {takeSnapshot, type Snapshot} from './snapshot.js';
import {StateCounts} from './state-counts.js';
import {StatusLine} from './status-line.js';
import {Totals} from './totals.js';
import {useF10} from './use-f10.js';
import {useRefreshTick} from './use-refresh-tick.js';
import {useTerminalSize} from './use-terminal-size.js';
import {reduceView, type ViewState} from './view-state.js';

export type AppProps = {
	readonly table: ConnectionTable;
	/** Monotonic milliseconds on the clock transitions carry (the kernel's CLOCK_MONOTONIC). */
	readonly now: () => number;
	readonly startedAtMs: number;
	readonly host: string;
	readonly kernel: string;
	readonly delaySeconds: number;
	readonly initialView: ViewState;
	/** Text for the start of the status line, read on every frame (a replay's progress). */
	readonly notice?: () => string | undefined;
};

/** Header, counts, totals, status: the lines above the list. */
const headerLines = 4;
// Ink ends a frame with a newline: a frame as tall as the terminal would scroll it by a line.
const bottomMargin = 1;

export function App({table, now, startedAtMs, host, kernel, delaySeconds, initialView, notice}: AppProps) {
	const {exit} = useApp();
	const size = useTerminalSize();
	const [view, dispatch] = useReducer(reduceView, initialView);
	// The model moves on every tick, paused or not: closed connections leave, rates advance.
	const sweep = useCallback(() => {
		table.sweep(now());
	}, [table, now]);
	const tick = useRefreshTick(delaySeconds * 1000, sweep);
	useF10(exit);

	// Less than the title bar and one row is left only on tiny terminals; it still draws.
	const paneHeight = Math.max(1, size.rows - headerLines - 1 - bottomMargin);
	const limit = Math.max(view.offset + paneHeight, view.selectedIndex + 1);
	// Paused, the frame keeps its tick; only the user's own sort and filter changes re-read the table.
	const frozenTick = useRef(tick);
	if (!view.paused) {
		frozenTick.current = tick;
	}

	const previous = useRef<Snapshot | undefined>(undefined);
	const snapshot = useMemo(
		() => takeSnapshot(table, {view, nowMs: now(), limit, previous: previous.current}),
		// Not the whole view: the rest of it (selection, prompt, help) does not change the rows.
		[table, now, frozenTick.current, view.sortKey, view.descending, view.filter, view.quickState, view.clearedAtMs, limit],
	);
	previous.current = snapshot;

	const {rows} = snapshot;
	const rowKeys = useMemo(() => rows.map(row => row.key), [rows]);
	const selectedIndex = selectedIndexOf(view, rowKeys);
	const offset = Math.max(0, Math.min(selectedIndex, Math.max(view.offset, selectedIndex - paneHeight + 1)));
	const visible = rows.slice(offset, offset + paneHeight);

	useInput((input, key) => {
		const screen = {rowKeys, matched: snapshot.matched, paneHeight, nowMs: now()};
		if (input.length <= 1 || key.ctrl || key.meta) {
			dispatch({type: 'key', input, key, screen});
			return;
		}

		// Keys that come faster than stdin is read (a paste, or typing over a slow link) arrive as
		// one string: each is a key of its own, and a carriage return among them is Enter.
		for (const character of input) {
			const enter = character === '\r';
			dispatch({type: 'key', input: enter ? '' : character, key: {...key, return: enter, shift: /[A-Z]/.test(character)}, screen});
		}
	});
	// Right after the frame that saw the key, before another tick can draw.
	useLayoutEffect(() => {
		if (view.quit) {
			exit();
		}
	}, [view.quit, exit]);

	const shown = fitColumns(size.columns);
	return (
		<Box flexDirection="column" width={size.columns}>
			<Header host={host} kernel={kernel} uptimeMs={snapshot.nowMs - startedAtMs} delaySeconds={delaySeconds} paused={view.paused} />
			<StateCounts counts={snapshot.stateCounts} />
			<Totals snapshot={snapshot} />
			<StatusLine view={view} matched={snapshot.matched} tracked={snapshot.tracked} notice={notice?.()} />
			{view.help
				? <HelpScreen />
				: <ConnectionsPane rows={visible} shown={shown} selectedKey={rows[selectedIndex]?.key} sortKey={view.sortKey} descending={view.descending} width={size.columns} />}
		</Box>
	);
}
