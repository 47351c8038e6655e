// What the user has chosen (sort, filters, selection, pause, help) and how each action changes
// it. Pure: the clock and the rows an action needs travel in the action.
import type {Key} from 'ink';
import {columnByKey} from '../model/columns.js';
import {compileFilter, type Filter, type FilterError} from '../model/filter.js';
import {actionForKey, type Screen} from './keymap.js';

/** The `s` key's cycle, after "all": the states an SRE looks for first, then the rest. */
export const quickStates = [
	'established', 'close-wait', 'syn-sent', 'time-wait', 'syn-recv', 'fin-wait-1', 'fin-wait-2',
	'last-ack', 'closing', 'listening', 'closed',
] as const;

/** How long sorting holds still after a navigation key, so rows don't move under the cursor. */
export const sortHoldMs = 1000;

export type FilterPrompt = {
	readonly text: string;
	readonly error: FilterError | undefined;
};

export type ViewState = {
	readonly sortKey: string;
	readonly descending: boolean;
	/** The filter typed after `/` (or given with --filter). */
	readonly filter: Filter | undefined;
	/** Index into quickStates, or -1 for all states. */
	readonly quickState: number;
	/** Open while a filter is being typed. */
	readonly prompt: FilterPrompt | undefined;
	readonly paused: boolean;
	readonly help: boolean;
	/** The selected connection's key; the selection follows it as rows move. */
	readonly selectedKey: string | undefined;
	/** Where the selection was, for when its connection has gone. */
	readonly selectedIndex: number;
	/** First row shown. */
	readonly offset: number;
	/** Rows keep their order until this time (monotonic ms). */
	readonly holdUntilMs: number;
	/** Closed connections that closed at or before this time are not shown (`c`). */
	readonly clearedAtMs: number;
	/** The user asked to leave; the app exits. */
	readonly quit: boolean;
};

export type Action =
	| {readonly type: 'key'; readonly input: string; readonly key: Key; readonly screen: Screen}
	| {readonly type: 'select'; readonly index: number; readonly key: string | undefined; readonly paneHeight: number; readonly nowMs: number}
	| {readonly type: 'sort'; readonly sortKey: string}
	| {readonly type: 'invert'}
	| {readonly type: 'openPrompt'}
	| {readonly type: 'editPrompt'; readonly text: string}
	| {readonly type: 'applyPrompt'}
	| {readonly type: 'cancelPrompt'}
	| {readonly type: 'cycleState'}
	| {readonly type: 'togglePause'}
	| {readonly type: 'toggleHelp'}
	| {readonly type: 'clearClosed'; readonly nowMs: number};

export function initialViewState(options: {sortKey: string; descending?: boolean; filter?: Filter}): ViewState {
	return {
		sortKey: options.sortKey,
		descending: options.descending ?? columnByKey(options.sortKey)?.descendingByDefault ?? false,
		filter: options.filter,
		quickState: -1,
		prompt: undefined,
		paused: false,
		help: false,
		selectedKey: undefined,
		selectedIndex: 0,
		offset: 0,
		holdUntilMs: 0,
		clearedAtMs: Number.NEGATIVE_INFINITY,
		quit: false,
	};
}

export function reduceView(state: ViewState, action: Action): ViewState {
	switch (action.type) {
		case 'key': {
			const next = actionForKey(action.input, action.key, state, action.screen);
			if (next?.type === 'quit') {
				return {...state, quit: true};
			}

			return next ? reduceView(state, next) : state;
		}

		case 'select': {
			const index = Math.max(0, action.index);
			const height = Math.max(1, action.paneHeight);
			const offset = Math.min(index, Math.max(state.offset, index - height + 1));
			return {...state, selectedIndex: index, selectedKey: action.key, offset, holdUntilMs: action.nowMs + sortHoldMs};
		}

		case 'sort': {
			const column = columnByKey(action.sortKey);
			return column ? {...state, sortKey: column.key, descending: column.descendingByDefault, holdUntilMs: 0} : state;
		}

		case 'invert': {
			return {...state, descending: !state.descending, holdUntilMs: 0};
		}

		case 'openPrompt': {
			return {...state, prompt: {text: state.filter?.text ?? '', error: undefined}};
		}

		case 'editPrompt': {
			return state.prompt ? {...state, prompt: {text: action.text, error: undefined}} : state;
		}

		case 'applyPrompt': {
			if (!state.prompt) {
				return state;
			}

			if (state.prompt.text.trim() === '') {
				return {...state, prompt: undefined, filter: undefined, holdUntilMs: 0};
			}

			const result = compileFilter(state.prompt.text);
			// A bad expression keeps the prompt open with its error, so it can be fixed in place.
			return result.ok
				? {...state, prompt: undefined, filter: result.filter, holdUntilMs: 0}
				: {...state, prompt: {text: state.prompt.text, error: result.error}};
		}

		case 'cancelPrompt': {
			return {...state, prompt: undefined};
		}

		case 'cycleState': {
			const next = state.quickState + 1;
			return {...state, quickState: next >= quickStates.length ? -1 : next, holdUntilMs: 0};
		}

		case 'togglePause': {
			return {...state, paused: !state.paused};
		}

		case 'toggleHelp': {
			return {...state, help: !state.help};
		}

		case 'clearClosed': {
			return {...state, clearedAtMs: action.nowMs, holdUntilMs: 0};
		}
	}
}
