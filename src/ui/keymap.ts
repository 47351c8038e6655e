// Keys to actions, top's and htop's keys, and the reducer that applies them (reduceKeys): given
// a key, the view and what the screen shows, the action to take (or none). The view is the
// reducer's latest, not the last drawn: keys typed or pasted faster than frames are drawn each
// see the ones before them.
import type {KeyPress, MouseReport} from './keys.js';
import {neighbourColumn} from './columns-order.js';
import {cursorOf, reduceView, showsGroups, sortColumnsOf, sortKeyOf, type Action, type Cursor, type ViewState} from './view-state.js';

/** What one pane shows this frame. */
export type PaneScreen = {
	/** Keys of the rows copied this frame, from the top of the list. */
	readonly rowKeys: readonly string[];
	/** Rows in the list (more than rowKeys when the list is longer than what was copied). */
	readonly count: number;
	/** Rows it has room for. */
	readonly height: number;
	/** Keys of the columns on screen (the width may leave some out); undefined: every column is. */
	readonly columnKeys?: ReadonlySet<string>;
};

/** Where the lists are on the terminal, for the mouse (rows and columns from 1, as reports give them). */
export type ScreenLayout = {
	/** The connection list's title bar; its rows follow. */
	readonly listTitleRow: number;
	/** The first row shown (the list scrolled). */
	readonly listOffset: number;
	/** The Transitions pane's first line (its title); 0 when it is not shown. */
	readonly transitionsRow: number;
	/** The list's columns: sort key and the terminal columns its title spans. */
	readonly columns: ReadonlyArray<{readonly key: string; readonly from: number; readonly to: number}>;
};

export type Screen = {
	readonly connections: PaneScreen;
	readonly transitions: PaneScreen;
	readonly nowMs: number;
	readonly layout?: ScreenLayout;
	/**
	 * The next connection in the list (its order and filters) after the one of `fromKey` (before
	 * it with -1) whose row shows `text`, wrapping around; undefined when none does.
	 */
	readonly find?: (text: string, direction: 1 | -1, fromKey: string | undefined) => {index: number; key: string} | undefined;
};

/** The selected row's index: where its row is now, else where the selection was. */
export function selectedIndexOf(cursor: Cursor, rowKeys: readonly string[]): number {
	const found = cursor.selectedKey === undefined ? -1 : rowKeys.indexOf(cursor.selectedKey);
	return found >= 0 ? found : Math.max(0, Math.min(cursor.selectedIndex, rowKeys.length - 1));
}

/** Keys pressed since the last frame, with what that frame showed. */
export type KeysAction = {readonly type: 'keys'; readonly presses: readonly KeyPress[]; readonly screen: Screen};

/** The view's reducer: keys become actions here; every other action goes to reduceView. */
export function reduceKeys(state: ViewState, action: Action | KeysAction): ViewState {
	if (action.type !== 'keys') {
		return reduceView(state, action);
	}

	// Each key sees the view the ones before it made: a paste, or keys typed over a slow link.
	let next = state;
	for (const press of action.presses) {
		const result = actionForKey(press, next, action.screen);
		if (result) {
			next = reduceView(next, result);
		}

		if (next.quit) {
			break;
		}
	}

	return next;
}

const quickSorts: Readonly<Record<string, string>> = {P: 'pid', S: 'state', A: 'age', T: 'tx'};

export function actionForKey(press: KeyPress, view: ViewState, screen: Screen): Action | undefined {
	const {name, text} = press;
	if (name === 'ctrlC' || name === 'f10') {
		return {type: 'quit'};
	}

	if (press.mouse) {
		const busy = view.prompt !== undefined || view.help || view.picker !== undefined || view.detail !== undefined || view.edgeDetail !== undefined || view.groupDetail !== undefined || view.setup !== undefined;
		return busy || !screen.layout ? undefined : mouseAction(press.mouse, view, screen, screen.layout);
	}

	if (view.prompt) {
		return view.prompt.kind === 'search' && press.name === 'enter'
			? searchAction(view, screen, view.prompt.text, 1)
			: promptAction(press, view.prompt.text);
	}

	if (view.help) {
		// Any key leaves help, as in top.
		return text === 'q' ? {type: 'quit'} : {type: 'toggleHelp'};
	}

	if (view.picker) {
		return pickerAction(press, view.picker.index, sortColumnsOf(view.picker.pane, view).length);
	}

	if (view.setup) {
		return setupAction(press, view.setup.index);
	}

	if (view.detail !== undefined || view.edgeDetail !== undefined || view.groupDetail !== undefined) {
		if (name === 'escape' || name === 'enter' || text === 'q') {
			return {type: 'closeDetail'};
		}

		return text === ' ' || text === 'p' ? {type: 'togglePause'} : undefined;
	}

	const pane = view.focus;
	const shown = screen[pane];
	const move = movement(press, selectedIndexOf(cursorOf(view, pane), shown.rowKeys), shown);
	if (move !== undefined) {
		const index = Math.max(0, Math.min(move, shown.count - 1));
		return {type: 'select', pane, index, key: shown.rowKeys[index], paneHeight: shown.height, nowMs: screen.nowMs};
	}

	switch (name) {
		case 'tab':
		case 'backTab': {
			return {type: 'focusNext'};
		}

		case 'f6': {
			return {type: 'openPicker'};
		}

		case 'f2': {
			return {type: 'openSetup'};
		}

		// htop's keys for help, search and filter.
		case 'f1': {
			return {type: 'toggleHelp'};
		}

		case 'f3': {
			return view.search ? searchAction(view, screen, view.search.text, 1) : {type: 'openPrompt', kind: 'search'};
		}

		case 'f4': {
			return {type: 'openPrompt', kind: 'filter'};
		}

		case 'enter': {
			if (pane === 'transitions') {
				const edge = shown.rowKeys[selectedIndexOf(view.transitions.cursor, shown.rowKeys)];
				return edge?.startsWith('edge ') ? {type: 'openEdge', key: edge} : undefined;
			}

			const key = shown.rowKeys[selectedIndexOf(view.cursor, shown.rowKeys)];
			if (key === undefined) {
				return undefined;
			}

			// On a group: its connections.
			return showsGroups(view) ? {type: 'drillDown', key} : {type: 'openDetail', key};
		}

		case 'escape': {
			return view.drill ? {type: 'drillUp'} : undefined;
		}

		default:
	}

	switch (text) {
		case 'q': {
			return {type: 'quit'};
		}

		case '<':
		case '>': {
			return {type: 'sort', pane, sortKey: neighbourColumn(sortColumnsOf(pane, view), sortKeyOf(view, pane), text === '>' ? 1 : -1, showsGroups(view) ? undefined : shown.columnKeys)};
		}

		case 'I':
		case 'r': {
			return {type: 'invert', pane};
		}

		case '/': {
			return {type: 'openPrompt', kind: 'search'};
		}

		case '\\': {
			return {type: 'openPrompt', kind: 'filter'};
		}

		case 'n':
		case 'N': {
			return view.search ? searchAction(view, screen, view.search.text, text === 'n' ? 1 : -1) : undefined;
		}

		case 's': {
			return {type: 'cycleState'};
		}

		case 'g': {
			return {type: 'cycleGroup'};
		}

		case 'i': {
			// A group's detail: its figures and its handshakes' distribution.
			const key = showsGroups(view) ? screen.connections.rowKeys[selectedIndexOf(view.cursor, screen.connections.rowKeys)] : undefined;
			return key === undefined ? undefined : {type: 'openGroupDetail', key};
		}

		case ' ':
		case 'p': {
			return {type: 'togglePause'};
		}

		case 'c': {
			return {type: 'clearClosed', nowMs: screen.nowMs};
		}

		case 'l': {
			return {type: 'toggleLog'};
		}

		case '?':
		case 'h': {
			return {type: 'toggleHelp'};
		}

		default: {
			// P S A T sort the connections whichever pane has the focus: they name its columns.
			const sortKey = text === undefined ? undefined : quickSorts[text];
			return sortKey ? {type: 'sort', pane: 'connections', sortKey} : undefined;
		}
	}
}

/** Rows the wheel moves the selection by. */
const wheelRows = 3;

/**
 * The mouse on the lists: the wheel moves the selection of the pane under it; a click on a
 * row of the connection (or group) list selects it, on its title sorts by that column (again:
 * the other way).
 */
function mouseAction(mouse: MouseReport, view: ViewState, screen: Screen, layout: ScreenLayout): Action | undefined {
	// Presses only: a click acts as the button goes down (as htop's), and the wheel has none to release.
	if (mouse.release) {
		return undefined;
	}

	const pane = layout.transitionsRow > 0 && mouse.y >= layout.transitionsRow ? 'transitions' : 'connections';
	const shown = screen[pane];
	if (mouse.button === 64 || mouse.button === 65) {
		const at = selectedIndexOf(cursorOf(view, pane), shown.rowKeys) + (mouse.button === 64 ? -wheelRows : wheelRows);
		const index = Math.max(0, Math.min(at, shown.count - 1));
		return {type: 'select', pane, index, key: shown.rowKeys[index], paneHeight: shown.height, nowMs: screen.nowMs, focus: true};
	}

	if (mouse.button !== 0 || pane !== 'connections') {
		return undefined;
	}

	if (mouse.y === layout.listTitleRow) {
		const column = layout.columns.find(candidate => mouse.x >= candidate.from && mouse.x <= candidate.to);
		if (!column) {
			return undefined;
		}

		return column.key === sortKeyOf(view, 'connections') ? {type: 'invert', pane: 'connections'} : {type: 'sort', pane: 'connections', sortKey: column.key};
	}

	const index = layout.listOffset + (mouse.y - layout.listTitleRow - 1);
	if (mouse.y <= layout.listTitleRow || mouse.y > layout.listTitleRow + shown.height || index >= shown.count) {
		return undefined;
	}

	return {type: 'select', pane: 'connections', index, key: shown.rowKeys[index], paneHeight: shown.height, nowMs: screen.nowMs, focus: true};
}

/** The row index a navigation key moves to, or undefined for any other key. */
function movement({name, text}: KeyPress, at: number, shown: PaneScreen): number | undefined {
	const page = Math.max(1, shown.height - 1);
	switch (name ?? text) {
		case 'up':
		case 'k': {
			return at - 1;
		}

		case 'down':
		case 'j': {
			return at + 1;
		}

		case 'pageUp': {
			return at - page;
		}

		case 'pageDown': {
			return at + page;
		}

		case 'home': {
			return 0;
		}

		case 'end': {
			return shown.count - 1;
		}

		default: {
			return undefined;
		}
	}
}

/** The setup screen's keys: ↑ ↓ choose, ← → (and space, Enter) change, [ ] move a column, Esc F2 q close. */
function setupAction({name, text}: KeyPress, index: number): Action | undefined {
	switch (name ?? text) {
		case 'up':
		case 'k': {
			return {type: 'moveSetup', index: index - 1};
		}

		case 'down':
		case 'j': {
			return {type: 'moveSetup', index: index + 1};
		}

		case 'left': {
			return {type: 'changeSetup', step: -1};
		}

		case 'right':
		case 'enter':
		case ' ': {
			return {type: 'changeSetup', step: 1};
		}

		case '[':
		case '-': {
			return {type: 'moveColumn', step: -1};
		}

		case ']':
		case '+': {
			return {type: 'moveColumn', step: 1};
		}

		case 'escape':
		case 'f2':
		case 'q': {
			return {type: 'closeSetup'};
		}

		default: {
			return undefined;
		}
	}
}

function pickerAction({name}: KeyPress, index: number, count: number): Action | undefined {
	switch (name) {
		case 'up': {
			return {type: 'movePicker', index: index - 1};
		}

		case 'down': {
			return {type: 'movePicker', index: index + 1};
		}

		case 'home': {
			return {type: 'movePicker', index: 0};
		}

		case 'end': {
			return {type: 'movePicker', index: count - 1};
		}

		case 'enter': {
			return {type: 'pickSort'};
		}

		case 'escape':
		case 'f6': {
			return {type: 'cancelPicker'};
		}

		default: {
			return undefined;
		}
	}
}

/** Looks for `text` from the selected connection on, selecting what is found (see Screen.find). */
function searchAction(view: ViewState, screen: Screen, text: string, direction: 1 | -1): Action {
	const shown = screen.connections;
	const fromKey = view.cursor.selectedKey ?? shown.rowKeys[selectedIndexOf(view.cursor, shown.rowKeys)];
	const found = text === '' ? undefined : screen.find?.(text, direction, fromKey);
	return {type: 'searched', text, found, paneHeight: shown.height, nowMs: screen.nowMs};
}

function promptAction({name, text}: KeyPress, typed: string): Action | undefined {
	switch (name) {
		case 'enter': {
			return {type: 'applyPrompt'};
		}

		case 'escape': {
			return {type: 'cancelPrompt'};
		}

		case 'backspace':
		case 'delete': {
			return {type: 'editPrompt', text: typed.slice(0, -1)};
		}

		case undefined: {
			return {type: 'editPrompt', text: typed + text};
		}

		default: {
			return undefined;
		}
	}
}
