import {Text} from 'ink';
import {sanitize} from '../core/sanitize.js';
import {sortOrderByKey} from '../model/sort-orders.js';
import {formatCount} from '../core/format.js';
import {useTheme} from './theme.js';
import {groupKindByKey} from '../model/groups.js';
import {quickStates, sortColumnsOf, type ViewState} from './view-state.js';

export type StatusLineProps = {
	readonly view: ViewState;
	readonly matched: number;
	readonly tracked: number;
	/** Groups in the list, while it lists groups. */
	readonly groups?: number;
	/** Said first, when there is one (a replay's progress or end). */
	readonly notice?: string;
};

/** The sort, the filters in force, the search, and how many connections pass them; or the filter or search being typed. */
export function StatusLine({view, matched, tracked, groups, notice}: StatusLineProps) {
	const theme = useTheme();
	if (view.prompt) {
		const {kind, text, error} = view.prompt;
		return (
			<Text wrap="truncate">
				{kind === 'search' ? 'Search' : 'Filter'}: {sanitize(text)}<Text inverse> </Text>
				{error ? <Text color={theme.alarm} bold>  {error.message} (at character {error.position + 1}); Esc cancels</Text> : '  Enter applies, Esc cancels'}
			</Text>
		);
	}

	const quick = quickStates[view.quickState];
	const kind = view.groupBy === undefined ? undefined : groupKindByKey(view.groupBy);
	if (kind && groups !== undefined) {
		const order = sortColumnsOf('connections', view).find(column => column.key === view.groupSort.key);
		return (
			<Text wrap="truncate">
				{notice ? <Text bold>{notice} · </Text> : ''}
				<Text bold>Groups: {kind.title}</Text> · Sort: {order?.title ?? view.groupSort.key} {view.groupSort.descending ? '▼' : '▲'}
				{view.search ? <Text bold>  Search: {sanitize(view.search.text)}{view.search.missed ? ' (not found)' : ' (n N)'}</Text> : ''}
				{'  '}{formatCount(groups)} groups of {formatCount(tracked)} connections · Enter opens · g next grouping · ? help
			</Text>
		);
	}

	const sortTitle = sortOrderByKey(view.sortKey)?.title ?? view.sortKey;
	return (
		<Text wrap="truncate">
			{notice ? <Text bold>{notice} · </Text> : ''}
			Sort: {sortTitle} {view.descending ? '▼' : '▲'}
			{kind && view.drill ? <Text bold>  Group: {kind.title} {sanitize(view.drill.key)} (Esc back)</Text> : ''}
			{view.filter ? <Text bold>  Filter: {sanitize(view.filter.text)}</Text> : ''}
			{quick ? <Text bold>  State: {quick}</Text> : ''}
			{view.search ? <Text bold>  Search: {sanitize(view.search.text)}{view.search.missed ? ' (not found)' : ' (n N)'}</Text> : ''}
			{'  '}{formatCount(matched)} of {formatCount(tracked)} shown · ? help
		</Text>
	);
}
