// Keys to actions, top's and htop's keys. Pure: given a key, the view and what the screen
// shows, the action to take (or none). The view is the reducer's latest, not the last drawn:
// keys typed or pasted faster than frames are drawn each see the ones before them.
import type {Key} from 'ink';
import type {Action, ViewState} from './view-state.js';
import {neighbourColumn} from './columns-order.js';

export type Screen = {
	/** Keys of the rows copied this frame, from the top of the list. */
	readonly rowKeys: readonly string[];
	/** Rows that pass the filters. */
	readonly matched: number;
	readonly paneHeight: number;
	readonly nowMs: number;
};

/** Quitting is not a change of the view: the app ends. */
export type KeyResult = Action | {readonly type: 'quit'};

/** The selected row's index: where its connection is now, else where the selection was. */
export function selectedIndexOf(view: ViewState, rowKeys: readonly string[]): number {
	const found = view.selectedKey === undefined ? -1 : rowKeys.indexOf(view.selectedKey);
	return found >= 0 ? found : Math.max(0, Math.min(view.selectedIndex, rowKeys.length - 1));
}

const quickSorts: Readonly<Record<string, string>> = {P: 'pid', S: 'state', A: 'age', T: 'tx'};

export function actionForKey(input: string, key: Key, view: ViewState, screen: Screen): KeyResult | undefined {
	if (input === 'c' && key.ctrl) {
		return {type: 'quit'};
	}

	if (view.prompt) {
		return promptAction(input, key, view.prompt.text);
	}

	if (view.help) {
		// Any key leaves help, as in top.
		return input === 'q' ? {type: 'quit'} : {type: 'toggleHelp'};
	}

	const move = movement(input, key, selectedIndexOf(view, screen.rowKeys), screen);
	if (move !== undefined) {
		const index = Math.max(0, Math.min(move, screen.matched - 1));
		return {type: 'select', index, key: screen.rowKeys[index], paneHeight: screen.paneHeight, nowMs: screen.nowMs};
	}

	switch (input) {
		case 'q': {
			return {type: 'quit'};
		}

		case '<':
		case '>': {
			return {type: 'sort', sortKey: neighbourColumn(view.sortKey, input === '>' ? 1 : -1)};
		}

		case 'I':
		case 'r': {
			return {type: 'invert'};
		}

		case '/': {
			return {type: 'openPrompt'};
		}

		case 's': {
			return {type: 'cycleState'};
		}

		case ' ':
		case 'p': {
			return {type: 'togglePause'};
		}

		case 'c': {
			return {type: 'clearClosed', nowMs: screen.nowMs};
		}

		case '?':
		case 'h': {
			return {type: 'toggleHelp'};
		}

		default: {
			const sortKey = quickSorts[input];
			return sortKey ? {type: 'sort', sortKey} : undefined;
		}
	}
}

/** The row index a navigation key moves to, or undefined for any other key. */
function movement(input: string, key: Key, at: number, screen: Screen): number | undefined {
	const page = Math.max(1, screen.paneHeight - 1);
	if (key.upArrow || input === 'k') {
		return at - 1;
	}

	if (key.downArrow || input === 'j') {
		return at + 1;
	}

	if (key.pageUp) {
		return at - page;
	}

	if (key.pageDown) {
		return at + page;
	}

	if (key.home) {
		return 0;
	}

	if (key.end) {
		return screen.matched - 1;
	}

	return undefined;
}

function promptAction(input: string, key: Key, text: string): Action | undefined {
	if (key.return) {
		return {type: 'applyPrompt'};
	}

	if (key.escape) {
		return {type: 'cancelPrompt'};
	}

	if (key.backspace || key.delete) {
		return {type: 'editPrompt', text: text.slice(0, -1)};
	}

	if (key.ctrl || key.meta || input === '') {
		return undefined;
	}

	return {type: 'editPrompt', text: text + input};
}
