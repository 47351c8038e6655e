// The interactive view: header, status line, then the panes (connections, transitions, the
// event log) or a full view in their place (help, a connection's detail, the sort picker),
// redrawn on each refresh tick and after each key.
import {Box, useApp} from 'ink';
import {useCallback, useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState} from 'react';
import type {ConnectionTable} from '../model/connection-table.js';
import {columnByKey, fitColumns, type Column} from '../model/columns.js';
import {groupColumns} from '../model/group-columns.js';
import {groupKindByKey} from '../model/groups.js';
import type {TransitionLog} from '../model/transition-log.js';
import {ConnectionsPane} from './connections-pane.js';
import {DetailView} from './detail-view.js';
import {EdgeDetailView} from './edge-detail.js';
import {EventLogPane} from './event-log-pane.js';
import {Header} from './header.js';
import {HelpScreen} from './help-screen.js';
import type {KeyPress} from './keys.js';
import {reduceKeys, selectedIndexOf, type Screen} from './keymap.js';
import {paneHeights} from './layout.js';
import {findConnection, findGroup, takeSnapshot, type Snapshot} from './snapshot.js';
import {fitGroupColumns, GroupsPane} from './groups-pane.js';
import {SortPicker} from './sort-picker.js';
import {SetupScreen} from './setup-screen.js';
import {settingsPath, type Settings} from './settings.js';
import {colorTheme, plainTheme, ThemeContext, useTheme} from './theme.js';
import {StateCounts} from './state-counts.js';
import {StatusLine} from './status-line.js';
import {Totals} from './totals.js';
import {minimumTableSparkline, tableSparklineWidth, TransitionsPane} from './transitions-pane.js';
import {sortTransitions} from './transitions-summary.js';
import {useKeys} from './use-keys.js';
import {useRefreshTick} from './use-refresh-tick.js';
import {useTerminalSize} from './use-terminal-size.js';
import {scrolledTo, sortKeyOf, type ViewState} from './view-state.js';

export type AppProps = {
	readonly table: ConnectionTable;
	/** The latest transitions, for the event log. */
	readonly log?: TransitionLog;
	/** Monotonic milliseconds on the clock transitions carry (the kernel's CLOCK_MONOTONIC). */
	readonly now: () => number;
	readonly startedAtMs: number;
	readonly host: string;
	readonly kernel: string;
	readonly delaySeconds: number;
	readonly initialView: ViewState;
	/** Text for the start of the status line, read on every frame (a replay's progress). */
	readonly notice?: () => string | undefined;
	/** What the host calls a network namespace (the detail view); none for a replay. */
	readonly namespaceName?: (inode: number) => string | undefined;
	/** Keeps the settings when the setup screen closes; returns what went wrong, if anything. None: not kept. */
	readonly saveSettings?: (settings: Settings) => string | undefined;
};

/** Header, counts, totals, status: the lines above the panes. */
const headerLines = 4;
// Ink ends a frame with a newline: a frame as tall as the terminal would scroll it by a line.
const bottomMargin = 1;

export function App({table, log, now, startedAtMs, host, kernel, delaySeconds, initialView, notice, namespaceName, saveSettings}: AppProps) {
	const {exit} = useApp();
	const size = useTerminalSize();
	// The refresh and the colours start as given; the setup screen (F2) may change them.
	const outerTheme = useTheme();
	const [view, dispatch] = useReducer(reduceKeys, initialView, initial => ({
		...initial,
		settings: {...initial.settings, delaySeconds, color: outerTheme !== plainTheme},
	}));
	const refreshSeconds = view.settings.delaySeconds;
	// The model moves on every tick, paused or not: closed connections leave, rates advance.
	const sweep = useCallback(() => {
		table.sweep(now());
	}, [table, now]);
	const tick = useRefreshTick(refreshSeconds * 1000, sweep);

	// Less than a title bar and one row is left only on tiny terminals; it still draws.
	const available = Math.max(2, size.rows - headerLines - bottomMargin);
	// Paused, the frame keeps its tick; only the user's own changes re-read the table.
	const frozenTick = useRef(tick);
	if (!view.paused) {
		frozenTick.current = tick;
	}

	// The log's share is known before the rows are: a quarter of the room, as paneHeights gives it.
	const logLimit = view.log ? available : 0;
	// Rows are copied for the largest the list can be (the whole room), so the layout can follow.
	const limit = Math.max(view.cursor.offset + available, view.cursor.selectedIndex + 1);
	const previous = useRef<Snapshot | undefined>(undefined);
	const snapshot = useMemo(
		() => takeSnapshot(table, {view, nowMs: now(), limit, previous: previous.current, log, logLimit, namespaceName}),
		// Not the whole view: the rest of it (selection, focus, prompt, help) does not change what is
		// copied; and the frozen tick, which moves only while the view is not paused.
		// eslint-disable-next-line react-hooks/exhaustive-deps
		[table, log, now, namespaceName, frozenTick.current, view.sortKey, view.descending, view.filter, view.quickState, view.clearedAtMs, view.detail, limit, logLimit, view.groupBy, view.groupSort, view.drill, view.edgeDetail, view.groupDetail],
	);
	previous.current = snapshot;

	const transitionRows = useMemo(
		() => sortTransitions(snapshot.edges, view.transitions.sortKey, view.transitions.descending),
		[snapshot.edges, view.transitions.sortKey, view.transitions.descending],
	);
	const heights = paneHeights(available, {
		focus: view.focus,
		log: view.log,
		transitionRows: transitionRows.length,
		tableWidthFits: tableSparklineWidth(transitionRows, size.columns, view.transitions.sortKey, view.transitions.descending) >= minimumTableSparkline,
	});
	const listHeight = Math.max(1, heights.connections - 1);
	const edgeHeight = heights.table ? transitionRows.length : Math.max(1, heights.transitions - 1);

	const {rows, groups} = snapshot;
	const listKeys = groups ?? rows;
	const rowKeys = useMemo(() => listKeys.map(row => row.key), [listKeys]);
	const edgeKeys = useMemo(() => transitionRows.map(row => row.key), [transitionRows]);
	const selectedIndex = selectedIndexOf(view.cursor, rowKeys);
	const offset = scrolledTo(selectedIndex, view.cursor.offset, listHeight);
	const visible = rows.slice(offset, offset + listHeight);
	const groupKind = view.groupBy === undefined ? undefined : groupKindByKey(view.groupBy);
	const shownGroupColumns = useMemo(() => groupKind && fitGroupColumns(groupColumns(groupKind), size.columns), [groupKind, size.columns]);
	const edgeIndex = selectedIndexOf(view.transitions.cursor, edgeKeys);

	const columnKeys = view.settings.columns;
	const shown = useMemo(() => fitColumns(size.columns, columnKeys.map(key => columnByKey(key)).filter((column): column is Column => column !== undefined)), [size.columns, columnKeys]);
	const shownKeys = useMemo(() => new Set(shown.map(column => column.key)), [shown]);
	const grouped = groups !== undefined;
	const layout = useMemo(() => {
		const listColumns = grouped ? shownGroupColumns ?? [] : shown;
		let from = 1;
		const columns = listColumns.map(column => {
			const span = {key: column.key, from, to: from + column.width - 1};
			from += column.width + 1;
			return span;
		});
		// Below the header's four lines: the connection list's title, then its rows; then the Transitions pane.
		return {
			listTitleRow: heights.connections > 0 ? headerLines + 1 : 0,
			listOffset: offset,
			transitionsRow: heights.transitions > 0 ? headerLines + 1 + heights.connections : 0,
			columns,
		};
	}, [grouped, shownGroupColumns, shown, heights.connections, heights.transitions, offset]);
	const onKeys = (presses: readonly KeyPress[]) => {
		const screen: Screen = {
			layout,
			connections: {rowKeys, count: groups ? groups.length : snapshot.matched, height: listHeight, columnKeys: shownKeys},
			transitions: {rowKeys: edgeKeys, count: edgeKeys.length, height: edgeHeight},
			nowMs: now(),
			find: (text, direction, fromKey) => groups ? findGroup(groups, text, direction, fromKey) : findConnection(table, view, now(), text, direction, fromKey),
		};
		dispatch({type: 'keys', presses, screen});
	};

	useKeys(onKeys);
	// The setup screen closed: its settings are kept (tcptoprc), or why not is said.
	const [saveProblem, setSaveProblem] = useState<string | undefined>(undefined);
	const setupOpen = view.setup !== undefined;
	const wasOpen = useRef(false);
	useEffect(() => {
		if (wasOpen.current && !setupOpen && saveSettings) {
			setSaveProblem(saveSettings(view.settings));
		}

		wasOpen.current = setupOpen;
	}, [setupOpen, saveSettings, view.settings]);
	// Right after the frame that saw the key, before another tick can draw.
	useLayoutEffect(() => {
		if (view.quit) {
			exit();
		}
	}, [view.quit, exit]);

	let body;
	if (view.help) {
		body = <HelpScreen />;
	} else if (view.setup) {
		body = <SetupScreen settings={view.settings} index={view.setup.index} height={available} path={settingsPath()} />;
	} else if (view.picker) {
		const sortKey = sortKeyOf(view, view.picker.pane);
		body = <SortPicker picker={view.picker} view={view} sortKey={sortKey} height={available} />;
	} else if (view.edgeDetail !== undefined) {
		body = <EdgeDetailView detail={snapshot.edgeDetail} height={available} width={size.columns} missing="This row has no times kept: handshakes, closes and CLOSE-WAIT do." />;
	} else if (view.groupDetail !== undefined) {
		body = <EdgeDetailView detail={snapshot.groupDetail} height={available} width={size.columns} missing="The group is gone." />;
	} else if (view.detail === undefined) {
		body = (
			<>
				{heights.connections > 0 && groups && shownGroupColumns && (
					<GroupsPane
						rows={groups.slice(offset, offset + listHeight)}
						shown={shownGroupColumns}
						selectedKey={groups[selectedIndex]?.key}
						sortKey={view.groupSort.key}
						descending={view.groupSort.descending}
						width={size.columns}
						focused={view.focus === 'connections'}
					/>
				)}
				{heights.connections > 0 && !groups && (
					<ConnectionsPane
						rows={visible}
						shown={shown}
						selectedKey={rows[selectedIndex]?.key}
						sortKey={view.sortKey}
						descending={view.descending}
						width={size.columns}
						focused={view.focus === 'connections'}
					/>
				)}
				{heights.transitions > 0 && (
					<TransitionsPane
						rows={transitionRows}
						height={heights.transitions}
						width={size.columns}
						table={heights.table}
						focused={view.focus === 'transitions'}
						selectedKey={transitionRows[edgeIndex]?.key}
						offset={scrolledTo(edgeIndex, view.transitions.cursor.offset, edgeHeight)}
						sortKey={view.transitions.sortKey}
						descending={view.transitions.descending}
					/>
				)}
				{heights.log > 0 && <EventLogPane lines={snapshot.log} height={heights.log} width={size.columns} />}
			</>
		);
	} else {
		body = <DetailView detail={snapshot.detail} height={available} />;
	}

	return (
		<ThemeContext.Provider value={view.settings.color ? colorTheme : plainTheme}>
			<Box flexDirection="column" width={size.columns}>
				<Header host={host} kernel={kernel} uptimeMs={snapshot.nowMs - startedAtMs} delaySeconds={refreshSeconds} paused={view.paused} />
				<StateCounts counts={snapshot.stateCounts} />
				<Totals snapshot={snapshot} />
				<StatusLine view={view} matched={snapshot.matched} tracked={snapshot.tracked} groups={groups?.length} notice={saveProblem ?? notice?.()} />
				{body}
			</Box>
		</ThemeContext.Provider>
	);
}
