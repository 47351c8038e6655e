import {Box, Text} from 'ink';
import type {GroupColumn} from '../model/group-columns.js';
import {cell} from '../model/row-text.js';
import {ColumnTitles} from './column-titles.js';
import type {ListPaneProps} from './connections-pane.js';
import type {GroupRowView} from './snapshot.js';
import {useTheme} from './theme.js';

export type GroupsPaneProps = ListPaneProps<GroupRowView, GroupColumn>;

/** The group list (`g`): a title bar, then one line per group, trouble groups in trouble colour. */
export function GroupsPane({rows, shown, selectedKey, sortKey, descending, width, focused}: GroupsPaneProps) {
	const theme = useTheme();
	return (
		<Box flexDirection="column">
			<ColumnTitles shown={shown} sortKey={sortKey} descending={descending} width={width} focused={focused} />
			{rows.map(row => (
				<Text key={row.key} wrap="truncate" inverse={row.key === selectedKey} bold={row.trouble} color={row.trouble ? theme.trouble : undefined}>
					{shown.map((column, index) => cell(row.cells[index] ?? '', column)).join(' ')}
				</Text>
			))}
		</Box>
	);
}

/** The group columns fitted to a width: the last (STATES) takes what the others leave. */
export function fitGroupColumns(columns: readonly GroupColumn[], width: number): GroupColumn[] {
	const fixed = columns.slice(0, -1);
	const used = fixed.reduce((sum, column) => sum + column.width + 1, 0);
	const last = columns.at(-1)!;
	return [...fixed, {...last, width: Math.max(10, width - used)}];
}
