import {Text} from 'ink';
import {sanitize} from '../core/sanitize.js';
import {sortOrderByKey} from '../model/sort-orders.js';
import {formatCount} from '../core/format.js';
import {useTheme} from './theme.js';
import {quickStates, type ViewState} from './view-state.js';

export type StatusLineProps = {
	readonly view: ViewState;
	readonly matched: number;
	readonly tracked: number;
	/** Said first, when there is one (a replay's progress or end). */
	readonly notice?: string;
};

/** The sort, the filters in force, the search, and how many connections pass them; or the filter or search being typed. */
export function StatusLine({view, matched, tracked, notice}: StatusLineProps) {
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

	const sortTitle = sortOrderByKey(view.sortKey)?.title ?? view.sortKey;
	const quick = quickStates[view.quickState];
	return (
		<Text wrap="truncate">
			{notice ? <Text bold>{notice} · </Text> : ''}
			Sort: {sortTitle} {view.descending ? '▼' : '▲'}
			{view.filter ? <Text bold>  Filter: {sanitize(view.filter.text)}</Text> : ''}
			{quick ? <Text bold>  State: {quick}</Text> : ''}
			{view.search ? <Text bold>  Search: {sanitize(view.search.text)}{view.search.missed ? ' (not found)' : ' (n N)'}</Text> : ''}
			{'  '}{formatCount(matched)} of {formatCount(tracked)} shown · ? help
		</Text>
	);
}
