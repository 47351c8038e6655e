// What the user has chosen (sort, filters, selection, focus, panes, pause, help) and how each
// action changes it. Pure: the clock and the rows an action needs travel in the action.
import {sortOrderByKey, sortOrders} from '../model/sort-orders.js';
import {groupOrders, groupTroubleOrder} from '../model/group-columns.js';
import {groupKindByKey, groupKinds, type GroupKindKey} from '../model/groups.js';
import {compileFilter, type Filter, type FilterError} from '../model/filter.js';
import {transitionColumnByKey, transitionColumns} from './transitions-summary.js';
import {columns as allColumns} from '../model/columns.js';
import {defaultSettings, delayChoices, type Settings} from './settings.js';

/** The `s` key's cycle, after "all": the states an SRE looks for first, then the rest. */
export const quickStates = [
	'established', 'close-wait', 'syn-sent', 'time-wait', 'syn-recv', 'fin-wait-1', 'fin-wait-2',
	'last-ack', 'closing', 'listening', 'closed',
] as const;

/** How long sorting holds still after a navigation key, so rows don't move under the cursor. */
export const sortHoldMs = 1000;

export type Pane = 'connections' | 'transitions';

/** A line being typed: a filter (`\`, F4) or a search (`/`, F3). */
export type Prompt = {
	readonly kind: 'filter' | 'search';
	readonly text: string;
	readonly error: FilterError | undefined;
};

/** The last search: n, N and F3 look for its text again. */
export type Search = {
	readonly text: string;
	/** No row showed the text when last looked for. */
	readonly missed: boolean;
};

/** Where a list's selection is: on a row's key, which it follows as rows move. */
export type Cursor = {
	readonly selectedKey: string | undefined;
	/** Where the selection was, for when its row has gone. */
	readonly selectedIndex: number;
	/** First row shown. */
	readonly offset: number;
};

/** The F6 list of columns to sort the focused pane by. */
export type SortPicker = {
	readonly pane: Pane;
	/** The highlighted entry. */
	readonly index: number;
};

export type ViewState = {
	readonly sortKey: string;
	readonly descending: boolean;
	/** The filter typed after `\` or F4 (or given with --filter). */
	readonly filter: Filter | undefined;
	/** Index into quickStates, or -1 for all states. */
	readonly quickState: number;
	/** Open while a filter or a search is being typed. */
	readonly prompt: Prompt | undefined;
	readonly search: Search | undefined;
	readonly paused: boolean;
	readonly help: boolean;
	/** The connection list's selection. */
	readonly cursor: Cursor;
	/** Rows keep their order until this time (monotonic ms). */
	readonly holdUntilMs: number;
	/** Closed connections that closed at or before this time are not shown (`c`). */
	readonly clearedAtMs: number;
	/** The pane the movement and sort keys act on. */
	readonly focus: Pane;
	readonly transitions: {readonly sortKey: string; readonly descending: boolean; readonly cursor: Cursor};
	/** The event log pane is shown. */
	readonly log: boolean;
	/** The key of the connection whose detail view is open. */
	readonly detail: string | undefined;
	/** The Transitions row whose distribution is open (Enter on a timed edge). */
	readonly edgeDetail: string | undefined;
	/** The group whose detail is open (i on a group). */
	readonly groupDetail: string | undefined;
	readonly picker: SortPicker | undefined;
	/** The connections pane lists groups of this kind (`g`); undefined: connections. */
	readonly groupBy: GroupKindKey | undefined;
	/** The group list's order. */
	readonly groupSort: {readonly key: string; readonly descending: boolean};
	/** What the setup screen (F2) edits, and tcptoprc keeps: columns, refresh, sort, grouping, colours. */
	readonly settings: Settings;
	/** The setup screen, open on its highlighted line. */
	readonly setup: {readonly index: number} | undefined;
	/** The group whose connections are listed (Enter on a group), and the group list's selection to go back to. */
	readonly drill: {readonly key: string; readonly groupCursor: Cursor} | undefined;
	/** The user asked to leave; the app exits. */
	readonly quit: boolean;
};

export type Action =
	/** focus: the pane takes the focus too (the mouse). */
	| {readonly type: 'select'; readonly pane: Pane; readonly index: number; readonly key: string | undefined; readonly paneHeight: number; readonly nowMs: number; readonly focus?: boolean}
	| {readonly type: 'sort'; readonly pane: Pane; readonly sortKey: string}
	| {readonly type: 'invert'; readonly pane: Pane}
	| {readonly type: 'openPrompt'; readonly kind: Prompt['kind']}
	/** A search made (typed, or again): the row found, if any, is selected. */
	| {readonly type: 'searched'; readonly text: string; readonly found: {readonly index: number; readonly key: string} | undefined; readonly paneHeight: number; readonly nowMs: number}
	| {readonly type: 'editPrompt'; readonly text: string}
	| {readonly type: 'applyPrompt'}
	| {readonly type: 'cancelPrompt'}
	| {readonly type: 'cycleState'}
	| {readonly type: 'togglePause'}
	| {readonly type: 'toggleHelp'}
	| {readonly type: 'toggleLog'}
	| {readonly type: 'focusNext'}
	| {readonly type: 'openDetail'; readonly key: string}
	| {readonly type: 'closeDetail'}
	| {readonly type: 'openEdge'; readonly key: string}
	| {readonly type: 'openGroupDetail'; readonly key: string}
	| {readonly type: 'openPicker'}
	| {readonly type: 'movePicker'; readonly index: number}
	| {readonly type: 'pickSort'}
	| {readonly type: 'cancelPicker'}
	| {readonly type: 'clearClosed'; readonly nowMs: number}
	| {readonly type: 'cycleGroup'}
	| {readonly type: 'openSetup'}
	| {readonly type: 'closeSetup'}
	| {readonly type: 'moveSetup'; readonly index: number}
	/** The highlighted setting to its next (1) or previous (-1) value; a column shown or not. */
	| {readonly type: 'changeSetup'; readonly step: 1 | -1}
	/** The highlighted column, shown, one place earlier (-1) or later (1) in the list. */
	| {readonly type: 'moveColumn'; readonly step: 1 | -1}
	| {readonly type: 'drillDown'; readonly key: string}
	| {readonly type: 'drillUp'}
	| {readonly type: 'quit'};

const top: Cursor = {selectedKey: undefined, selectedIndex: 0, offset: 0};

export function initialViewState(options: {sortKey: string; descending?: boolean; filter?: Filter; groupBy?: GroupKindKey; settings?: Settings}): ViewState {
	return {
		sortKey: options.sortKey,
		descending: options.descending ?? sortOrderByKey(options.sortKey)?.descendingByDefault ?? false,
		filter: options.filter,
		quickState: -1,
		prompt: undefined,
		search: undefined,
		paused: false,
		help: false,
		cursor: top,
		holdUntilMs: 0,
		clearedAtMs: Number.NEGATIVE_INFINITY,
		focus: 'connections',
		transitions: {sortKey: 'transition', descending: false, cursor: top},
		log: false,
		detail: undefined,
		edgeDetail: undefined,
		groupDetail: undefined,
		picker: undefined,
		groupBy: options.groupBy,
		settings: options.settings ?? defaultSettings,
		setup: undefined,
		groupSort: {key: groupTroubleOrder.key, descending: groupTroubleOrder.descendingByDefault},
		drill: undefined,
		quit: false,
	};
}

/** Whether the connections pane lists groups (grouped, and no group opened). */
export function showsGroups(state: ViewState): boolean {
	return state.groupBy !== undefined && state.drill === undefined;
}

/** The orders a pane can be sorted in, by key: its columns (the connections' and groups' also trouble first). */
export function sortColumnsOf(pane: Pane, state: ViewState): ReadonlyArray<{readonly key: string; readonly title: string; readonly descendingByDefault: boolean}> {
	if (pane === 'transitions') {
		return transitionColumns;
	}

	const kind = showsGroups(state) && state.groupBy ? groupKindByKey(state.groupBy) : undefined;
	return kind ? groupOrders(kind) : sortOrders;
}

/** The key the pane is sorted by now. */
export function sortKeyOf(state: ViewState, pane: Pane): string {
	if (pane === 'transitions') {
		return state.transitions.sortKey;
	}

	return showsGroups(state) ? state.groupSort.key : state.sortKey;
}

export function reduceView(state: ViewState, action: Action): ViewState {
	switch (action.type) {
		case 'select': {
			const index = Math.max(0, action.index);
			const height = Math.max(1, action.paneHeight);
			const cursor = {selectedIndex: index, selectedKey: action.key, offset: scrolledTo(index, cursorOf(state, action.pane).offset, height)};
			const focus = action.focus ? action.pane : state.focus;
			return action.pane === 'connections'
				? {...state, focus, cursor, holdUntilMs: action.nowMs + sortHoldMs}
				: {...state, focus, transitions: {...state.transitions, cursor}};
		}

		case 'sort': {
			if (action.pane === 'transitions') {
				const column = transitionColumnByKey(action.sortKey);
				return column ? {...state, transitions: {...state.transitions, sortKey: column.key, descending: column.descendingByDefault}} : state;
			}

			if (showsGroups(state)) {
				const order = sortColumnsOf('connections', state).find(column => column.key === action.sortKey);
				return order ? {...state, groupSort: {key: order.key, descending: order.descendingByDefault}} : state;
			}

			const order = sortOrderByKey(action.sortKey);
			return order ? {...state, sortKey: order.key, descending: order.descendingByDefault, holdUntilMs: 0} : state;
		}

		case 'invert': {
			if (action.pane === 'connections' && showsGroups(state)) {
				return {...state, groupSort: {...state.groupSort, descending: !state.groupSort.descending}};
			}

			return action.pane === 'connections'
				? {...state, descending: !state.descending, holdUntilMs: 0}
				: {...state, transitions: {...state.transitions, descending: !state.transitions.descending}};
		}

		case 'openPrompt': {
			const text = action.kind === 'filter' ? state.filter?.text : state.search?.text;
			return {...state, prompt: {kind: action.kind, text: text ?? '', error: undefined}};
		}

		case 'editPrompt': {
			return state.prompt ? {...state, prompt: {...state.prompt, text: action.text, error: undefined}} : state;
		}

		case 'searched': {
			const search = action.text === '' ? undefined : {text: action.text, missed: action.found === undefined};
			const searched = {...state, prompt: undefined, search};
			const {found} = action;
			return found === undefined
				? searched
				: reduceView(searched, {type: 'select', pane: 'connections', index: found.index, key: found.key, paneHeight: action.paneHeight, nowMs: action.nowMs});
		}

		case 'applyPrompt': {
			if (state.prompt?.kind !== 'filter') {
				return state;
			}

			if (state.prompt.text.trim() === '') {
				return {...state, prompt: undefined, filter: undefined, holdUntilMs: 0};
			}

			const result = compileFilter(state.prompt.text);
			// A bad expression keeps the prompt open with its error, so it can be fixed in place.
			return result.ok
				? {...state, prompt: undefined, filter: result.filter, holdUntilMs: 0}
				: {...state, prompt: {...state.prompt, error: result.error}};
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

		case 'toggleLog': {
			return {...state, log: !state.log};
		}

		case 'focusNext': {
			return {...state, focus: state.focus === 'connections' ? 'transitions' : 'connections'};
		}

		case 'openDetail': {
			return {...state, detail: action.key};
		}

		case 'closeDetail': {
			return {...state, detail: undefined, edgeDetail: undefined, groupDetail: undefined};
		}

		case 'openEdge': {
			return {...state, edgeDetail: action.key};
		}

		case 'openGroupDetail': {
			return {...state, groupDetail: action.key};
		}

		case 'openPicker': {
			const pane = state.focus;
			const sortKey = sortKeyOf(state, pane);
			return {...state, picker: {pane, index: Math.max(0, sortColumnsOf(pane, state).findIndex(column => column.key === sortKey))}};
		}

		case 'movePicker': {
			if (!state.picker) {
				return state;
			}

			const count = sortColumnsOf(state.picker.pane, state).length;
			return {...state, picker: {...state.picker, index: Math.max(0, Math.min(count - 1, action.index))}};
		}

		case 'pickSort': {
			if (!state.picker) {
				return state;
			}

			const {pane, index} = state.picker;
			const closed = {...state, picker: undefined};
			return reduceView(closed, {type: 'sort', pane, sortKey: sortColumnsOf(pane, state)[index]!.key});
		}

		case 'cancelPicker': {
			return {...state, picker: undefined};
		}

		case 'clearClosed': {
			return {...state, clearedAtMs: action.nowMs, holdUntilMs: 0};
		}

		case 'cycleGroup': {
			const next = groupKinds.findIndex(kind => kind.key === state.groupBy) + 1;
			return {...state, groupBy: groupKinds[next]?.key, drill: undefined, cursor: top, holdUntilMs: 0};
		}

		case 'drillDown': {
			return state.groupBy === undefined ? state : {...state, drill: {key: action.key, groupCursor: state.cursor}, cursor: top, holdUntilMs: 0};
		}

		case 'drillUp': {
			return state.drill ? {...state, cursor: state.drill.groupCursor, drill: undefined, holdUntilMs: 0} : state;
		}

		case 'openSetup': {
			// It starts from the view as it is: saved, the sort and grouping are what is shown.
			return {...state, setup: {index: 0}, settings: {...state.settings, sortKey: state.sortKey, groupBy: state.groupBy}};
		}

		case 'closeSetup': {
			return {...state, setup: undefined};
		}

		case 'moveSetup': {
			return state.setup ? {...state, setup: {index: Math.max(0, Math.min(setupLines(state.settings).length - 1, action.index))}} : state;
		}

		case 'changeSetup': {
			return state.setup ? changeSetting(state, setupLines(state.settings)[state.setup.index]!, action.step) : state;
		}

		case 'moveColumn': {
			if (!state.setup) {
				return state;
			}

			const line = setupLines(state.settings)[state.setup.index]!;
			const shown = [...state.settings.columns];
			const at = line.kind === 'column' ? shown.indexOf(line.key) : -1;
			const to = at + action.step;
			if (at === -1 || to < 0 || to >= shown.length) {
				return state;
			}

			[shown[at], shown[to]] = [shown[to]!, shown[at]!];
			return {...state, settings: {...state.settings, columns: shown}, setup: {index: state.setup.index + action.step}};
		}

		case 'quit': {
			return {...state, quit: true};
		}
	}
}

/** A line of the setup screen: a setting, or a column (shown ones first, in their order). */
export type SetupLine =
	| {readonly kind: 'delay' | 'sort' | 'groupBy' | 'color'}
	| {readonly kind: 'column'; readonly key: string; readonly shown: boolean};

export function setupLines(settings: Settings): SetupLine[] {
	return [
		{kind: 'delay'}, {kind: 'sort'}, {kind: 'groupBy'}, {kind: 'color'},
		...settings.columns.map(key => ({kind: 'column' as const, key, shown: true})),
		...allColumns.filter(column => !settings.columns.includes(column.key)).map(column => ({kind: 'column' as const, key: column.key, shown: false})),
	];
}

/** The next (or previous) in a list, wrapping around. */
function stepIn<T>(list: readonly T[], current: T, step: 1 | -1): T {
	const at = list.indexOf(current);
	return list[(((at === -1 ? 0 : at + step) % list.length) + list.length) % list.length]!;
}

/** A setting changed from the setup screen; sort and grouping apply to the view at once, as the rest. */
function changeSetting(state: ViewState, line: SetupLine, step: 1 | -1): ViewState {
	const {settings} = state;
	switch (line.kind) {
		case 'delay': {
			return {...state, settings: {...settings, delaySeconds: stepIn(delayChoices, settings.delaySeconds, step)}};
		}

		case 'sort': {
			const sortKey = stepIn(sortOrders.map(order => order.key), settings.sortKey, step);
			const sorted = reduceView({...state, drill: undefined, groupBy: undefined}, {type: 'sort', pane: 'connections', sortKey});
			return {...state, sortKey: sorted.sortKey, descending: sorted.descending, holdUntilMs: 0, settings: {...settings, sortKey}};
		}

		case 'groupBy': {
			const groupBy = stepIn<GroupKindKey | undefined>([undefined, ...groupKinds.map(kind => kind.key)], settings.groupBy, step);
			return {...state, groupBy, drill: undefined, cursor: top, settings: {...settings, groupBy}};
		}

		case 'color': {
			return {...state, settings: {...settings, color: !settings.color}};
		}

		case 'column': {
			// The last column shown stays.
			if (line.shown && settings.columns.length === 1) {
				return state;
			}

			const columns = line.shown ? settings.columns.filter(key => key !== line.key) : [...settings.columns, line.key];
			return {...state, settings: {...settings, columns}};
		}
	}
}

export function cursorOf(state: ViewState, pane: Pane): Cursor {
	return pane === 'connections' ? state.cursor : state.transitions.cursor;
}

/** The first row to show so that `index` is in view, moving from `offset` as little as possible. */
export function scrolledTo(index: number, offset: number, height: number): number {
	return Math.max(0, Math.min(index, Math.max(offset, index - height + 1)));
}
